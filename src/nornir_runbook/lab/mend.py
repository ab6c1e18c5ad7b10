"""Canned outputs mended: FakeNOS's texts where ntc-templates could not read them.

FakeNOS keeps many of its canned outputs in folded YAML strings, and a fold left a stray space
at the start of some lines (`` Et49 Core: ...`` in EOS ``show interfaces status``, `` ------``
in IOS's), which no real device prints and ntc-templates' parsers refuse. Its EOS ``show
version`` lacks the ``Arista`` of its first line, its EOS ``show interfaces`` starts with an
echo of the command, and its EOS ``show clock`` has four blank lines that EOS does not print.
Each function here takes FakeNOS's output and returns what the device prints;
:data:`EOS_MENDED` and :data:`IOS_MENDED` map each exec command to its mending.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# one space, then a letter or a dash: a line that a YAML fold pushed right (in the outputs
# mended with it, a real line starts at column 0 or with two spaces or more; a right-aligned
# number, as a PID in EOS "show processes top once", keeps its space)
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


EOS_MENDED: dict[str, Callable[[str], str]] = {
    "show version": show_version,
    "show clock": show_clock,
    "show interfaces": show_interfaces,
    "show interfaces status": unfold,
    "show module": unfold,
    "show environment temperature": unfold,
    "show processes top once": unfold,
}
IOS_MENDED: dict[str, Callable[[str], str]] = dict.fromkeys(
    (
        "show boot",
        "show crypto session detail",
        "show dot1x all",
        "show environment temperature",
        "show interfaces status",
        "show ip access-lists",
        "show ip eigrp topology",
        "show ip source binding",
        "show license",
        "show snmp user",
    ),
    unfold,
)
