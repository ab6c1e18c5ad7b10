"""The parsers behind a step's ``parse:`` key, over real device output: textfsm through
ntc-templates' index or a template of one's own, ttp, genie; the check ``nrb validate`` makes
before any connection agrees with what a parse does."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from nornir_runbook.runbook.parsers import (
    PARSERS,
    ParseError,
    Template,
    parse_output,
    read_template,
    template_problem,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "parsers"
IOS_BRIEF = (DATA / "cisco_ios_show_ip_interface_brief.txt").read_text()
IOS_VERSION = (DATA / "cisco_ios_show_version.txt").read_text()
EOS_BRIEF = (DATA / "arista_eos_show_ip_interface_brief.txt").read_text()
IOS_INTERFACES = [
    ("GigabitEthernet1", "10.10.20.48", "up", "up"),
    ("GigabitEthernet2", "unassigned", "administratively down", "down"),
    ("GigabitEthernet3", "172.16.0.2", "up", "down"),
    ("Loopback0", "192.0.2.1", "up", "up"),
]
# a template of one's own: interface names and states from `show ip interface brief`
BRIEF_TEXTFSM = textwrap.dedent(
    r"""
    Value INTERFACE (\S+)
    Value IP_ADDRESS (\S+)
    Value STATUS (up|down|administratively down)

    Start
      ^Interface\s+IP-Address -> Interfaces

    Interfaces
      ^${INTERFACE}\s+${IP_ADDRESS}\s+\w+\s+\w+\s+${STATUS}\s+\S+\s*$$ -> Record
      ^. -> Error
    """
).lstrip()
BRIEF_TTP = (DATA / "show_ip_interface_brief.ttp").read_text()


def brief_records(records: list[dict[str, str]]) -> list[tuple[str, str, str, str]]:
    return [(r["interface"], r["ip_address"], r["status"], r["proto"]) for r in records]


def own_template(tmp_path: Path, name: str, text: str) -> Template:
    path = tmp_path / name
    path.write_text(text)
    return read_template(path)


# ---- textfsm through ntc-templates -----------------------------------------------------------


def test_textfsm_gives_ntc_templates_records_with_lower_case_keys() -> None:
    records = parse_output(
        "textfsm", platform="cisco_ios", command="show ip interface brief", output=IOS_BRIEF
    )

    assert brief_records(records) == IOS_INTERFACES
    assert all(list(r) == ["interface", "ip_address", "status", "proto"] for r in records)


def test_textfsm_show_version_of_an_ios_xe_router() -> None:
    (record,) = parse_output(
        "textfsm", platform="cisco_ios", command="show version", output=IOS_VERSION
    )

    assert record["hostname"] == "csr1000v-1"
    assert record["version"] == "16.9.3"
    assert record["uptime"] == "4 hours, 55 minutes"
    assert record["hardware"] == ["CSR1000V"]
    assert record["serial"] == ["9ESGOBARV9D"]


def test_the_platform_picks_the_template() -> None:
    records = parse_output(
        "textfsm", platform="arista_eos", command="show ip interface brief", output=EOS_BRIEF
    )

    assert [(r["interface"], r["status"], r["mtu"]) for r in records] == [
        ("Ethernet1", "up", "1500"),
        ("Loopback0", "up", "65535"),
        ("Management1", "up", "1500"),
        ("Vlan10", "down", "1500"),
    ]


@pytest.mark.parametrize(
    "command",
    ["sh ip int br", "show ip int brief", "sh ip interface br", "  sh   ip int   br  "],
)
def test_abbreviated_commands_find_the_same_template(command: str) -> None:
    records = parse_output("textfsm", platform="cisco_ios", command=command, output=IOS_BRIEF)

    assert brief_records(records) == IOS_INTERFACES


@pytest.mark.parametrize("platform", ["ios", "cisco_ios_telnet", "cisco_xe"])
def test_napalm_transport_and_xe_platform_names_use_the_ios_templates(platform: str) -> None:
    records = parse_output(
        "textfsm", platform=platform, command="show ip interface brief", output=IOS_BRIEF
    )

    assert brief_records(records) == IOS_INTERFACES


def test_an_unknown_platform_is_named_with_a_suggestion() -> None:
    with pytest.raises(ParseError) as caught:
        parse_output("textfsm", platform="cisco_iso", command="show version", output=IOS_VERSION)

    assert str(caught.value) == (
        "ntc-templates has no textfsm templates for platform 'cisco_iso' "
        "(did you mean 'cisco_ios'?)"
    )


def test_no_platform_says_the_host_needs_one() -> None:
    with pytest.raises(ParseError) as caught:
        parse_output("textfsm", platform=None, command="show version", output=IOS_VERSION)

    assert str(caught.value) == (
        "the host has no platform: textfsm needs one to find a template for command 'show version'"
    )


def test_no_template_for_the_command_names_platform_and_command() -> None:
    with pytest.raises(ParseError) as caught:
        parse_output("textfsm", platform="arista_eos", command="show foo", output="foo")

    assert (
        str(caught.value) == "no textfsm template for platform 'arista_eos' and command 'show foo'"
    )


def test_output_the_template_does_not_fit_is_an_error_of_that_template() -> None:
    output = "% Invalid input detected at '^' marker."

    with pytest.raises(ParseError) as caught:
        parse_output("textfsm", platform="cisco_ios", command="show users", output=output)

    message = str(caught.value)
    assert message.startswith(
        "textfsm template 'cisco_ios_show_users.textfsm' does not fit the output: "
        "State Error raised."
    )
    assert "% Invalid input detected" in message


@pytest.mark.parametrize("output", ["", IOS_BRIEF.splitlines()[0]])
def test_output_that_parses_to_nothing_is_an_empty_list(output: str) -> None:
    assert (
        parse_output(
            "textfsm", platform="cisco_ios", command="show ip interface brief", output=output
        )
        == []
    )


# ---- textfsm with a template of one's own ----------------------------------------------------


def test_own_textfsm_template_gives_records_with_lower_case_keys(tmp_path: Path) -> None:
    template = own_template(tmp_path, "brief.textfsm", BRIEF_TEXTFSM)

    records = parse_output(
        "textfsm", platform=None, command="show ip int br", output=IOS_BRIEF, template=template
    )

    assert records == [
        {"interface": name, "ip_address": ip, "status": status}
        for name, ip, status, _ in IOS_INTERFACES
    ]
    assert template == Template(path=str(tmp_path / "brief.textfsm"), text=BRIEF_TEXTFSM)


def test_own_textfsm_template_that_does_not_fit_names_its_path(tmp_path: Path) -> None:
    template = own_template(tmp_path, "brief.textfsm", BRIEF_TEXTFSM)

    with pytest.raises(ParseError) as caught:
        parse_output(
            "textfsm",
            platform="cisco_ios",
            command="x",
            output=IOS_BRIEF + "% Invalid input detected at '^' marker.",
            template=template,
        )

    assert str(caught.value).startswith(
        f"textfsm template {template.path!r} does not fit the output: State Error raised."
    )


def test_a_textfsm_template_that_does_not_compile_is_found_before_any_output(
    tmp_path: Path,
) -> None:
    template = own_template(tmp_path, "bad.textfsm", "Value NAME (\\S+)\n\nStart\n  ^${NOPE}\n")

    problem = template_problem("textfsm", platform="cisco_ios", command="x", template=template)

    assert problem is not None
    assert problem.startswith(f"textfsm template {template.path!r} is invalid: ")
    assert "NOPE" in problem
    with pytest.raises(ParseError) as caught:
        parse_output("textfsm", platform="cisco_ios", command="x", output="", template=template)
    assert str(caught.value) == problem


def test_a_template_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    missing, latin = tmp_path / "missing.textfsm", tmp_path / "latin.ttp"
    latin.write_bytes(b"caf\xe9 {{ x }}\n")

    with pytest.raises(ParseError) as gone:
        read_template(missing)
    with pytest.raises(ParseError) as undecodable:
        read_template(latin)

    assert str(gone.value) == f"cannot read template {str(missing)!r}: No such file or directory"
    assert str(undecodable.value) == f"template {str(latin)!r} is not UTF-8 text"


def test_a_template_travels_as_its_text(tmp_path: Path) -> None:
    template = own_template(tmp_path, "brief.textfsm", BRIEF_TEXTFSM)
    (tmp_path / "brief.textfsm").unlink()  # a worker process or dask worker may not see the file

    travelled = pickle.loads(pickle.dumps(template))
    records = parse_output(
        "textfsm", platform=None, command="x", output=IOS_BRIEF, template=travelled
    )

    assert travelled == template
    assert [r["interface"] for r in records] == [name for name, *_ in IOS_INTERFACES]


# ---- ttp -------------------------------------------------------------------------------------


def test_ttp_gives_what_ttp_gives_for_the_template(tmp_path: Path) -> None:
    template = own_template(tmp_path, "brief.ttp", BRIEF_TTP)

    result = parse_output(
        "ttp",
        platform="cisco_ios",
        command="show ip interface brief",
        output=IOS_BRIEF,
        template=template,
    )

    # one template, one input: [[{...}]], as ttp's result() and Netmiko's use_ttp give it
    (per_input,) = result
    (groups,) = per_input
    rows = [(i["interface"], i["ip"], i["status"], i["protocol"]) for i in groups["interfaces"]]
    assert rows == IOS_INTERFACES


def test_ttp_needs_a_template_of_ones_own() -> None:
    problem = template_problem("ttp", platform="cisco_ios", command="show ip interface brief")

    assert problem == "parse: ttp needs a template of your own: parse_template: PATH"
    with pytest.raises(ParseError, match=r"^parse: ttp needs a template of your own"):
        parse_output("ttp", platform="cisco_ios", command="show version", output=IOS_VERSION)


def test_a_ttp_template_that_is_not_xml_is_named(tmp_path: Path) -> None:
    template = own_template(tmp_path, "bad.ttp", "<group name='a'>\ninterface {{ x }}\n</grup>\n")

    problem = template_problem("ttp", platform="cisco_ios", command="x", template=template)

    assert problem is not None
    assert problem.startswith(f"ttp template {template.path!r} is invalid: mismatched tag")
    with pytest.raises(ParseError) as caught:
        parse_output("ttp", platform="cisco_ios", command="x", output="", template=template)
    assert str(caught.value) == problem


def test_ttp_takes_output_that_names_a_folder_as_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ttp reads a string naming an existing file or folder as that file or folder's files
    template = own_template(tmp_path, "names.ttp", "interface {{ name }}\n")
    (tmp_path / "local.txt").write_text("interface LocalFileOfTheRunner\n")
    monkeypatch.chdir(tmp_path)

    for output in (".", str(tmp_path / "local.txt")):
        result = parse_output("ttp", platform=None, command="x", output=output, template=template)
        assert "LocalFileOfTheRunner" not in json.dumps(result), output


# ---- genie -----------------------------------------------------------------------------------


def test_genie_parses_with_its_own_parser_for_the_platforms_os() -> None:
    brief = parse_output(
        "genie", platform="cisco_ios", command="show ip interface brief", output=IOS_BRIEF
    )
    version = parse_output("genie", platform="cisco_xe", command="show version", output=IOS_VERSION)

    assert {name: i["status"] for name, i in brief["interface"].items()} == {
        name: status for name, _, status, _ in IOS_INTERFACES
    }
    assert version["version"]["hostname"] == "csr1000v-1"
    assert version["version"]["version"] == "16.9.3"


def test_genie_output_with_nothing_in_it_is_an_empty_dict() -> None:
    assert parse_output("genie", platform="ios", command="show ip interface brief", output="") == {}


def test_genie_problems_name_platform_and_command(tmp_path: Path) -> None:
    template = own_template(tmp_path, "brief.ttp", BRIEF_TTP)

    assert template_problem("genie", platform="arista_eos", command="show version") == (
        "genie has no parsers for platform 'arista_eos'"
    )
    assert template_problem("genie", platform="cisco_ios", command="show frobnicate") == (
        "no genie parser for platform 'cisco_ios' and command 'show frobnicate'"
    )
    ambiguous = template_problem("genie", platform="cisco_ios", command="sh ip int br")
    assert ambiguous is not None
    assert ambiguous.startswith(
        "no genie parser for platform 'cisco_ios' and command 'sh ip int br': "
    )
    assert "ambiguous" in ambiguous
    assert (
        template_problem("genie", platform="cisco_ios", command="show version", template=template)
        == "parse: genie takes no parse_template: Genie brings its own parsers"
    )


def test_genie_output_its_parser_rejects_is_an_error() -> None:
    with pytest.raises(ParseError) as caught:
        parse_output("genie", platform="cisco_ios", command="show version", output="garbage\n")

    assert str(caught.value).startswith("genie could not parse the output of 'show version': ")


# ---- what validate says is what a parse does -------------------------------------------------


class Case(NamedTuple):
    parser: str
    platform: str | None
    command: str
    template: str | None  # its text
    output: str
    problem: str | None  # how template_problem's message starts, None for no problem


AGREEMENT = [
    Case("textfsm", "cisco_ios", "show ip interface brief", None, IOS_BRIEF, None),
    Case("textfsm", "ios", "sh ver", None, IOS_VERSION, None),
    Case("textfsm", "arista_eos", "sh ip int br", None, EOS_BRIEF, None),
    Case("textfsm", None, "show ip int br", BRIEF_TEXTFSM, IOS_BRIEF, None),
    Case("textfsm", "arista_eos", "show foo", None, "foo", "no textfsm template for platform"),
    Case("textfsm", "cisco_ios", "show running-config", None, "!", "no textfsm template for"),
    Case("textfsm", "cisco_iso", "show version", None, IOS_VERSION, "ntc-templates has no"),
    Case("textfsm", None, "show version", None, IOS_VERSION, "the host has no platform"),
    Case("ttp", "cisco_ios", "show ip int br", BRIEF_TTP, IOS_BRIEF, None),
    Case("ttp", "cisco_ios", "show ip int br", None, IOS_BRIEF, "parse: ttp needs a template"),
    Case("genie", "cisco_ios", "show ip interface brief", None, IOS_BRIEF, None),
    Case("genie", "juniper_junos", "show version", None, "", None),
    Case("genie", "nxos", "show nonsense", None, "", "no genie parser for platform 'nxos'"),
    Case("genie", None, "show version", None, IOS_VERSION, "the host has no platform"),
    Case("pyats", "cisco_ios", "show version", None, "", "unknown parser 'pyats'"),
]


@pytest.mark.parametrize("case", AGREEMENT, ids=lambda c: f"{c.parser}-{c.platform}-{c.command}")
def test_template_problem_agrees_with_parse_output(tmp_path: Path, case: Case) -> None:
    template = None if case.template is None else own_template(tmp_path, "own", case.template)
    where: dict[str, Any] = {
        "platform": case.platform,
        "command": case.command,
        "template": template,
    }

    found = template_problem(case.parser, **where)

    if case.problem is None:
        assert found is None
        parse_output(case.parser, output=case.output, **where)
        return
    assert found is not None
    assert found.startswith(case.problem)
    with pytest.raises(ParseError) as caught:
        parse_output(case.parser, output=case.output, **where)
    assert str(caught.value) == found


def test_unknown_parser_lists_the_parsers() -> None:
    assert PARSERS == ("textfsm", "ttp", "genie")
    assert template_problem("ttf", platform="cisco_ios", command="show version") == (
        "unknown parser 'ttf'; parsers: textfsm, ttp, genie (did you mean 'ttp'?)"
    )


# ---- optional packages, as a user without them has it ----------------------------------------

PROBE = """
import json
from nornir_runbook.runbook.parsers import ParseError, Template, parse_output, template_problem
parser = {parser!r}
template = Template(path="own.ttp", text="interface {{{{ name }}}}") if parser == "ttp" else None
problem = template_problem(parser, platform="cisco_ios", command="show version", template=template)
try:
    parse_output(parser, platform="cisco_ios", command="show version", output="", template=template)
except ParseError as exc:
    raised = str(exc)
print(json.dumps([problem, raised]))
"""


@pytest.mark.parametrize(
    ("parser", "absent", "message"),
    [
        ("ttp", "ttp", "parse: ttp needs the ttp package: pip install 'nornir-runbook[ttp]'"),
        (
            "genie",
            "genie",
            "parse: genie needs the genie and pyats packages: pip install 'nornir-runbook[genie]'",
        ),
        (
            "genie",
            "pyats",
            "parse: genie needs the genie and pyats packages: pip install 'nornir-runbook[genie]'",
        ),
    ],
)
def test_a_missing_package_says_what_to_install(
    tmp_path: Path, parser: str, absent: str, message: str
) -> None:
    # a module of that name first on the path that fails to import, as a missing package does
    shim = f'raise ModuleNotFoundError("No module named {absent!r}", name={absent!r})\n'
    (tmp_path / f"{absent}.py").write_text(shim)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}

    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(parser=parser)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=env,
    )

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [message, message]


def test_importing_the_parsers_loads_no_parser_package() -> None:
    code = (
        "import sys, nornir_runbook.runbook.parsers\n"
        "print(sorted(m for m in ('textfsm', 'ntc_templates', 'ttp', 'genie', 'pyats') "
        "if m in sys.modules))"
    )

    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )

    assert done.stdout.strip() == "[]"
