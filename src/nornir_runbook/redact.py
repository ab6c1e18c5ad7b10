"""Keep passwords out of every output, log line, report and error message."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

MASK = "********"
MIN_SECRET_LENGTH = 3


class Redactor:
    """Replaces every known secret in text (and in nested plain data) with ``MASK``."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: set[str] = set()
        self.add(secrets)

    def add(self, secrets: Iterable[str | None]) -> None:
        # very short values would mask ordinary words; passwords that short are not worth hiding
        self._secrets.update(s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH)

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secrets)"

    def scrub(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def scrub_data(self, value: Any) -> Any:
        """The same value with every string scrubbed (dicts, lists and tuples walked)."""
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {self.scrub_data(k): self.scrub_data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub_data(v) for v in value]
        return value


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs the formatted message of every record it passes."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redactor.scrub(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redactor.scrub(
                logging.Formatter().formatException(record.exc_info)
            )
            record.exc_info = None
        return True


def inventory_secrets(nr: Any) -> list[str]:
    """Every password of a Nornir inventory: hosts, groups, defaults and connection options."""
    inv = nr.inventory
    elements = [inv.defaults, *inv.groups.values(), *inv.hosts.values()]
    found: list[str] = []
    for element in elements:
        found.append(element.password)
        for options in element.connection_options.values():
            found.append(options.password)
            extras = options.extras or {}
            found.extend(str(v) for k, v in extras.items() if k in ("secret", "password"))
    return [s for s in found if s]
