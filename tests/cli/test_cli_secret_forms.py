"""Passwords made of awkward characters never show, in any form a library may print them.

A lab whose two devices take passwords with quotes, a backslash, ``$``, ``%``, spaces and
non-ASCII characters (one with both quotes, one with a single quote only, so that Python's
``repr`` picks either quote). The runbook puts the password where it would show if nothing
scrubbed it (commands, a config line the device echoes, a task result, a failing task's error
as a Python list and URL-encoded, a prompt pattern netmiko quotes in its timeout error); other
runs log in with a wrong awkward password (the authentication error path) or hold it in an
invalid runbook. stdout, stderr and every saved file (names and contents) are scanned for every
form of every password: raw, repr (str, ascii and bytes, either quote), JSON-escaped (ASCII or
not), ``re.escape``, ``shlex.quote`` and URL-encoded (``quote`` and ``quote_plus``).
"""

from __future__ import annotations

import json
import re
import shlex
import urllib.parse
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from cli_kit import Nrb, Ran, clean_env, run_calls, write_text

from nornir_runbook.lab import Device, Lab

if TYPE_CHECKING:
    from conftest import LabInventory

pytestmark = pytest.mark.cli

MASK = "********"
BOTH_QUOTES = "Pa'ss \"w\\rd $HOME %s é密 end"
SINGLE_QUOTE = "it's a\\b $1 %41 é 密码"
ASCII_ONLY = "As'c \"ii\\ $9 %z ok"  # a device echoes commands holding this one
WRONG = "N0'pe \"\\ $x %d é密"  # a wrong password from NRB_PASSWORD: the devices refuse it
# with BOTH_QUOTES, SINGLE_QUOTE and ASCII_ONLY
HOSTS = ("ams-core-01", "ams-edge-01", "fra-core-02")

LEAKY = """
    name: Leaky
    vars: {{pw: {pw}, pw2: {pw2}, pw3: {pw3}}}
    steps:
      - name: Show
        targets: {{hosts: [{echoes}]}}
        commands: ["show clock | include {{{{ vars.pw3 }}}}"]
      - name: Community
        targets: {{hosts: [{echoes}]}}
        # and off again: every run sends the community line (a line already there is not sent)
        config:
          - "snmp-server community {{{{ vars.pw3 }}}} RO"
          - "no snmp-server community {{{{ vars.pw3 }}}} RO"
      - name: Echo
        task: echo
        args: {{secret: "{{{{ vars.pw }}}}", more: ["{{{{ vars.pw2 }}}}", "{{{{ vars.pw3 }}}}"]}}
      - name: Fail
        task: fail
        args: {{message: "refused {{{{ [vars.pw, vars.pw2] }}}} {{{{ vars.pw | urlencode }}}}"}}
        ignore_errors: true
      - name: Prompt never comes
        task: netmiko_send_command
        args: {{command_string: show clock, expect_string: "{{{{ vars.pw }}}}", read_timeout: 1}}
    """
PLAIN = """
    name: Plain
    steps:
      - name: Clock
        commands: [show clock]
    """
BROKEN = """
    name: Broken
    steps:
      - name: Typo
        commands: [{broken}]
    """  # the error shows the line, with the password as written there (JSON-escaped)


def forms(secret: str) -> set[str]:
    """Every form of ``secret`` this test looks for (computed here, not by the redactor)."""
    found = {secret, shlex.quote(secret)}
    for base in (secret, re.escape(secret)):  # netmiko's errors show a regex as its repr
        found.add(base)
        for as_python in (repr, ascii, lambda text: repr(text.encode())[1:]):
            found.add(as_python(base)[1:-1])  # the quote Python picks for the text alone
            found.add(as_python(base + "'\"")[1:-1].removesuffix("\\'\""))  # with both quotes
        found.add(json.dumps(base)[1:-1])
        found.add(json.dumps(base, ensure_ascii=False)[1:-1])
    found.add(urllib.parse.quote(secret))
    found.add(urllib.parse.quote(secret, safe=""))
    found.add(urllib.parse.quote_plus(secret))
    return found


def _all_forms() -> dict[str, str]:
    return {form: name for name, s in PASSWORDS.items() for form in forms(s)}


PASSWORDS = {
    "both quotes": BOTH_QUOTES,
    "single quote": SINGLE_QUOTE,
    "ascii only": ASCII_ONLY,
    "wrong": WRONG,
}
VERBOSITY = {0: [], 1: ["-v"], 2: ["-vv"], 3: ["-vvv"]}
# case: (runbook, format, verbosity, extra environment, expected exit code)
CASES: dict[str, tuple[str, str, int, dict[str, str], int]] = {
    **{f"leaky-text-v{v}": (LEAKY, "text", v, {}, 2) for v in VERBOSITY},
    **{f"leaky-{fmt}-v{v}": (LEAKY, fmt, v, {}, 2) for fmt, v in (("json", 1), ("yaml", 2))},
    **{f"leaky-{fmt}-v3": (LEAKY, fmt, 3, {}, 2) for fmt in ("json", "yaml", "jsonl")},
    "leaky-jsonl-v0": (LEAKY, "jsonl", 0, {}, 2),
    "wrong-text-v3": (PLAIN, "text", 3, {"NRB_PASSWORD": WRONG}, 4),
    "wrong-json-v3": (PLAIN, "json", 3, {"NRB_PASSWORD": WRONG}, 4),
    "wrong-jsonl-v2": (PLAIN, "jsonl", 2, {"NRB_PASSWORD": WRONG}, 4),
    "invalid-json-v3": (BROKEN, "json", 3, {}, 5),
}


@pytest.fixture(scope="module")
def awkward_lab(
    lab_project_writer: Callable[..., LabInventory], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LabInventory]:
    """The lab project with its first host on BOTH_QUOTES, its second on SINGLE_QUOTE (set in
    the inventory's hosts file), only those two devices running."""
    project = lab_project_writer(tmp_path_factory.mktemp("awkward"), password=BOTH_QUOTES)
    hosts_file = project.directory / "inventory" / "hosts.yaml"
    hosts = yaml.safe_load(hosts_file.read_text(encoding="utf-8"))
    hosts[HOSTS[1]]["password"] = SINGLE_QUOTE
    hosts[HOSTS[2]]["password"] = ASCII_ONLY
    hosts_file.write_text(yaml.safe_dump(hosts, allow_unicode=True), encoding="utf-8")
    passwords = dict(zip(HOSTS, (BOTH_QUOTES, SINGLE_QUOTE, ASCII_ONLY), strict=True))
    devices = [
        Device(name=d.name, address=d.address, port=d.port, username=d.username, password=pw)
        for d in project.lab.devices
        if (pw := passwords.get(d.name)) is not None
    ]
    with Lab(devices):
        yield project


@pytest.fixture(scope="module")
def runs(awkward_lab: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Ran, Path]]:
    """Every case, four at a time, against one lab: (the run, the folder it ran in)."""
    root = tmp_path_factory.mktemp("secret-forms")
    calls = {}
    for case, (runbook, fmt, verbosity, env, _) in CASES.items():
        pws = [json.dumps(pw) for pw in (BOTH_QUOTES, SINGLE_QUOTE, ASCII_ONLY)]
        broken = json.dumps("show {{ host.nme }} " + BOTH_QUOTES)
        text = runbook.format(pw=pws[0], pw2=pws[1], pw3=pws[2], echoes=HOSTS[2], broken=broken)
        write_text(root / case, text, "runbook.yaml")
        nrb = Nrb(config=awkward_lab.config_file, cwd=root / case, env=clean_env(**env))
        options = ["-o", fmt, *VERBOSITY[verbosity], "--save", "out"]
        calls[case] = partial(nrb.run, "runbook.yaml", "-l", ":".join(HOSTS), *options)
    inventory = Nrb(config=awkward_lab.config_file, cwd=root)
    calls["inventory-list-v3"] = partial(inventory.inventory, "--list", "-vvv")
    return {case: (ran, root / case) for case, ran in run_calls(calls).items()}


def _texts(ran: Ran, folder: Path) -> Iterator[tuple[str, str]]:
    yield "stdout", ran.out
    yield "stderr", ran.err
    out = folder / "out"
    for path in sorted(out.rglob("*")) if out.exists() else ():
        yield f"name {path.relative_to(folder)}", str(path.relative_to(folder))
        if path.is_file() and not path.is_symlink():
            yield str(path.relative_to(folder)), path.read_text(encoding="utf-8", errors="replace")


@pytest.mark.parametrize("case", [*CASES, "inventory-list-v3"])
def test_no_form_of_any_password_anywhere(
    runs: dict[str, tuple[Ran, Path]], awkward_lab: Any, case: str
) -> None:
    ran, folder = runs[case]
    expected = CASES[case][4] if case in CASES else 0

    assert ran.code == expected, ran
    texts = dict(_texts(ran, folder))
    if case in CASES and expected != 5:
        assert any(name.endswith("report.json") for name in texts), "nothing was saved"
    hits = [
        f"{which} password as {form!r} in {where}"
        for where, text in texts.items()
        for form, which in _all_forms().items()
        if form in text
    ]
    assert hits == []
    if case.startswith(("leaky", "invalid")):
        assert MASK in ran.out + ran.err + "".join(texts.values())  # it was there, and masked


def test_leaky_places_were_reached(runs: dict[str, tuple[Ran, Path]]) -> None:
    """The passwords did reach the places scanned above: masked, not dropped."""
    doc = runs["leaky-json-v3"][0].json()
    steps = {h: {s["name"]: s for s in doc["hosts"][h]["steps"]} for h in HOSTS}
    echoes = steps[HOSTS[2]]

    assert echoes["Show"]["status"] == "ok", echoes["Show"]
    assert list(echoes["Show"]["result"]) == [f"show clock | include {MASK}"]
    assert echoes["Community"]["status"] == "ok", echoes["Community"]
    assert f"snmp-server community {MASK} RO" in str(echoes["Community"]["result"])
    for host in HOSTS:
        assert steps[host]["Echo"]["result"] == {"secret": MASK, "more": [MASK, MASK]}
        assert steps[host]["Fail"]["error"] == f"refused ['{MASK}', \"{MASK}\"] {MASK}"
        prompt = steps[host]["Prompt never comes"]
        assert (prompt["status"], MASK in prompt["error"]) == ("failed", True), prompt


def test_a_wrong_awkward_password_is_an_authentication_failure(
    runs: dict[str, tuple[Ran, Path]],
) -> None:
    doc = runs["wrong-json-v3"][0].json()

    for host in HOSTS:
        step = doc["hosts"][host]["steps"][0]
        assert step["status"] == "unreachable"
        assert "Authentication" in step["error"]
