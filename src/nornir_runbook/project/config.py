"""A runbook project: its Nornir config file, the inventory it points at, and credentials.

Inventory paths in ``config.yaml`` are resolved relative to the folder holding it (Nornir's
SimpleInventory resolves them against the current directory), so ``nrb -c site/config.yaml``
works from anywhere.

Nornir trusts its files, so before it reads them they are checked: ``config.yaml``'s sections
are mappings and its runner options are FuturesRunner's, of the right types (here); the
inventory files, by :mod:`nornir_runbook.project.inventory`.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from nornir import InitNornir
from nornir.core import Nornir

from nornir_runbook.errors import ConfigError, InputError, InventoryError, Problem, UsageError
from nornir_runbook.project.inventory import read_inventory
from nornir_runbook.project.inventoryfile import BAD_VALUE
from nornir_runbook.project.simple import PLUGIN_NAME, Preloaded
from nornir_runbook.project.yamldepth import TOO_DEEP, too_deep
from nornir_runbook.runner.options import CHECKS, MODES, HostKeyChecking
from nornir_runbook.text import described, kind_of, suggest

ENV_USERNAME = "NRB_USERNAME"
ENV_PASSWORD = "NRB_PASSWORD"  # noqa: S105 -- the name of a variable, not a password
_PATH_OPTIONS = ("host_file", "group_file", "defaults_file")
_SIMPLE = "SimpleInventory"
# nornir_utils' YAMLInventory: the same files, the old name
_FILE_INVENTORIES = (_SIMPLE, "YAMLInventory", PLUGIN_NAME)


@dataclass(frozen=True, slots=True)
class Project:
    nr: Nornir
    directory: Path
    runner_options: Mapping[str, Any]
    # user_defined.nornir_runbook's settings
    host_keys: HostKeyChecking = field(default_factory=HostKeyChecking)
    log_file: Path | None = None  # the audit trail (--log-file)
    session_log: Path | None = None  # the folder of the hosts' session logs (--session-log)


def load_project(config_file: Path, *, ask_pass: bool = False) -> Project:
    """Read ``config_file`` with Nornir; every problem is a ConfigError or InventoryError."""
    raw = _read_config(config_file)
    directory = config_file.resolve().parent
    problems = _config_problems(raw, str(config_file))
    if problems:
        raise ConfigError(problems)
    inventory = dict(raw.get("inventory") or {})
    options = dict(inventory.get("options") or {})
    for key in _PATH_OPTIONS:
        if isinstance(options.get(key), str) and options[key]:  # "" is reported below
            options[key] = str((directory / options[key]).resolve())
    inventory["options"] = options
    runner = raw.get("runner") or {}
    if inventory.get("plugin", _SIMPLE) in _FILE_INVENTORIES:
        # read and checked here, each file once; Nornir builds from what was read
        named = [key for key in _PATH_OPTIONS if key in options]
        data = read_inventory(options, str(config_file), required=named)
        inventory["plugin"] = PLUGIN_NAME
        inventory["options"] = {**options, "preloaded": Preloaded(data)}
    try:
        nr = InitNornir(
            config_file=str(config_file),
            inventory=inventory,
            runner={"plugin": "futures", "options": {}},
            logging={"enabled": False},
        )
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 -- Nornir and its plugins raise many kinds
        raise _inventory_error(exc, config_file) from None
    _apply_credentials(nr, ask_pass=ask_pass)
    return Project(
        nr=nr,
        directory=directory,
        runner_options=dict(runner.get("options") or {}) if isinstance(runner, dict) else {},
        host_keys=_host_keys(raw, directory),
        log_file=_setting_path(raw, directory, "log_file"),
        session_log=_setting_path(raw, directory, "session_log"),
    )


def _setting_path(raw: Mapping[str, Any], directory: Path, key: str) -> Path | None:
    """``user_defined.nornir_runbook``'s path ``key`` (already checked), relative to the folder
    holding config.yaml; ``~`` is the home folder."""
    value = ((raw.get("user_defined") or {}).get(SETTINGS_KEY) or {}).get(key)
    return None if value is None else directory / os.path.expanduser(value)


def _host_keys(raw: Mapping[str, Any], directory: Path) -> HostKeyChecking:
    """``user_defined.nornir_runbook``'s host key settings (already checked); a relative
    ``known_hosts`` is relative to the folder holding config.yaml, ``~`` is the home folder."""
    ours = (raw.get("user_defined") or {}).get(SETTINGS_KEY) or {}
    known_hosts = ours.get("known_hosts")
    if known_hosts is not None:
        known_hosts = str(directory / os.path.expanduser(known_hosts))
    mode = ours.get("host_key_checking")
    if mode is False:  # YAML reads an unquoted `off` as false
        mode = "off"
    return HostKeyChecking(mode or "accept-new", known_hosts)


def _read_config(path: Path) -> dict[str, Any]:
    def problem(message: str, mark: Any = None) -> ConfigError:
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        return ConfigError(Problem(message=message, file=str(path), line=line, column=column))

    try:
        if not path.is_file():
            raise problem("config file not found (use -c to name one)")
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:  # a name too long, say; ValueError: not UTF-8 text
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise problem(f"cannot read the config file: {reason}") from None
    if (deep := too_deep(text)) is not None:  # PyYAML and ruamel would recurse until they crash
        raise problem(f"invalid YAML: {TOO_DEEP}", deep)
    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, *BAD_VALUE) as exc:
        mark = getattr(exc, "problem_mark", None)
        raise problem(f"invalid YAML: {getattr(exc, 'problem', None) or exc}", mark) from None
    except RecursionError:  # too_deep() needs libyaml
        raise problem(f"invalid YAML: {TOO_DEEP}") from None
    if not isinstance(data, dict):
        raise problem("expected a mapping of Nornir settings")
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
        try:  # on the terminal, else from standard input (getpass warns that it may echo)
            password = getpass.getpass("SSH password: ")
        except EOFError:
            raise UsageError("--ask-pass: no password was entered (end of input)") from None
    if username is None and password is None:
        return
    defaults = nr.inventory.defaults
    elements = [defaults, *nr.inventory.groups.values(), *nr.inventory.hosts.values()]
    for element in elements:
        if username is not None:
            element.username = username if element is defaults else None
        if password is not None:
            element.password = password if element is defaults else None


# -- checks before Nornir reads anything -------------------------------------------------------
# Nornir trusts its files: a list where a mapping belongs, or a group nobody defined, ends in an
# AttributeError or KeyError deep inside it (or later, in the middle of a run). These checks
# turn every such problem into an input error that names the file, the key and what is expected.

_SECTIONS = ("inventory", "runner", "ssh", "logging", "core", "user_defined")


def _is_path(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip()) and "\0" not in value


SETTINGS_KEY = "nornir_runbook"  # nornir-runbook's own settings: user_defined.nornir_runbook
# setting -> (expected, check); None is always allowed (the default applies)
_SETTINGS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    # YAML reads an unquoted `off` (or no, false) as false: that means off too
    "host_key_checking": (
        ", ".join(f"'{m}'" for m in MODES) + " (quoted)",
        lambda v: v in MODES or v is False,
    ),
    "known_hosts": (
        "the path of a known_hosts file",
        _is_path,
    ),
    "log_file": (
        "the path of the audit log file",
        _is_path,
    ),
    "session_log": (
        "the path of a folder for the hosts' session logs",
        _is_path,
    ),
}


def _settings_problems(raw: Mapping[str, Any], file: str) -> list[Problem]:
    """``user_defined.nornir_runbook`` is a mapping of settings we know, of the right types."""
    user_defined = raw.get("user_defined")
    ours = user_defined.get(SETTINGS_KEY) if isinstance(user_defined, dict) else None
    where = f"user_defined.{SETTINGS_KEY}"
    if ours is None:
        return []
    if not isinstance(ours, dict):
        return [Problem(message=f"expected a mapping, got {kind_of(ours)}", file=file, path=where)]
    problems = []
    for key, value in ours.items():
        if key not in _SETTINGS:
            close = suggest(str(key), _SETTINGS)
            hint = f"did you mean '{close}'?" if close else "expected " + ", ".join(_SETTINGS)
            message = f"unknown setting '{key}' ({hint})"
        elif value is not None and not _SETTINGS[key][1](value):
            shown = isinstance(value, str) and key == "host_key_checking" and len(value) < 40  # noqa: PLR2004
            got = repr(value) if shown else described(value, text=False)
            message = f"expected {_SETTINGS[key][0]}, got {got}"
        else:
            continue
        problems.append(Problem(message=message, file=file, path=f"{where}.{key}"))
    return problems


def _config_problems(raw: Mapping[str, Any], file: str) -> list[Problem]:
    """The sections of ``config.yaml`` are mappings; the runner options are ones we know."""
    problems: list[Problem] = []

    def bad(path: str, message: str) -> None:
        problems.append(Problem(message=message, file=file, path=path))

    for section in _SECTIONS:
        if section in raw and not isinstance(raw[section], dict):
            bad(section, f"expected a mapping, got {kind_of(raw[section])}")
    for section in ("inventory", "runner"):
        value = raw.get(section)
        options = value.get("options") if isinstance(value, dict) else None
        if options is not None and not isinstance(options, dict):
            bad(f"{section}.options", f"expected a mapping, got {kind_of(options)}")
    runner = raw.get("runner")
    options = runner.get("options") if isinstance(runner, dict) else None
    for key, value in options.items() if isinstance(options, dict) else ():
        if key not in CHECKS:
            close = suggest(str(key), CHECKS)
            hint = f"did you mean '{close}'?" if close else "expected " + ", ".join(CHECKS)
            bad(f"runner.options.{key}", f"unknown runner option '{key}' ({hint})")
        elif value is not None and not CHECKS[key].valid(value):  # None: the default applies
            expected = CHECKS[key].expected
            bad(f"runner.options.{key}", f"expected {expected}, got {described(value, text=False)}")
    problems.extend(_settings_problems(raw, file))
    return problems
