"""What a host has, as selections and views read it: its groups with their parents, its tags,
an attribute or (inherited) data value, and how such a value compares with text."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from nornir.core.inventory import Group, Host

#: host attributes ``-F`` and ``targets.filter`` may name; any other key is looked up in data.
ATTRIBUTES = ("name", "hostname", "platform", "port", "username")
#: keys nobody may select on (the value would leak through which hosts match).
FORBIDDEN_KEYS = frozenset({"password"})
ALL = "all"
UNGROUPED = "ungrouped"  # Ansible's implicit group of hosts that belong to no group

_NULL_TEXT = frozenset({"", "~", "null"})


def host_value(host: Host, key: str) -> Any:
    """``key`` of ``host``: an attribute from :data:`ATTRIBUTES`, else data as Nornir resolves
    ``host[key]`` (own, then groups depth-first, then defaults). Raises ``KeyError`` if absent."""
    if key in ATTRIBUTES:
        return getattr(host, key)
    return host[key]


def all_groups(element: Host | Group) -> list[Group]:
    """Nornir's ``extended_groups()``: the element's groups and all their parents, depth-first
    in inventory order, each once. Nornir's own recurses (a deep chain overflows the stack) and
    redoes each shared parent's walk; this visits each group once, without recursion."""
    found: list[Group] = []
    seen: set[str] = set()
    stack: list[Iterator[Group]] = [iter(element.groups)]
    while stack:
        group = next(stack[-1], None)
        if group is None:
            stack.pop()
        elif group.name not in seen:
            seen.add(group.name)
            found.append(group)
            stack.append(iter(group.groups))
    return found


def host_tags(host: Host) -> tuple[str, ...]:
    """The host's tags: ``host["tags"]`` as a tuple of strings (a lone string is one tag)."""
    try:
        value = host["tags"]
    except KeyError:
        return ()
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(str(tag) for tag in value)
    return (str(value),)


def text_matches(actual: Any, text: str) -> bool:
    """Whether a resolved value equals ``text`` as written on a command line.

    Booleans match ``true``/``false`` and ``None`` matches ``null``, ``~`` or the empty string,
    all case-insensitively; anything else matches when ``str(actual) == text``.
    """
    if isinstance(actual, bool):
        return text.lower() == ("true" if actual else "false")
    if actual is None:
        return text.lower() in _NULL_TEXT
    return str(actual) == text


def value_matches(actual: Any, expected: Any) -> bool:
    """Whether a resolved value equals a YAML value from ``targets.filter``.

    Equal values match, and so do their string forms (``port: "2201"`` matches port 2201); a
    boolean only ever equals a boolean (``true`` is not ``1``).
    """
    if isinstance(expected, str):
        return text_matches(actual, expected)
    if isinstance(actual, str):
        return text_matches(expected, actual)
    if isinstance(actual, bool) or isinstance(expected, bool):
        return type(actual) is type(expected) and actual == expected
    return bool(actual == expected)
