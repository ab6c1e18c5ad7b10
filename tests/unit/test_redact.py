"""The redactor masks a password in every form a library may print it."""

from __future__ import annotations

import json
import logging
import re
import shlex
import urllib.parse
from collections.abc import Callable

import pytest

from nornir_runbook.redact import MASK, RedactingFilter, Redactor

AWKWARD = ("Pa'ss \"w\\rd $HOME %s é密 end", "it's a\\b $1 %41 é 密码", "plain-Secret-1")
# how a library may print a password inside a longer message
PRINTERS: dict[str, Callable[[str], str]] = {
    "raw": lambda s: f"login with {s} failed",
    "repr": lambda s: f"args=({s!r},)",
    "repr in a list": lambda s: str([s, "x"]),
    "repr, both quotes around": lambda s: repr(f"say \"{s}\" or '{s}'"),
    "ascii": ascii,
    "bytes repr": lambda s: f"write_channel: {s.encode()!r}",
    "bytes repr, with a newline": lambda s: str((s + "\n").encode()),
    "json": lambda s: json.dumps({"password": s}),
    "json, not ascii": lambda s: json.dumps([s], ensure_ascii=False),
    "re.escape": lambda s: f"Pattern not detected: {re.escape(s)}",
    "repr of re.escape": lambda s: f"Pattern not detected: {re.escape(s)!r} in output.",
    "shlex.quote": lambda s: f"sshpass -p {shlex.quote(s)} ssh r1",
    "shlex.quote inside": lambda s: shlex.quote(f"--password={s}"),
    "url quote": lambda s: f"https://admin:{urllib.parse.quote(s)}@r1/",
    "url quote, no safe": lambda s: urllib.parse.quote(s, safe=""),
    "url quote_plus": lambda s: f"user=admin&password={urllib.parse.quote_plus(s)}",
}


@pytest.mark.parametrize("secret", AWKWARD)
@pytest.mark.parametrize("printer", list(PRINTERS))
def test_every_printed_form_is_masked(secret: str, printer: str) -> None:
    text = PRINTERS[printer](secret)
    scrubbed = Redactor([secret]).scrub(text)

    assert MASK in scrubbed
    for piece in ("Pa'ss", "w\\rd", "a\\b", "密", "Secret-1", "%41", "HOME"):
        if piece in secret:
            assert piece not in scrubbed, scrubbed


def test_text_without_the_secret_is_left_alone() -> None:
    text = "show run | include ntp 192.0.2.1 'quoted' \"x\" \\ $ % é"

    assert Redactor(AWKWARD).scrub(text) == text


def test_the_logging_filter_masks_a_bytes_repr_argument() -> None:
    secret = AWKWARD[0]
    record = logging.LogRecord("netmiko", logging.DEBUG, "x", 1, "write_channel: %s", None, None)
    record.args = (str((secret + "\n").encode()),)

    RedactingFilter(Redactor([secret])).filter(record)

    assert record.getMessage() == f"write_channel: b'{MASK}\\n'"
