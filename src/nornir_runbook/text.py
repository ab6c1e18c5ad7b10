"""Words and characters for text meant for people: counts with their noun, control characters
made visible, the one "did you mean" for a mistyped name.

Text that reaches a terminal or a ``.txt`` file never carries the control characters that came
from devices, runbooks or the inventory: an escape sequence in a banner could set the window
title, clear the screen, write the clipboard (OSC 52), or forge an ``ok: [host]`` line with a
carriage return. :func:`printable` shows them as ``\\x1b``, ``\\r``, ``\\x07``... json and yaml keep
the exact data.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any

# C0 controls but tab and newline, DEL, and C1 controls (U+0085 NEL, U+009B CSI among them)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with every control character but ``\\n`` and ``\\t`` escaped as Python writes it
    (``\\r``, ``\\x1b``); backslashes already in ``text`` are left as they are."""
    return _CONTROL.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return "\\r" if char == "\r" else f"\\x{ord(char):02x}"


def has_control(text: str) -> bool:
    """Whether ``text`` holds a control character, ``\\n`` and ``\\t`` included."""
    return "\n" in text or "\t" in text or _CONTROL.search(text) is not None


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 host``, ``3 hosts``, ``0 hosts``; ``nouns`` for a plural that is not ``noun + "s"``."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def suggest(name: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to a mistyped ``name``, if one is close enough."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(suggestion: str | None) -> str:
    """`` (did you mean 'show_clock'?)`` for a suggestion, nothing without one."""
    return f" (did you mean {suggestion!r}?)" if suggestion else ""


def kind_of(value: Any) -> str:
    """``a string``, ``an integer``, ``a list``...: what ``value`` is, never what it says (a
    string may be a password)."""
    kinds = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    kinds.update({list: "a list", dict: "a mapping", type(None): "null"})
    for kind, text in kinds.items():
        if isinstance(value, kind):
            return text
    return type(value).__name__


def described(value: Any, *, text: bool) -> str:
    """``value`` as an error message quotes it after "got": booleans and numbers themselves
    (``true``, ``0``), strings quoted when ``text`` (``'x'``, ``an empty string``), anything
    else by its kind."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if text and isinstance(value, str):
        return repr(value) if value.strip() else "an empty string"
    return kind_of(value)
