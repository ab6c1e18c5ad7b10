"""Arista EOS outputs mended: FakeNOS's canned texts where ntc-templates could not read them.

FakeNOS's EOS profile keeps its outputs in folded YAML strings, and a fold left a stray space
at the start of some lines (`` Et49 Core: ...`` in ``show interfaces status``), which no real
EOS prints and ntc-templates' parsers refuse. Its ``show version`` lacks the ``Arista`` of its
first line, its ``show interfaces`` starts with an echo of the command, and its ``show clock``
has four blank lines that EOS does not print. Each function here takes FakeNOS's output and
returns what EOS prints; :data:`MENDED` maps the exec command to its mending.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# one space, then a letter or a dash: a line that a YAML fold pushed right (EOS aligns its
# columns, so a real line starts at column 0 or with two spaces or more; a right-aligned
# number, as a PID in "show processes top once", keeps its space)
_FOLDED = re.compile(r"^ (?=[A-Za-z-])", re.MULTILINE)
_ECHO = re.compile(r"\A\S+#show +interfaces?\n+")


def unfold(text: str) -> str:
    """The lines a YAML fold pushed right, back at column 0."""
    return _FOLDED.sub("", text)


def show_version(text: str) -> str:
    """``Arista <model>`` on the first line, as EOS prints it."""
    return text if text.startswith("Arista ") else f"Arista {text}"


def show_clock(text: str) -> str:
    """The time, the time zone and the clock source, without blank lines between them."""
    return "\n".join(line for line in text.splitlines() if line.strip())


def show_interfaces(text: str) -> str:
    """The interfaces, without the echo of the command that FakeNOS recorded with them."""
    return unfold(_ECHO.sub("", text))


MENDED: dict[str, Callable[[str], str]] = {
    "show version": show_version,
    "show clock": show_clock,
    "show interfaces": show_interfaces,
    "show interfaces status": unfold,
    "show module": unfold,
    "show environment temperature": unfold,
    "show processes top once": unfold,
}
