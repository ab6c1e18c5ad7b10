"""The runbook layer: the model, reading YAML (runbooks, and the inventory files through the same
reader), the checks before a run, templating and its sandbox, the task registry."""
