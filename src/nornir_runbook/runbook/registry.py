"""Which Nornir task a step's ``task:`` names, and whether its ``args`` fit it.

A :class:`TaskRegistry` is an object you create and pass around (pluggy's ``PluginManager``),
never a module-level dict. :func:`default_registry` fills one with, in this order (the first
registration of a name wins):

1. nornir-runbook's built-ins (:mod:`nornir_runbook.tasks`), origin ``builtin``;
2. every task of nornir_netmiko and of nornir_utils, under their own names;
3. entry points of group ``nornir_runbook.tasks`` (origin ``entry point <dist>``). One that
   cannot be loaded, is not callable or takes a name already used is listed in
   :attr:`TaskRegistry.problems` (and a lookup of a broken one says why), never a crash.

:meth:`TaskRegistry.resolve` also takes ``package.module:function``, imported from the project
folder (the one holding ``config.yaml``), which is put first on ``sys.path`` once. A module
already imported under that name is reused.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

from nornir_runbook.tasks import BUILTIN_TASKS
from nornir_runbook.text import plural, suggest

__all__ = [
    "ENTRY_POINT_GROUP",
    "TaskInfo",
    "TaskRegistry",
    "arg_problems",
    "default_registry",
    "format_signature",
]

ENTRY_POINT_GROUP = "nornir_runbook.tasks"
TaskFunction = Callable[..., Any]

_LIBRARIES = {
    "nornir_netmiko": ("nornir_netmiko.tasks",),
    # only the tasks: nornir_utils.plugins.functions calls colorama.init() and wraps stdout
    "nornir_utils": (
        "nornir_utils.plugins.tasks.data",
        "nornir_utils.plugins.tasks.files",
        "nornir_utils.plugins.tasks.networking",
    ),
}
_P = inspect.Parameter


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskInfo:
    """A task function, the name a runbook calls it by, and where it comes from."""

    name: str
    fn: TaskFunction
    origin: str  # "builtin", "nornir_netmiko", "nornir_utils", "entry point <dist>", "module"

    @property
    def signature(self) -> str:
        """Its parameters after ``task``, as ``(commands: list[str])``."""
        return format_signature(self.fn)


class TaskRegistry:
    """Task names to functions. Safe to use from several threads."""

    def __init__(self, project_dir: Path | None = None) -> None:
        self.project_dir = project_dir
        self._tasks: dict[str, TaskInfo] = {}
        self._broken: dict[str, str] = {}  # name -> why it cannot be used
        self._problems: list[str] = []
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        tasks, problems = plural(len(self._tasks), "task"), plural(len(self._problems), "problem")
        return f"TaskRegistry({tasks}, {problems})"

    @property
    def problems(self) -> list[str]:
        """What went wrong while loading tasks (broken or conflicting entry points)."""
        return list(self._problems)

    def register(self, name: str, function: TaskFunction, origin: str = "module") -> TaskInfo:
        """Add a task. The same function again is a no-op; another one is a ValueError."""
        if not name or any(c.isspace() for c in name):
            raise ValueError(f"invalid task name {name!r}")
        if not callable(function):
            raise TypeError(f"task {name!r} is not callable: {function!r}")
        with self._lock:
            existing = self._tasks.get(name)
            if existing is not None:
                if existing.fn is function:
                    return existing
                raise ValueError(f"task {name!r} is already registered ({existing.origin})")
            info = TaskInfo(name=name, fn=function, origin=origin)
            self._tasks[name] = info
            return info

    def register_module(self, module: ModuleType, origin: str) -> None:
        """Register every name in the module's ``__all__`` under its own name."""
        for name in getattr(module, "__all__", ()):
            self.register(name, getattr(module, name), origin)

    def get(self, name: str) -> TaskInfo:
        """The task registered as ``name``; LookupError says what was meant if it can."""
        with self._lock:
            if name in self._tasks:
                return self._tasks[name]
            if name in self._broken:
                raise LookupError(self._broken[name])
            choices = [n for n in self._tasks if ":" not in n]
        close = suggest(name, choices)
        hint = f" (did you mean '{close}'?)" if close else ""
        raise LookupError(f"unknown task '{name}'{hint}")

    def resolve(self, name: str, project_dir: Path | None = None) -> TaskInfo:
        """A registered name, or ``package.module:function`` imported from the project."""
        if ":" not in name:
            return self.get(name)
        with self._lock:
            if name in self._tasks:
                return self._tasks[name]
            function = _import_function(name, project_dir or self.project_dir)
            return self.register(name, function, "module")

    def infos(self) -> list[TaskInfo]:
        with self._lock:
            return [self._tasks[n] for n in sorted(self._tasks)]

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        """Register the tasks that installed packages declare under ``group``."""
        for entry_point in metadata.entry_points(group=group):
            dist = entry_point.dist.name if entry_point.dist is not None else None
            origin = f"entry point {dist}" if dist else "entry point"
            what = f"task '{entry_point.name}' ({origin}: {entry_point.value})"
            try:
                function = entry_point.load()
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - third-party code: anything
                self._broken_entry(entry_point.name, f"{what} cannot be loaded: {_why(exc)}")
                continue
            try:
                self.register(entry_point.name, function, origin)
            except (TypeError, ValueError) as exc:
                with self._lock:
                    self._problems.append(f"{what} is ignored: {exc}")

    def _broken_entry(self, name: str, message: str) -> None:
        with self._lock:
            self._problems.append(message)
            if name not in self._tasks:
                self._broken.setdefault(name, message)


def default_registry(project_dir: Path | None = None) -> TaskRegistry:
    """Built-ins, nornir_netmiko's and nornir_utils' tasks, then entry points."""
    registry = TaskRegistry(project_dir)
    for function in BUILTIN_TASKS:
        registry.register(function.__name__, function, "builtin")
    for origin, modules in _LIBRARIES.items():
        for module_name in modules:
            registry.register_module(importlib.import_module(module_name), origin)
    registry.load_entry_points()
    return registry


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _import_function(name: str, project_dir: Path | None) -> TaskFunction:
    module_name, _, attr = name.partition(":")
    if project_dir is not None:
        _put_on_path(project_dir)
    where = f" from {project_dir}" if project_dir is not None else ""
    try:
        module = importlib.import_module(module_name)
    except (Exception, SystemExit) as exc:  # user code may raise anything, even sys.exit()
        raise LookupError(f"cannot import module '{module_name}'{where}: {_why(exc)}") from exc
    function = getattr(module, attr, None)
    if function is None:
        public = [n for n in vars(module) if not n.startswith("_")]
        close = suggest(attr, public)
        hint = f" (did you mean '{module_name}:{close}'?)" if close else ""
        raise LookupError(f"module '{module_name}' has no function '{attr}'{hint}")
    if not callable(function):
        raise LookupError(f"'{name}' is not a function: {type(function).__name__}")
    return function  # type: ignore[no-any-return]


def _put_on_path(folder: Path) -> None:
    entry = str(folder.resolve())
    if entry not in sys.path:
        sys.path.insert(0, entry)
        importlib.invalidate_caches()


def _signature(function: TaskFunction) -> inspect.Signature | None:
    # evaluating string annotations may raise anything (names imported only for type checking)
    with contextlib.suppress(Exception):
        return inspect.signature(function, eval_str=True)
    try:
        return inspect.signature(function)
    except (TypeError, ValueError):
        return None


def format_signature(function: TaskFunction) -> str:
    """``function``'s parameters after the task itself, without the return annotation."""
    signature = _signature(function)
    if signature is None:
        return "(...)"
    params = list(signature.parameters.values())
    if params and params[0].kind in (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD):
        params = params[1:]
    return str(signature.replace(parameters=params, return_annotation=inspect.Signature.empty))


def arg_problems(info: TaskInfo, args: Mapping[str, Any]) -> list[tuple[str | None, str]]:
    """``(argument or None, message)`` for each way ``args`` do not fit the task.

    The argument is named for an unexpected one; None for a missing one or another misfit.
    """
    signature = _signature(info.fn)
    if signature is None:
        return []
    params = list(signature.parameters.values())
    if not params or params[0].kind not in (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD):
        return [(None, f"task '{info.name}' does not take the Nornir task as first argument")]
    first, rest = params[0], params[1:]
    named = [p.name for p in rest if p.kind in (_P.POSITIONAL_OR_KEYWORD, _P.KEYWORD_ONLY)]
    any_keyword = any(p.kind is _P.VAR_KEYWORD for p in rest)
    problems: list[tuple[str | None, str]] = []
    meant: set[str] = set()  # parameters an unexpected argument was probably meant to be
    for arg in args:
        if arg == first.name:
            problems.append((arg, f"'{arg}' is the Nornir task itself, not an argument"))
        elif arg not in named and not any_keyword:
            suggestion = suggest(str(arg), named)
            close = [suggestion] if suggestion else []
            meant.update(close)
            problems.append((arg, _unexpected(info.name, str(arg), close, named)))
    missing = [
        f"'{p.name}'"
        for p in rest
        if p.name in named and p.default is _P.empty and p.name not in args and p.name not in meant
    ]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        problems.append((None, f"missing required argument{plural} {', '.join(missing)}"))
    if not problems:
        try:
            signature.bind(None, **args)
        except TypeError as exc:
            problems.append((None, str(exc)))
    return problems


def _unexpected(task: str, arg: str, close: list[str], named: list[str]) -> str:
    if close:
        return f"unexpected argument '{arg}' (did you mean '{close[0]}'?)"
    takes = ", ".join(named) if named else "no arguments"
    return f"unexpected argument '{arg}' ({task} takes: {takes})"
