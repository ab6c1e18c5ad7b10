"""The ``nrb`` command line: the parser, signals, and one module per subcommand (run, validate,
inventory, tasks, lab), each imported only when it runs."""

from nornir_runbook.cli.app import main

__all__ = ["main"]
