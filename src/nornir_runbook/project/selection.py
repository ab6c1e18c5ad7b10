"""Which hosts a run touches: host patterns, tags and filters as pure functions over the inventory.

Everything here reads a ``nornir.core.inventory.Inventory`` and returns host names in inventory
order; nothing connects or prints. The pieces, all AND-ed by :func:`select_hosts`:

- ``--limit PATTERN``: Ansible host patterns over host and group names
  (:func:`~.patterns.match_pattern`).
- ``--tags`` / ``--skip-tags``: a host's tags are ``host["tags"]`` as Nornir resolves it.
- ``--filter KEY=VALUE``: a host attribute or (inherited) data value, compared as text.

A tag or a ``--filter`` key that no host has is a :class:`UsageError` with a suggestion, as an
unknown name in a pattern is: a typo must never widen a run (``--skip-tags canry``) or empty it.
- a runbook's or a step's ``targets`` (:class:`Targets`).

Group membership always includes parent groups: a host in ``ams`` whose parent is ``emea`` is in
``emea`` (nornir's ``Host.has_parent_group``), for patterns and targets alike.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nornir.core.inventory import Host, Inventory

from nornir_runbook.errors import InventoryError, Problem, UsageError
from nornir_runbook.project.hostdata import (
    ATTRIBUTES,
    FORBIDDEN_KEYS,
    all_groups,
    host_tags,
    host_value,
    text_matches,
    value_matches,
)
from nornir_runbook.project.patterns import match_pattern
from nornir_runbook.project.targets import Targets
from nornir_runbook.text import did_you_mean, suggest

HostPredicate = Callable[[Host], bool]


# --- predicates -------------------------------------------------------------------------------


def _has_value(key: str, expected: Any, compare: Callable[[Any, Any], bool]) -> HostPredicate:
    def check(host: Host) -> bool:
        try:
            actual = host_value(host, key)
        except KeyError:
            return False
        return compare(actual, expected)

    return check


def _has_any_tag(tags: Collection[str]) -> HostPredicate:
    return lambda host: any(tag in tags for tag in host_tags(host))


# --- command-line pieces ----------------------------------------------------------------------


def split_csv(values: Iterable[str]) -> list[str]:
    """``["a,b", "c"]`` -> ``["a", "b", "c"]``: repeated options and comma lists alike."""
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def parse_filter(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` -> ``(KEY, VALUE)``; the value may be empty and may hold ``=``."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise UsageError(f"--filter {text!r}: expected KEY=VALUE, as platform=cisco_ios")
    if key in FORBIDDEN_KEYS:
        raise UsageError(f"--filter: selecting hosts by {key!r} is not allowed")
    return key, value


# --- targets ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetProblem:
    """One name in ``targets`` the inventory does not hold (or a key nobody may filter on)."""

    key: str  # "hosts", "groups" or "filter"
    name: str
    suggestion: str | None = None
    message: str


def _unknown(key: str, name: str, known: Collection[str], other: Collection[str]) -> TargetProblem:
    kind, other_kind = ("host", "group") if key == "hosts" else ("group", "host")
    if name in other:
        message = f"unknown {kind} {name!r}: {name!r} is a {other_kind}"
        return TargetProblem(key=key, name=name, message=message)
    hint = suggest(name, known)
    message = f"unknown {kind} {name!r}{did_you_mean(hint)}"
    return TargetProblem(key=key, name=name, suggestion=hint, message=message)


def target_problems(inventory: Inventory, targets: Targets) -> list[TargetProblem]:
    """Every host and group ``targets`` names that the inventory lacks, with a suggestion.

    For the runbook checker (``nrb validate``): each problem's ``key`` is the key under
    ``targets`` and ``message`` reads ``unknown group 'cor' (did you mean 'core'?)``.
    """
    hosts, groups = inventory.hosts.keys(), inventory.groups.keys()  # looked up by name
    problems = [_unknown("hosts", n, hosts, groups) for n in targets.hosts if n not in hosts]
    problems += [_unknown("groups", n, groups, hosts) for n in targets.groups if n not in groups]
    problems += [
        TargetProblem(key="filter", name=key, message=f"selecting hosts by {key!r} is not allowed")
        for key in targets.filter
        if key in FORBIDDEN_KEYS
    ]
    return problems


def targets_predicate(targets: Targets) -> HostPredicate:
    """``targets`` as a host predicate (keys AND-ed, any value within a key), usable as
    ``nr.filter(filter_func=targets_predicate(targets))``."""
    checks: list[HostPredicate] = []
    if targets.hosts:
        names = frozenset(targets.hosts)
        checks.append(lambda host: host.name in names)
    if targets.groups:
        groups = frozenset(targets.groups)
        checks.append(lambda host: any(g.name in groups for g in all_groups(host)))
    if targets.tags:
        checks.append(_has_any_tag(frozenset(targets.tags)))
    checks += [_has_value(key, value, value_matches) for key, value in targets.filter.items()]
    return lambda host: all(check(host) for check in checks)


def _check_targets(inventory: Inventory, targets: Targets, where: str) -> None:
    problems = target_problems(inventory, targets)
    if problems:
        raise InventoryError(
            [Problem(message=p.message, path=f"{where}.{p.key}") for p in problems]
        )


# --- entry points -----------------------------------------------------------------------------


def select_hosts(
    inventory: Inventory,
    *,
    targets: Targets | None = None,
    limit: str | None = None,
    tags: Sequence[str] = (),
    skip_tags: Sequence[str] = (),
    filters: Sequence[str] = (),
) -> list[str]:
    """Host names selected by all of the arguments at once (AND), in inventory order.

    ``tags``, ``skip_tags`` and ``filters`` are the option values as given: ``tags`` may hold
    comma lists (``["core,edge"]``), ``filters`` holds ``KEY=VALUE`` strings. Raises
    :class:`UsageError` for a bad command line (a tag no host has, a filter key no host has)
    and :class:`InventoryError` when ``targets`` names hosts or groups the inventory lacks, all
    before anything is matched.
    """
    pieces = _pieces(
        inventory, targets=targets, limit=limit, tags=tags, skip_tags=skip_tags, filters=filters
    )
    keep = [check for _, check in pieces]
    return [name for name, host in inventory.hosts.items() if all(c(host) for c in keep)]


def why_no_host(
    inventory: Inventory,
    *,
    targets: Targets | None = None,
    limit: str | None = None,
    tags: Sequence[str] = (),
    skip_tags: Sequence[str] = (),
    filters: Sequence[str] = (),
) -> str:
    """Why :func:`select_hosts` with the same arguments selected nothing, for the user.

    ``--limit 'x' matches 2 hosts and the runbook's targets match 3, but no host is in both``,
    or which one piece alone matches nothing.
    """
    pieces = _pieces(
        inventory, targets=targets, limit=limit, tags=tags, skip_tags=skip_tags, filters=filters
    )
    if not inventory.hosts:
        return "no host matched the selection: the inventory has no hosts"
    counted = [
        (label, sum(1 for host in inventory.hosts.values() if check(host)))
        for label, check in pieces
    ]
    empty = [label for label, count in counted if not count]
    if empty:
        return f"no host matched the selection: {empty[0]} {_matches(empty[0], 0)}"
    parts = [f"{label} {_matches(label, count)}" for label, count in counted]
    both = "both" if len(parts) == 2 else "all of them"  # noqa: PLR2004 - a pair
    listed = ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else parts[0]
    return f"no host matched the selection: {listed}, but no host is in {both}"


def _matches(label: str, count: int) -> str:
    """``matches 2 hosts``, ``match no host`` (the targets), ``leaves 1 host`` (--skip-tags)."""
    if label.startswith("--skip-tags"):
        verb = "leaves"
    else:
        verb = "match" if label.endswith("targets") else "matches"
    return f"{verb} {count or 'no'} host{'' if count <= 1 else 's'}"


def _pieces(
    inventory: Inventory,
    *,
    targets: Targets | None,
    limit: str | None,
    tags: Sequence[str],
    skip_tags: Sequence[str],
    filters: Sequence[str],
) -> list[tuple[str, HostPredicate]]:
    """Each part of a selection, checked, with how the user wrote it, as host predicates."""
    pieces: list[tuple[str, HostPredicate]] = []
    parsed = [parse_filter(text) for text in filters]
    if targets is not None:
        _check_targets(inventory, targets, "targets")
    if limit is not None:
        limited = frozenset(match_pattern(inventory, limit))
        pieces.append((f"--limit {limit!r}", lambda host: host.name in limited))
    if targets is not None and not targets.is_empty():
        pieces.append(("the runbook's targets", targets_predicate(targets)))
    wanted, unwanted = split_csv(tags), split_csv(skip_tags)
    _check_tags(inventory, {"--tags": wanted, "--skip-tags": unwanted})
    if wanted:
        pieces.append((f"--tags {','.join(wanted)!r}", _has_any_tag(frozenset(wanted))))
    if unwanted:
        skip = _has_any_tag(frozenset(unwanted))
        pieces.append((f"--skip-tags {','.join(unwanted)!r}", lambda host: not skip(host)))
    _check_filter_keys(inventory, [key for key, _ in parsed])
    pieces += [
        (f"--filter {f'{key}={value}'!r}", _has_value(key, value, text_matches))
        for key, value in parsed
    ]
    return pieces


def _check_tags(inventory: Inventory, options: Mapping[str, Sequence[str]]) -> None:
    """A tag no host has is a typo: it must not widen (``--skip-tags``) or empty a run."""
    known = {tag for host in inventory.hosts.values() for tag in host_tags(host)}
    for option, names in options.items():
        for name in names:
            if name not in known:
                hint = did_you_mean(suggest(name, sorted(known)))
                raise UsageError(f"{option}: no host has the tag {name!r}{hint}")


def _check_filter_keys(inventory: Inventory, keys: Sequence[str]) -> None:
    """A ``--filter`` key that is no attribute and no host's data is a typo."""
    unknown = [key for key in keys if key not in ATTRIBUTES]
    if not unknown:
        return
    known = set(ATTRIBUTES)
    for host in inventory.hosts.values():
        known.update(host.keys())
    for key in unknown:
        if key not in known:
            hint = did_you_mean(suggest(key, sorted(known - FORBIDDEN_KEYS)))
            raise UsageError(f"--filter: no host has a key {key!r}{hint}")


def narrow(inventory: Inventory, hosts: Sequence[str], targets: Targets) -> list[str]:
    """The hosts of ``hosts`` (already selected for the run) that a step's ``targets`` keep,
    in the order given."""
    _check_targets(inventory, targets, "steps.targets")
    keep = targets_predicate(targets)
    return [name for name in hosts if keep(inventory.hosts[name])]
