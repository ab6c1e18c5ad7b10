"""Keep passwords out of every output, log line, report and error message.

A library may print a password in another form than the one it was given: Netmiko logs what it
writes as a bytes repr (``b'p\\x27w'``), an exception message may hold a ``repr()`` or a
regular expression built with ``re.escape``, a URL holds it percent-encoded. :func:`secret_forms`
lists every such form of a password, and :class:`Redactor` masks each of them.
"""

from __future__ import annotations

import json
import logging
import re
import shlex
import urllib.parse
from collections.abc import Iterable
from typing import Any

MASK = "********"
MIN_SECRET_LENGTH = 3
# Past this many forms (hosts with passwords of their own), scrub() no longer searches a text
# for every form: it looks the text's pieces of _PIECE characters up in an index of forms by
# one piece of each, so that its time is the text's, whatever the number of hosts.
_INDEXED = 4096
_PIECE = 6


_QUOTES = ("'", '"')


def _python_escaped(secret: str, quote: str) -> set[str]:
    """``secret`` as it reads inside a Python string literal quoted by ``quote``: its ``repr``
    (printable non-ASCII kept), its ``ascii`` (non-ASCII escaped), and its UTF-8 bytes repr."""
    forms = set()
    for escape in (repr, ascii):
        forms.add("".join("\\" + c if c == quote else escape(c)[1:-1] for c in secret))
    data = secret.encode("utf-8", "surrogatepass")
    forms.add("".join("\\" + quote if b == ord(quote) else repr(bytes([b]))[2:-1] for b in data))
    return forms


def secret_forms(secret: str) -> set[str]:
    """Every form in which a library may print ``secret``: raw, regex-escaped (``re.escape``),
    shell-quoted (``shlex.quote``, with and without its outer quotes) and URL-encoded
    (``quote``, ``quote_plus``); and each of the raw, regex-escaped and shell-quoted forms as a
    Python repr (str, ascii and bytes, either quote) and JSON-escaped (a regular expression
    shows in an error message as its repr)."""
    quoted = shlex.quote(secret)
    bases = {secret, re.escape(secret), quoted, quoted[1:-1] if quoted.startswith("'") else quoted}
    forms = set(bases)
    for base in bases:
        for quote in _QUOTES:
            forms |= _python_escaped(base, quote)
        for ascii_only in (True, False):
            forms.add(json.dumps(base, ensure_ascii=ascii_only)[1:-1])
    forms |= {urllib.parse.quote(secret, safe=safe) for safe in ("", "/")}
    forms.add(urllib.parse.quote_plus(secret))
    return {form for form in forms if form}


class Redactor:
    """Replaces every known secret, in any of its :func:`secret_forms`, in text (and in nested
    plain data) with ``MASK``."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: set[str] = set()
        self._forms: list[str] = []  # longest first: a form inside a longer one goes with it
        # with many forms: their places in _forms by one piece of each, and the forms searched
        # always (shorter than a piece, or with MASK's character: masking can make them appear)
        self._index: dict[str, list[int]] | None = None
        self._always: list[int] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str | None]) -> None:
        # very short values would mask ordinary words; passwords that short are not worth hiding
        new = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH} - self._secrets
        if new:
            self._secrets |= new
            forms = set(self._forms).union(*(secret_forms(s) for s in new))
            self._forms = sorted(forms, key=len, reverse=True)
            self._make_index()

    def _make_index(self) -> None:
        """Each form under the piece of it that holds fewest forms yet (passwords often share
        a beginning or an end: ``Corp-00042!``'s piece is likely ``00042!``)."""
        self._index, self._always = None, []
        if len(self._forms) <= _INDEXED:
            return
        index: dict[str, list[int]] = {}
        for place, form in enumerate(self._forms):
            if len(form) < _PIECE or MASK[0] in form:
                self._always.append(place)
                continue
            pieces = (form[i : i + _PIECE] for i in range(len(form) - _PIECE + 1))
            piece = min(pieces, key=lambda p: len(index.get(p, ())))
            index.setdefault(piece, []).append(place)
        self._index = index

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secrets)"

    @property
    def forms(self) -> tuple[str, ...]:
        """Every form of every secret, longest first: what :meth:`scrub` masks, for a filter
        that runs elsewhere (Netmiko's session log, in a worker process)."""
        return tuple(self._forms)

    def scrub(self, text: str) -> str:
        for form in self._forms if self._index is None else self._candidates(text):
            if form in text:
                text = text.replace(form, MASK)
        return text

    def _candidates(self, text: str) -> list[str]:
        """The forms that may be in ``text``, longest first: those whose indexed piece is in it,
        and those searched always (masking adds nothing else to a text)."""
        index = self._index or {}
        places = set(self._always)
        for piece in {text[i : i + _PIECE] for i in range(len(text) - _PIECE + 1)}:
            places.update(index.get(piece, ()))
        return [self._forms[place] for place in sorted(places)]

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
        # its own password: reading ``element.password`` makes Nornir resolve the groups'
        found.append(object.__getattribute__(element, "password"))
        for options in element.connection_options.values():
            found.append(options.password)
            extras = options.extras or {}
            found.extend(str(v) for k, v in extras.items() if k in ("secret", "password"))
    return [s for s in found if s]
