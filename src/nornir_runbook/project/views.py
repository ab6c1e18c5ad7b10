"""What ``nrb inventory`` shows: the selected hosts as ``ansible-inventory --graph`` / ``--list``.

Only the selected hosts appear, with the groups that lead to them; groups and hosts keep their
inventory order. A host shows under each group it names directly, and a group under each of its
parents, as Ansible draws them. The implicit ``ungrouped`` group holds hosts that name no group.

Nothing secret is shown: no password, no ``connection_options``, and data values under secret
looking keys, or equal to an inventory password, are masked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from nornir.core.inventory import Host, Inventory

from nornir_runbook.project.hostdata import ALL, UNGROUPED, all_groups
from nornir_runbook.redact import MASK, Redactor, inventory_secrets

#: a data key containing one of these (case-insensitive) has its value masked.
SECRET_KEY_PARTS = ("password", "secret", "token")


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupNode:
    """A group in the graph: its child groups, then the selected hosts that name it directly."""

    name: str
    children: tuple[GroupNode, ...] = ()
    hosts: tuple[str, ...] = ()


def _leading_groups(inventory: Inventory, hosts: Sequence[str]) -> set[str]:
    """Names of the groups that at least one of ``hosts`` belongs to (parents included)."""
    return {g.name for name in hosts for g in all_groups(inventory.hosts[name])}


def _group_nodes(
    inventory: Inventory, hosts: Sequence[str], leads: set[str]
) -> dict[str, GroupNode]:
    """A node for every group of ``leads``, built once each, parents after their children
    (without recursion: a chain of groups may be as deep as the inventory allows)."""
    children: dict[str, list[str]] = {name: [] for name in leads}
    for child in inventory.groups.values():
        if child.name in leads:
            for parent in dict.fromkeys(g.name for g in child.groups):
                if parent in children:
                    children[parent].append(child.name)
    direct: dict[str, list[str]] = {name: [] for name in leads}
    for host in hosts:
        for group in dict.fromkeys(g.name for g in inventory.hosts[host].groups):
            if group in direct:
                direct[group].append(host)
    nodes: dict[str, GroupNode] = {}
    for root, root_children in children.items():
        path = {root}  # the groups being built, each waiting for its children
        stack = [(root, iter(root_children))] if root not in nodes else []
        while stack:
            name, pending = stack[-1]
            below = next(pending, None)
            if below is None:
                stack.pop()
                path.discard(name)
                nodes[name] = GroupNode(
                    name=name,
                    children=tuple(nodes[c] for c in children[name] if c in nodes),
                    hosts=tuple(direct[name]),
                )
            elif below not in nodes and below not in path:
                path.add(below)
                stack.append((below, iter(children[below])))
    return nodes


def inventory_graph(inventory: Inventory, hosts: Sequence[str]) -> GroupNode:
    """The tree under ``@all`` that leads to ``hosts`` (names, in inventory order).

    ``all`` holds no hosts itself: hosts that name no group sit under ``ungrouped``, which comes
    first (as in Ansible) and only when it has hosts.
    """
    wanted = set(hosts)
    selected = [name for name in inventory.hosts if name in wanted]
    leads = _leading_groups(inventory, selected)
    nodes = _group_nodes(inventory, selected, leads)
    top = [
        nodes[group.name]
        for group in inventory.groups.values()
        if group.name in leads and not group.groups
    ]
    ungrouped = tuple(h for h in selected if not inventory.hosts[h].groups)
    if ungrouped:
        top.insert(0, GroupNode(name=UNGROUPED, hosts=ungrouped))
    return GroupNode(name=ALL, children=tuple(top))


def _graph_name(name: str, depth: int) -> str:
    return "  |" * depth + "--" + name if depth else name


def graph_lines(node: GroupNode, depth: int = 0) -> list[str]:
    """The tree as ``ansible-inventory --graph`` prints it, one string per line."""
    lines = [_graph_name(f"@{node.name}:", depth)]
    for child in node.children:
        lines += graph_lines(child, depth + 1)
    lines += [_graph_name(host, depth + 1) for host in node.hosts]
    return lines


def inventory_graph_text(inventory: Inventory, hosts: Sequence[str]) -> str:
    """``ansible-inventory --graph`` text for the selected hosts (no trailing newline)."""
    return "\n".join(graph_lines(inventory_graph(inventory, hosts)))


def _list_groups(node: GroupNode, out: dict[str, Any]) -> None:
    """Ansible's ``--list`` group entries: ``hosts`` then ``children``, empty keys left out,
    every group once."""
    entry: dict[str, Any] = {}
    if node.hosts:
        entry["hosts"] = list(node.hosts)
    if node.children:
        entry["children"] = [child.name for child in node.children]
    out[node.name] = entry
    for child in node.children:
        if child.name not in out:
            _list_groups(child, out)


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and any(part in key.lower() for part in SECRET_KEY_PARTS)


def _masked(value: Any, redactor: Redactor) -> Any:
    """``value`` with secret-looking keys masked at any depth and known passwords scrubbed."""
    if isinstance(value, dict):
        return {
            key: MASK if _is_secret_key(key) else _masked(item, redactor)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_masked(item, redactor) for item in value]
    return redactor.scrub_data(value)


def host_vars(host: Host, redactor: Redactor | None = None) -> dict[str, Any]:
    """What ``--list`` shows of a host: its resolved attributes, its own groups and its data as
    Nornir resolves it (own, then groups depth-first, then defaults). Never the password."""
    return {
        "hostname": host.hostname,
        "port": host.port,
        "platform": host.platform,
        "username": host.username,
        "groups": [group.name for group in host.groups],
        "data": _masked(dict(host.items()), redactor or Redactor()),
    }


def inventory_list(inventory: Inventory, hosts: Sequence[str]) -> dict[str, Any]:
    """``ansible-inventory --list`` for the selected hosts: ``all``, then every group that leads
    to them as ``{"hosts": [...], "children": [...]}``, then ``_meta.hostvars``."""
    out: dict[str, Any] = {}
    _list_groups(inventory_graph(inventory, hosts), out)
    # inventory_secrets reads ``nr.inventory``; an Inventory is all it touches
    redactor = Redactor(inventory_secrets(SimpleNamespace(inventory=inventory)))
    wanted = set(hosts)
    out["_meta"] = {
        "hostvars": {
            name: host_vars(host, redactor)
            for name, host in inventory.hosts.items()
            if name in wanted
        }
    }
    return out
