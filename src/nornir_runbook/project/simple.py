"""``FastSimpleInventory``: Nornir's SimpleInventory (same files, same options, same inventory),
read with libyaml, each file once, and checked.

A Nornir inventory plugin (entry point ``nornir.plugins.inventory``), usable from any Nornir
``config.yaml``::

    inventory:
      plugin: FastSimpleInventory
      options: {host_file: hosts.yaml, group_file: groups.yaml, defaults_file: defaults.yaml}

It builds what SimpleInventory builds: the same hosts and groups in file order, the same
attributes, ``data`` and ``connection_options``, parent groups resolved, and a groups or
defaults file that is not there is skipped, as SimpleInventory skips it. The values are
ruamel.yaml's (YAML 1.2), as SimpleInventory reads them (:mod:`.fastyaml`). Before building,
the files are checked as ``nrb`` checks them (:mod:`.inventory`): where SimpleInventory would
end in a KeyError or an AttributeError, or build hosts that fail later (a port that is not a
port number, an unknown group), InventoryError says which file, line, column and key.

``nrb`` reads and checks the files itself (config.yaml's paths are relative to its folder) and
hands what it read to the plugin (:class:`Preloaded`): each file is read and parsed once.
"""

from __future__ import annotations

import logging
from typing import Any

from nornir.core.inventory import (
    ConnectionOptions,
    Defaults,
    Group,
    Groups,
    Host,
    Hosts,
    Inventory,
    ParentGroups,
)

from nornir_runbook.project.fastyaml import gc_paused
from nornir_runbook.project.inventory import InventoryData, read_inventory

PLUGIN_NAME = "FastSimpleInventory"  # no other kind of Nornir plugin has it: one register
logger = logging.getLogger(__name__)
_EMPTY = {
    "defaults": "'%s' is empty or contains only comments, defaulting to empty defaults.",
    "hosts": "'%s' is empty or contains only comments, defaulting to empty hosts inventory.",
    "groups": "'%s' is empty or contains only comments, defaulting to empty groups inventory.",
}


class Preloaded:
    """Inventory files already read and checked, for :class:`FastSimpleInventory` to build from
    (option ``preloaded``): taken once, so that Nornir's config does not keep them."""

    __slots__ = ("_data",)

    def __init__(self, data: InventoryData) -> None:
        self._data: InventoryData | None = data

    def take(self) -> InventoryData:
        data, self._data = self._data, None
        if data is None:
            raise RuntimeError("the preloaded inventory was already built")
        return data

    def __repr__(self) -> str:  # never the data: it holds passwords
        return f"<Preloaded {'taken' if self._data is None else 'inventory'}>"


class FastSimpleInventory:
    """SimpleInventory's options: ``host_file``, ``group_file``, ``defaults_file`` (relative to
    the current directory, ``~`` expanded) and ``encoding``."""

    def __init__(
        self,
        host_file: str = "hosts.yaml",
        group_file: str = "groups.yaml",
        defaults_file: str = "defaults.yaml",
        encoding: str = "utf-8",
        preloaded: Preloaded | None = None,
    ) -> None:
        self.options = {
            "host_file": host_file,
            "group_file": group_file,
            "defaults_file": defaults_file,
            "encoding": encoding,
        }
        self.preloaded = preloaded

    def load(self) -> Inventory:
        """The inventory; InventoryError (with every problem, located) if the files are bad."""
        if self.preloaded is not None:
            data = self.preloaded.take()
        else:
            data = read_inventory(self.options, None)
        with gc_paused():
            return build_inventory(data)


def build_inventory(data: InventoryData) -> Inventory:
    """The Inventory SimpleInventory builds from the same files (as its ``load``)."""
    for role, path in data.empty:
        logger.warning(_EMPTY[role], path)
    defaults = Defaults(**_attributes(data.defaults), data=data.defaults.get("data"))
    hosts = Hosts()
    for name, settings in data.hosts.items():
        hosts[name] = _element(Host, name, settings, defaults)
    groups = Groups()
    for name, settings in data.groups.items():
        groups[name] = _element(Group, name, settings, defaults)
    for element in (*groups.values(), *hosts.values()):
        names: Any = element.groups  # the names read, until now
        element.groups = ParentGroups([groups[name] for name in names])
    return Inventory(hosts=hosts, groups=groups, defaults=defaults)


def _element(kind: type[Host], name: str, settings: dict[str, Any], defaults: Defaults) -> Any:
    return kind(
        name=name,
        **_attributes(settings),
        data=settings.get("data"),
        groups=settings.get("groups"),  # names: made ParentGroups once every group is built
        defaults=defaults,
    )


def _attributes(settings: dict[str, Any]) -> dict[str, Any]:
    get = settings.get
    return {
        "hostname": get("hostname"),
        "port": get("port"),
        "username": get("username"),
        "password": get("password"),
        "platform": get("platform"),
        "connection_options": {
            name: ConnectionOptions(
                hostname=options.get("hostname"),
                port=options.get("port"),
                username=options.get("username"),
                password=options.get("password"),
                platform=options.get("platform"),
                extras=options.get("extras"),
            )
            for name, options in (get("connection_options") or {}).items()
        },
    }
