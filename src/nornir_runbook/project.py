"""A runbook project: its Nornir config file, the inventory it points at, and credentials.

Inventory paths in ``config.yaml`` are resolved relative to the folder holding it (Nornir's
SimpleInventory resolves them against the current directory), so ``nrb -c site/config.yaml``
works from anywhere.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from nornir import InitNornir
from nornir.core import Nornir

from nornir_runbook.errors import ConfigError, InventoryError, Problem

ENV_USERNAME = "NRB_USERNAME"
ENV_PASSWORD = "NRB_PASSWORD"  # noqa: S105 -- the name of a variable, not a password
_PATH_OPTIONS = ("host_file", "group_file", "defaults_file")


@dataclass(frozen=True, slots=True)
class Project:
    nr: Nornir
    directory: Path
    runner_options: Mapping[str, Any]
    user_defined: Mapping[str, Any]


def load_project(config_file: Path, *, ask_pass: bool = False) -> Project:
    """Read ``config_file`` with Nornir; every problem is a ConfigError or InventoryError."""
    raw = _read_config(config_file)
    directory = config_file.resolve().parent
    inventory = dict(raw.get("inventory") or {})
    options = dict(inventory.get("options") or {})
    for key in _PATH_OPTIONS:
        if isinstance(options.get(key), str):
            options[key] = str((directory / options[key]).resolve())
    inventory["options"] = options
    runner = raw.get("runner") or {}
    try:
        nr = InitNornir(
            config_file=str(config_file),
            inventory=inventory,
            runner={"plugin": "futures", "options": {}},
            logging={"enabled": False},
        )
    except Exception as exc:  # noqa: BLE001 -- Nornir and its plugins raise many kinds
        raise _inventory_error(exc, config_file) from None
    _apply_credentials(nr, ask_pass=ask_pass)
    return Project(
        nr=nr,
        directory=directory,
        runner_options=dict(runner.get("options") or {}) if isinstance(runner, dict) else {},
        user_defined=dict(raw.get("user_defined") or {}),
    )


def _read_config(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(
            Problem(message="config file not found (use -c to name one)", file=str(path))
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(
            Problem(
                message=f"invalid YAML: {getattr(exc, 'problem', None) or exc}",
                file=str(path),
                line=mark.line + 1 if mark else None,
                column=mark.column + 1 if mark else None,
            )
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(Problem(message="expected a mapping of Nornir settings", file=str(path)))
    return data


def _inventory_error(exc: Exception, config_file: Path) -> InventoryError:
    mark = getattr(exc, "problem_mark", None)
    name = getattr(mark, "name", None)
    return InventoryError(
        Problem(
            message=f"cannot load the inventory: {type(exc).__name__}: {exc}".splitlines()[0],
            file=str(name) if name else str(config_file),
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        )
    )


def _apply_credentials(nr: Nornir, *, ask_pass: bool) -> None:
    """``NRB_USERNAME``/``NRB_PASSWORD`` and ``--ask-pass`` set every host's credentials.

    They replace what the inventory says, so a shared inventory can hold no password at all.
    """
    username = os.environ.get(ENV_USERNAME)
    password = os.environ.get(ENV_PASSWORD)
    if ask_pass:
        password = getpass.getpass("SSH password: ")
    if username is None and password is None:
        return
    defaults = nr.inventory.defaults
    elements = [defaults, *nr.inventory.groups.values(), *nr.inventory.hosts.values()]
    for element in elements:
        if username is not None:
            element.username = username if element is defaults else None
        if password is not None:
            element.password = password if element is defaults else None
