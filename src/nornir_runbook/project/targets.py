"""Which hosts a runbook or a step is for, as written (``targets:``); selection reads it.

Plain data with no Nornir in it: the runbook model holds it, and the command line's parser
reads that model without loading Nornir.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Targets:
    """Which hosts: every non-empty key must match (AND); within a key, any value matches."""

    hosts: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    filter: Mapping[str, Any] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (self.hosts or self.groups or self.tags or self.filter)
