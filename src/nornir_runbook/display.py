"""Words and characters for text meant for people: counts with their noun, control characters
made visible.

Text that reaches a terminal or a ``.txt`` file never carries the control characters that came
from devices, runbooks or the inventory: an escape sequence in a banner could set the window
title, clear the screen, write the clipboard (OSC 52), or forge an ``ok: [host]`` line with a
carriage return. :func:`printable` shows them as ``\\x1b``, ``\\r``, ``\\x07``... json and yaml keep
the exact data.
"""

from __future__ import annotations

import re

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
