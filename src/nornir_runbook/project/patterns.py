"""``--limit``: Ansible host patterns over host and group names (see :func:`match_pattern`)."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from nornir.core.inventory import Inventory

from nornir_runbook.errors import UsageError
from nornir_runbook.project.hostdata import ALL, UNGROUPED, all_groups
from nornir_runbook.text import did_you_mean, suggest

_GLOB_CHARS = frozenset("*?[")
# Ansible's split on ':' that leaves whole bracket expressions (as in ``r[12]``) alone.
_COLON_TERMS = re.compile(r"(?:[^\s:\[\]]|\[[^\]]*\])+")


@dataclass(frozen=True, slots=True)
class _Index:
    """Host and group names of one inventory, and every group's hosts (parents included)."""

    hosts: tuple[str, ...]  # inventory order
    groups: tuple[str, ...]
    members: Mapping[str, frozenset[str]]
    names: frozenset[str]  # ``hosts``, to look a name up in (a ``@file`` names many)

    @classmethod
    def of(cls, inventory: Inventory) -> _Index:
        members: dict[str, set[str]] = {name: set() for name in inventory.groups}
        for name, host in inventory.hosts.items():
            for group in all_groups(host):
                members.setdefault(group.name, set()).add(name)
        if UNGROUPED not in members:
            members[UNGROUPED] = {n for n, host in inventory.hosts.items() if not host.groups}
        return cls(
            hosts=tuple(inventory.hosts),
            names=frozenset(inventory.hosts),
            groups=tuple(inventory.groups),
            members={
                group: frozenset(names)
                for group, names in members.items()
                if group in inventory.groups or group == UNGROUPED
            },
        )

    def by_matcher(self, matches: Callable[[str], bool]) -> set[str]:
        """Hosts of every group whose name matches, and every host whose name matches."""
        found = {host for host in self.hosts if matches(host)}
        for group in self.groups:
            if matches(group):
                found |= self.members[group]
        return found

    def by_name(self, name: str, pattern: str) -> set[str]:
        """A group's hosts if a group has that name, else that host; else a UsageError."""
        if name in self.members:  # every group, and UNGROUPED
            return set(self.members[name])
        if name in self.names:
            return {name}
        hint = suggest(name, (*self.hosts, *self.groups, ALL))
        raise UsageError(
            f"host pattern {pattern!r}: no host or group named {name!r}{did_you_mean(hint)}"
        )


def split_pattern(pattern: str) -> list[str]:
    """Ansible's split: on commas if there are any, else on colons (and whitespace)."""
    parts = pattern.split(",") if "," in pattern else _COLON_TERMS.findall(pattern)
    return [part.strip() for part in parts if part.strip()]


def read_limit_file(path: str) -> list[str]:
    """The names in a ``@file``: one a line; blank lines and ``#`` comments ignored."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:  # ValueError: not UTF-8, or a NUL in the path
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"host pattern {'@' + path!r}: cannot read {path!r}: {reason}") from None
    lines = (line.partition("#")[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def _match_file(index: _Index, path: str) -> set[str]:
    """The hosts a ``@file`` names: each line is a name, glob or ``~regex`` (not ``@file``)."""
    found: set[str] = set()
    for line in read_limit_file(path):
        if line.startswith("@"):
            raise UsageError(
                f"host pattern '@{path}': {line!r}: a limit file cannot include another"
            )
        found |= _match_term(index, line, f"@{path}")
    return found


def _match_term(index: _Index, term: str, pattern: str) -> set[str]:
    """The hosts one term (without its ``&``/``!`` prefix) names."""
    if term in (ALL, "*"):
        return set(index.hosts)
    if term.startswith("@"):
        return _match_file(index, term[1:])
    if term.startswith("~"):
        try:
            regex = re.compile(term[1:])
        except (re.error, OverflowError, RecursionError) as exc:  # a{99999999999}, ((((...))))
            raise UsageError(f"host pattern {pattern!r}: bad regex {term[1:]!r}: {exc}") from None
        return index.by_matcher(lambda name: regex.match(name) is not None)
    if _GLOB_CHARS.intersection(term):
        return index.by_matcher(lambda name: fnmatch.fnmatchcase(name, term))
    return index.by_name(term, pattern)


def match_pattern(inventory: Inventory, pattern: str) -> list[str]:
    """Host names an Ansible host pattern selects, in inventory order.

    Terms are separated by ``:`` (or ``,``). A term is ``all``/``*``, a host or group name (a
    group takes its hosts and those of its child groups), a glob (``r*``), ``~regex`` (matched at
    the start of the name with ``re.match``, as Ansible does), or ``@file``. ``&term`` intersects
    and ``!term`` excludes. As in Ansible, unions are applied first, then intersections, then
    exclusions, whatever their order in the pattern; with no plain term the base is ``all``.

    A plain name that is neither a host nor a group raises :class:`UsageError` with a suggestion:
    a typo must not silently widen (``all:!cor``) or narrow a run on production. A glob or regex
    that matches nothing is not an error; the selection is merely empty.
    """
    index = _Index.of(inventory)
    terms = split_pattern(pattern)
    if not terms:
        raise UsageError(f"host pattern {pattern!r} is empty")
    unions = [t for t in terms if t[0] not in "&!"] or [ALL]
    intersections = [t[1:] for t in terms if t[0] == "&"]
    exclusions = [t[1:] for t in terms if t[0] == "!"]
    if "" in intersections or "" in exclusions:
        raise UsageError(f"host pattern {pattern!r}: '&' and '!' need a name or pattern after them")
    selected: set[str] = set()
    for term in unions:
        selected |= _match_term(index, term, pattern)
    for term in intersections:
        selected &= _match_term(index, term, pattern)
    for term in exclusions:
        selected -= _match_term(index, term, pattern)
    return [name for name in index.hosts if name in selected]
