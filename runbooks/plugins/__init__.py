"""Custom tasks of the example runbooks, named ``runbooks.plugins.<module>:<function>``."""
