"""Names a package exports but imports only on first use (a module ``__getattr__``, PEP 562), so
that importing the package loads none of the modules behind them; and netmiko's Genie import,
held back until netmiko first parses with Genie (:func:`defer_netmiko_genie`)."""

from __future__ import annotations

import functools
import importlib
import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable, Mapping, Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.abc import Loader


def exports(
    package: str, where: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``where`` maps each name to its module."""

    def getattr_(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # found directly from now on
        return value

    def dir_() -> list[str]:
        return sorted({*vars(sys.modules[package]), *where})

    return getattr_, dir_


# ---- netmiko without Genie at import ----------------------------------------------------------
# netmiko.utilities imports Genie's Device and get_parser at import time when Genie is installed
# (the genie extra): about 2 s of CPU in every process that loads Nornir's netmiko plugin, nrb
# run and dry runs included, for netmiko's use_genie, which only a send_command with
# use_genie=True reaches. Here netmiko.utilities is loaded with that import held back and its
# get_structured_data_genie imports it on first use: what it returns and raises stay netmiko's.

_NETMIKO_UTILITIES = "netmiko.utilities"
_GENIE_FIRST = "genie.conf.base"  # the first of netmiko's Genie imports


class _GenieOnFirstUse:
    """Finds netmiko.utilities as the path finder does and runs it with Genie held back (a meta
    path finder and loader by its methods: importlib.abc would load pathlib for nrb --help)."""

    def __init__(self) -> None:
        self._loader: Loader | None = None

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != _NETMIKO_UTILITIES or _GENIE_FIRST in sys.modules:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        self._loader = spec.loader
        spec.loader = self  # type: ignore[assignment]  # a loader by its methods
        return spec

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        assert self._loader is not None
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        assert self._loader is not None
        held = _GENIE_FIRST not in sys.modules
        if held:
            sys.modules[_GENIE_FIRST] = None  # type: ignore[assignment]  # import raises ImportError
        try:
            self._loader.exec_module(module)
        finally:
            if held and sys.modules.get(_GENIE_FIRST, False) is None:
                del sys.modules[_GENIE_FIRST]
        if held:
            _import_genie_on_first_use(module)


def _import_genie_on_first_use(utilities: ModuleType) -> None:
    names = vars(utilities)  # netmiko.utilities' globals, which its functions read
    parse = names["get_structured_data_genie"]
    # as netmiko would find it, without importing Genie
    names["GENIE_INSTALLED"] = all(
        importlib.util.find_spec(n) is not None for n in ("genie", "pyats")
    )

    @functools.wraps(parse)
    def get_structured_data_genie(*args: Any, **kwargs: Any) -> Any:
        if "get_parser" not in names:
            try:  # netmiko's own imports, as it makes them when Genie is there at import
                from genie.conf.base import Device  # type: ignore[import-untyped]  # noqa: PLC0415
                from genie.libs.parser.utils import get_parser  # type: ignore[import-untyped]  # noqa: PLC0415
                from pyats.datastructures import AttrDict  # type: ignore[import-untyped]  # noqa: PLC0415
            except ImportError:
                names["GENIE_INSTALLED"] = False
            else:
                names.update(Device=Device, get_parser=get_parser, AttrDict=AttrDict)
                names["GENIE_INSTALLED"] = True
        return parse(*args, **kwargs)

    names["get_structured_data_genie"] = get_structured_data_genie


def defer_netmiko_genie() -> None:
    """Have netmiko import Genie when it first parses with it, not when it is imported (once)."""
    if _NETMIKO_UTILITIES in sys.modules or any(
        isinstance(finder, _GenieOnFirstUse) for finder in sys.meta_path
    ):
        return
    sys.meta_path.insert(0, _GenieOnFirstUse())
