"""``-v``'s step outputs gathered: hosts with the same output (once each host's own name is
masked) shown once, under the list of their names."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from nornir_runbook.report.document import step_outputs
from nornir_runbook.report.results import StepResult
from nornir_runbook.text import plural

PLACEHOLDER = "{host}"


@dataclass(frozen=True)
class Gathered:
    """Hosts whose output (for one command) is the same once each host's own name is masked.

    ``text`` is that output, with :data:`PLACEHOLDER` where each host has its name when the
    hosts' texts differ by it; ``own`` then lists, per text, its hosts and the lines where it
    differs from ``text``.
    """

    hosts: list[str]
    text: str
    own: list[tuple[list[str], list[str]]]


Groups = list[tuple[str, list[Gathered]]]


def mask_host(text: str, host: str) -> str:
    """``text`` with ``host`` (a whole word, in any case) replaced by :data:`PLACEHOLDER`."""
    if not host or "\n" in host:  # the masked text must keep its lines
        return text
    word = re.compile(rf"(?<![0-9A-Za-z]){re.escape(host)}(?![0-9A-Za-z])", re.IGNORECASE)
    return word.sub(lambda _: PLACEHOLDER, text)


def collapse(
    results: dict[str, StepResult],
    order: Sequence[str] | Mapping[str, int],
    scrub: Callable[[str], str] = str,
) -> Groups:
    """Per output label (command), the hosts gathered by output (see :class:`Gathered`), in
    inventory order: ``order`` is the hosts in that order, or each one's place in it (made
    once for a run, for a step of a few hosts among many); ``scrub`` is applied to each output
    first."""
    rank = order if isinstance(order, Mapping) else {name: i for i, name in enumerate(order)}
    labels: dict[str, dict[str, list[str]]] = {}
    for host in sorted(results, key=lambda h: rank.get(h, len(rank))):
        for label, text in step_outputs(results[host].result):
            labels.setdefault(label, {}).setdefault(scrub(text), []).append(host)
    return [(label, gather(by_text, rank)) for label, by_text in labels.items()]


def gather(by_text: dict[str, list[str]], rank: Mapping[str, int]) -> list[Gathered]:
    """Identical outputs (``text -> hosts``) gathered further when they match once each host's
    own name is masked: a ``show version`` that names the host is one output, not one a host."""
    merged: dict[str, list[tuple[list[str], str]]] = {}
    for text, hosts in by_text.items():
        masks = {mask_host(text, host) for host in hosts}
        key = masks.pop() if len(masks) == 1 else text
        merged.setdefault(key, []).append((hosts, text))
    gathered: list[Gathered] = []
    for shared, texts in merged.items():
        hosts = sorted(
            (h for names, _ in texts for h in names), key=lambda h: rank.get(h, len(rank))
        )
        if len(texts) == 1:
            gathered.append(Gathered(hosts, texts[0][1], []))
            continue
        base = shared.split("\n")
        own = [(names, _differing(text.split("\n"), base)) for names, text in texts]
        gathered.append(Gathered(hosts, shared, own))
    return gathered


def _differing(lines: list[str], base: list[str]) -> list[str]:
    return [line for line, masked in zip(lines, base, strict=True) if line != masked]


def hosts_label(hosts: Sequence[str]) -> str:
    names = ", ".join(hosts)
    return f"{names} ({plural(len(hosts), 'host')}):" if len(hosts) > 1 else f"{names}:"
