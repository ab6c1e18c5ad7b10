"""The example runbooks; a package so that ``runbooks.plugins.<module>:<function>`` imports."""
