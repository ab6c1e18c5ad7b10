"""Steps that verify (``when``, ``register``, ``assert``, ``parse``), through ``nrb`` against the
lab, under both strategies and on the thread and process executors.

Two runbooks run once per (strategy, executor) at the start of the module, all at once:

- OK_RUNBOOK on OK_HOSTS: every check passes (or is ignored), so the run is exit 0: parsed
  output, a user's TextFSM template beside the runbook, typed arguments, templates and a
  ``when`` that read ``registered``, steps skipped by ``when`` or by platform.
- FAIL_RUNBOOK on FAIL_HOSTS: each host ends differently. ``ams-core-01`` passes its checks and
  goes on past an ignored failure; ``ams-edge-01`` fails on an expression that raises (a key the
  parsed data does not have); ``fra-core-02`` fails an assert that has a ``fail_msg``. The
  hosts are picked apart at run time, from the hostname each device reports in ``show version``.

Then: ``max_fail_percentage`` counts failed checks but not ignored or skipped ones; a retried
connection keeps what the host registered (the free strategy resumes at the failed step). The
input errors (``nrb validate``, and ``nrb run`` refusing before it connects) use a copy of the
project whose hosts all sit on closed ports: a connection attempt would show as
``unreachable`` (exit 4), never as the expected exit 5.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_kit import ALL, Nrb, Ran, copy_project, run_many, write_text

pytestmark = pytest.mark.cli

COMBOS = {
    f"{strategy}-{executor}": ("--strategy", strategy, "--executor", executor)
    for strategy in ("linear", "free")
    for executor in ("thread", "process")
}
EACH = pytest.mark.parametrize("combo", list(COMBOS))

CORE, EDGE, RR = "ams-core-01", "ams-edge-01", "fra-core-02"  # inventory order
OK_HOSTS = (CORE, EDGE)
FAIL_HOSTS = (CORE, EDGE, RR)
BRIEF = "show ip interface brief"
# the lab's interfaces (every device answers the same), as ntc-templates parses them
INTERFACES = [
    ("Ethernet0/0", "unassigned", "up", "up"),
    ("Ethernet0/0.11", "10.0.1.38", "up", "up"),
    ("Ethernet0/1", "1.1.1.1", "up", "up"),
    ("Ethernet0/2", "unassigned", "administratively down", "down"),
    ("Ethernet0/3", "unassigned", "administratively down", "down"),
    ("Loopback0", "10.0.1.2", "up", "up"),
]
RECORDS = [
    dict(zip(("interface", "ip_address", "status", "proto"), row, strict=True))
    for row in INTERFACES
]
UP_200 = (
    "result['show ip interface brief'] | selectattr('status', 'equalto', 'up') | list "
    "| length >= 200"
)
MISSING = "registered.intf['show ip interface brief'][0].nosuchkey == 'x'"
IGNORED = "registered.intf['show ip interface brief'] | length > vars.want"

VERSION_TEMPLATE = r"""
    Value VERSION (\S+)
    Value HOSTNAME (\S+)

    Start
      ^.*Version ${VERSION},
      ^${HOSTNAME}\s+uptime
    """
OK_RUNBOOK = """
    name: Verify
    vars: {n: 1}
    steps:
      - name: Interfaces
        commands: [show ip interface brief]
        parse: textfsm
        register: intf
        assert:
          - "result['show ip interface brief'] | length == 6"
          - "result['show ip interface brief'] | selectattr('status', 'equalto', 'up')
            | list | length >= 2"
      - name: Version
        commands: [show version]
        parse_template: templates/version.textfsm
        register: ver
      - name: Typed
        task: echo
        args:
          flag: "{{ vars.n == 1 }}"
          unflag: "{{ vars.n == 2 }}"
          n: "{{ vars.n }}"
          text: "n={{ vars.n }}"
          names: "{{ [host.name, 'x'] }}"
        register: typed
      - name: From registered
        commands:
          - "show ip interface brief | include
            {{ registered.intf['show ip interface brief'][1].interface }}"
      - name: Core only, seen at run time
        when: "registered.ver['show version'][0].hostname == 'ams-core-01'"
        task: echo
        args: {seen: "{{ registered.ver['show version'][0].hostname }}"}
      - name: Never
        when: "vars.n == 2"
        commands: [show version]
      - name: IOS by when
        when: ["host.platform == 'cisco_ios'", "vars.n == 1"]
        task: echo
        args: {platform: "{{ host.platform }}"}
      - name: EOS only
        commands: {arista_eos: [show version]}
      - name: Each platform its own
        commands:
          cisco_ios: "show ip interface brief | include Loopback"
          arista_eos: [show version]
      - name: Checks alone
        assert:
          - "registered.typed.flag is sameas true"
          - "registered.typed.n + 1 == 2"
          - "registered.ver['show version'][0].hostname == host.name"
      - name: Ignored
        assert: "registered.intf['show ip interface brief'] | length > 100"
        ignore_errors: true
      - name: When that raises, ignored
        when: "registered.intf['show ip interface brief'][0].mtu > 1500"
        task: echo
        ignore_errors: true
      - name: Last
        task: echo
        args: {done: "{{ host.name }}"}
    """
FAIL_RUNBOOK = f"""
    name: Verify failures
    vars: {{want: 200}}
    steps:
      - name: Interfaces
        commands: [show ip interface brief]
        parse: textfsm
        register: intf
        assert: "result['show ip interface brief'] | length >= 1"
      - name: Version
        commands: [show version]
        parse_template: templates/version.textfsm
        register: ver
      - name: Missing key
        when: "registered.ver['show version'][0].hostname == 'ams-edge-01'"
        assert: "{MISSING}"
      - name: Enough up
        when: "registered.ver['show version'][0].hostname == 'fra-core-02'"
        commands: [show ip interface brief]
        parse: textfsm
        assert:
          - "result['show ip interface brief'] | length == 6"
          - "{UP_200}"
        fail_msg: "too few interfaces up on {{{{ host.name }}}}"
      - name: Ignored
        when: "registered.ver['show version'][0].hostname == 'ams-core-01'"
        assert: "{IGNORED}"
        ignore_errors: true
      - name: No template, rendered late
        commands: ["show running-config{{{{ '' if registered.intf else ' all' }}}}"]
        parse: textfsm
        ignore_errors: true
      - name: Last
        task: echo
        args: {{done: "yes"}}
    """
FAIL_STEPS = (
    "Interfaces",
    "Version",
    "Missing key",
    "Enough up",
    "Ignored",
    "No template, rendered late",
    "Last",
)


@pytest.fixture(scope="module")
def books(lab_inventory: Any, tmp_path_factory: pytest.TempPathFactory) -> Nrb:
    """An ``nrb`` on the lab in a folder whose ``books/`` holds the runbooks and, beside them,
    ``templates/version.textfsm`` (not found from the folder ``nrb`` runs in)."""
    folder = tmp_path_factory.mktemp("verify")
    write_text(folder, OK_RUNBOOK, "books/ok.yaml")
    write_text(folder, FAIL_RUNBOOK, "books/fail.yaml")
    write_text(folder, VERSION_TEMPLATE, "books/templates/version.textfsm")
    return Nrb(config=lab_inventory.config_file, cwd=folder)


@pytest.fixture(scope="module")
def runs(books: Nrb) -> dict[tuple[str, str], Ran]:
    """Per (runbook and output, combo): ``ok`` and ``fail`` as json (``fail`` saved into
    ``saved/<combo>``), ``fail-text`` as text."""
    config = ("-c", books.config)
    commands: dict[tuple[str, str], tuple[str | Path, ...]] = {}
    for combo, flags in COMBOS.items():
        ok = ("run", "books/ok.yaml", *config, "-l", ":".join(OK_HOSTS), *flags)
        fail = ("run", "books/fail.yaml", *config, "-l", ":".join(FAIL_HOSTS), *flags)
        commands["ok", combo] = (*ok, "-o", "json")
        commands["fail", combo] = (*fail, "-o", "json", "--save", f"saved/{combo}")
        commands["fail-text", combo] = (*fail, "-o", "text")
    return run_many(books, commands, workers=4)


def steps_of(ran: Ran, host: str) -> dict[str, dict[str, Any]]:
    """A host's steps by name (names are unique in these runbooks)."""
    steps = ran.json()["hosts"][host]["steps"]
    by_name = {s["name"]: s for s in steps}
    assert len(by_name) == len(steps), steps
    return by_name


def check(that: str, ok: bool, seen: str | None = None, error: str | None = None) -> dict[str, Any]:
    return {"that": that, "ok": ok, "seen": seen, "error": error}


# --- every check passes: exit 0 ---------------------------------------------------------------


@EACH
def test_passing_checks_leave_every_host_ok(runs: dict[tuple[str, str], Ran], combo: str) -> None:
    ran = runs["ok", combo]

    assert ran.code == 0, ran
    doc = ran.json()
    assert list(doc["hosts"]) == list(OK_HOSTS)
    assert {h: doc["hosts"][h]["status"] for h in OK_HOSTS} == dict.fromkeys(OK_HOSTS, "ok")
    for host in OK_HOSTS:
        interfaces = steps_of(ran, host)["Interfaces"]
        assert (interfaces["status"], interfaces["error"]) == ("ok", None)
        assert interfaces["checks"] == [
            check("result['show ip interface brief'] | length == 6", True),
            check(
                "result['show ip interface brief'] | selectattr('status', 'equalto', 'up') "
                "| list | length >= 2",
                True,
            ),
        ]


@EACH
def test_parse_textfsm_gives_records(runs: dict[tuple[str, str], Ran], combo: str) -> None:
    for host in OK_HOSTS:
        assert steps_of(runs["ok", combo], host)["Interfaces"]["result"] == {BRIEF: RECORDS}


@EACH
def test_parse_template_is_read_beside_the_runbook(
    runs: dict[tuple[str, str], Ran], combo: str
) -> None:
    for host in OK_HOSTS:
        version = steps_of(runs["ok", combo], host)["Version"]
        assert (version["status"], version["task"]) == ("ok", "send_commands"), version
        assert version["result"] == {"show version": [{"version": "17.3.1a", "hostname": host}]}


@EACH
def test_a_single_expression_argument_keeps_its_type(
    runs: dict[tuple[str, str], Ran], combo: str
) -> None:
    for host in OK_HOSTS:
        result = steps_of(runs["ok", combo], host)["Typed"]["result"]
        assert result == {
            "flag": True,
            "unflag": False,
            "n": 1,
            "text": "n=1",
            "names": [host, "x"],
        }
        assert type(result["flag"]) is bool
        assert type(result["unflag"]) is bool
        assert type(result["n"]) is int


@EACH
def test_a_template_reads_what_an_earlier_step_registered(
    runs: dict[tuple[str, str], Ran], combo: str
) -> None:
    for host in OK_HOSTS:
        step = steps_of(runs["ok", combo], host)["From registered"]
        assert step["status"] == "ok", step
        assert list(step["result"]) == [f"{BRIEF} | include Ethernet0/0.11"]
        assert "10.0.1.38" in step["result"][f"{BRIEF} | include Ethernet0/0.11"]


@EACH
def test_when_on_registered_data_is_decided_per_host(
    runs: dict[tuple[str, str], Ran], combo: str
) -> None:
    core = steps_of(runs["ok", combo], CORE)["Core only, seen at run time"]
    edge = steps_of(runs["ok", combo], EDGE)["Core only, seen at run time"]

    assert (core["status"], core["result"]) == ("ok", {"seen": CORE})
    assert (edge["status"], edge["error"], edge["result"]) == ("skipped", None, None)
    assert "checks" not in edge


@EACH
def test_when_false_skips_the_step_and_true_runs_it(
    runs: dict[tuple[str, str], Ran], combo: str
) -> None:
    for host in OK_HOSTS:
        steps = steps_of(runs["ok", combo], host)
        assert (steps["Never"]["status"], steps["Never"]["result"]) == ("skipped", None)
        assert steps["IOS by when"]["status"] == "ok"
        assert steps["IOS by when"]["result"] == {"platform": "cisco_ios"}


@EACH
def test_a_platform_without_lines_skips_the_step(
    runs: dict[tuple[str, str], Ran], combo: str
) -> None:
    for host in OK_HOSTS:
        steps = steps_of(runs["ok", combo], host)
        assert (steps["EOS only"]["status"], steps["EOS only"]["result"]) == ("skipped", None)
        own = steps["Each platform its own"]
        assert own["status"] == "ok", own
        assert list(own["result"]) == [f"{BRIEF} | include Loopback"]
        assert "10.0.1.2" in own["result"][f"{BRIEF} | include Loopback"]


@EACH
def test_an_assert_step_alone_checks_registered_data(
    runs: dict[tuple[str, str], Ran], combo: str
) -> None:
    for host in OK_HOSTS:
        step = steps_of(runs["ok", combo], host)["Checks alone"]
        assert (step["status"], step["task"], step["error"]) == ("ok", "assert", None), step
        assert step["checks"] == [
            check("registered.typed.flag is sameas true", True),
            check("registered.typed.n + 1 == 2", True),
            check("registered.ver['show version'][0].hostname == host.name", True),
        ]


@EACH
def test_an_ignored_failing_assert_does_not_fail_the_host(
    runs: dict[tuple[str, str], Ran], combo: str
) -> None:
    ran = runs["ok", combo]

    assert ran.code == 0, ran
    for host in OK_HOSTS:
        steps = steps_of(ran, host)
        ignored = steps["Ignored"]
        that = "registered.intf['show ip interface brief'] | length > 100"
        assert ignored["status"] == "failed", ignored
        assert ignored["error"] == f"assertion failed: {that}; saw 6 > 100"
        assert ignored["checks"] == [check(that, False, seen="saw 6 > 100")]
        assert (steps["Last"]["status"], steps["Last"]["result"]) == ("ok", {"done": host})
        assert ran.json()["hosts"][host]["status"] == "ok"


@EACH
def test_a_when_that_raises_on_the_host_fails_the_step_with_the_expression(
    runs: dict[tuple[str, str], Ran], combo: str
) -> None:
    ran = runs["ok", combo]

    assert ran.code == 0, ran
    for host in OK_HOSTS:
        step = steps_of(ran, host)["When that raises, ignored"]
        assert (step["status"], step["result"]) == ("failed", None), step
        assert step["error"] == (
            "when: registered.intf['show ip interface brief'][0].mtu > 1500: "
            "'dict object' has no attribute 'mtu'"
        )


# --- checks that fail: exit 2 -----------------------------------------------------------------


@EACH
def test_a_failing_assert_fails_the_host_with_fail_msg_and_what_it_saw(
    runs: dict[tuple[str, str], Ran], combo: str
) -> None:
    ran = runs["fail", combo]

    assert ran.code == 2, ran
    doc = ran.json()
    assert doc["summary"] == {
        "hosts": 3,
        "ok": 1,
        "changed": 0,
        "failed": 2,
        "unreachable": 0,
        "skipped": 0,
    }
    assert doc["hosts"][RR]["status"] == "failed"
    step = steps_of(ran, RR)["Enough up"]
    assert step["status"] == "failed"
    assert step["error"] == f"too few interfaces up on {RR} ({UP_200}; saw 4 >= 200)"
    assert step["checks"] == [
        check("result['show ip interface brief'] | length == 6", True),
        check(UP_200, False, seen="saw 4 >= 200"),
    ]
    assert step["result"] == {BRIEF: RECORDS}  # what the checks saw stays in the report


@EACH
def test_an_expression_that_raises_fails_only_its_host(
    runs: dict[tuple[str, str], Ran], combo: str
) -> None:
    ran = runs["fail", combo]
    doc = ran.json()

    assert doc["hosts"][EDGE]["status"] == "failed", ran
    step = steps_of(ran, EDGE)["Missing key"]
    reason = "'dict object' has no attribute 'nosuchkey'"
    assert (step["status"], step["task"]) == ("failed", "assert")
    assert step["error"] == f"assertion failed: {MISSING}; {reason}"
    assert step["checks"] == [check(MISSING, False, error=reason)]
    # the other hosts ran that step's turn as their own data said, and kept their results
    assert steps_of(ran, CORE)["Missing key"]["status"] == "skipped"
    assert steps_of(ran, RR)["Missing key"]["status"] == "skipped"
    for host in FAIL_HOSTS:
        interfaces = steps_of(ran, host)["Interfaces"]
        assert (interfaces["status"], interfaces["result"]) == ("ok", {BRIEF: RECORDS}), host


@EACH
def test_a_failed_host_runs_no_later_step(runs: dict[tuple[str, str], Ran], combo: str) -> None:
    ran = runs["fail", combo]

    for host, failed_at in ((EDGE, "Missing key"), (RR, "Enough up")):
        steps = ran.json()["hosts"][host]["steps"]
        names = [s["name"] for s in steps]
        assert names == list(FAIL_STEPS[: len(names)]), names
        later = steps[names.index(failed_at) + 1 :]
        assert all(s["status"] == "skipped" for s in later), later


@EACH
def test_the_passing_host_goes_on_past_ignored_failures(
    runs: dict[tuple[str, str], Ran], combo: str
) -> None:
    ran = runs["fail", combo]
    steps = steps_of(ran, CORE)

    assert ran.json()["hosts"][CORE]["status"] == "ok", ran
    assert steps["Interfaces"]["checks"] == [
        check("result['show ip interface brief'] | length >= 1", True)
    ]
    ignored = steps["Ignored"]
    assert ignored["status"] == "failed"
    assert ignored["error"] == f"assertion failed: {IGNORED}; saw 6 > 200"  # vars reach checks
    assert ignored["checks"] == [check(IGNORED, False, seen="saw 6 > 200")]
    assert (steps["Last"]["status"], steps["Last"]["result"]) == ("ok", {"done": "yes"})


@EACH
def test_a_late_rendered_command_without_a_template_fails_the_step_naming_both(
    runs: dict[tuple[str, str], Ran], combo: str
) -> None:
    step = steps_of(runs["fail", combo], CORE)["No template, rendered late"]

    assert step["status"] == "failed", step
    assert "'cisco_ios'" in step["error"], step
    assert "'show running-config'" in step["error"], step


@EACH
def test_save_keeps_the_checks(books: Nrb, runs: dict[tuple[str, str], Ran], combo: str) -> None:
    ran = runs["fail", combo]
    saved = json.loads((books.cwd / "saved" / combo / "latest" / "report.json").read_text())

    assert ran.code == 2, ran
    for host in FAIL_HOSTS:
        for step, printed in zip(
            saved["hosts"][host]["steps"], ran.json()["hosts"][host]["steps"], strict=True
        ):
            assert (step["name"], step.get("checks")) == (printed["name"], printed.get("checks"))
    assert saved["hosts"][RR]["steps"][3]["checks"][1] == check(UP_200, False, seen="saw 4 >= 200")
    host_file = (books.cwd / "saved" / combo / "latest" / "hosts" / f"{RR}.txt").read_text()
    assert f"checks:\n   ok: {saved['hosts'][RR]['steps'][3]['checks'][0]['that']}\n" in host_file
    assert f"   failed: {UP_200} (saw 4 >= 200)\n" in host_file


@EACH
def test_text_output_shows_the_message_the_expression_and_what_it_saw(
    runs: dict[tuple[str, str], Ran], combo: str
) -> None:
    ran = runs["fail-text", combo]

    assert ran.code == 2, ran
    failed = {line.split("]", 1)[0]: line for line in ran.lines() if line.startswith("failed: [")}
    rr, edge = failed["failed: [" + RR], failed["failed: [" + EDGE]
    assert f"too few interfaces up on {RR} ({UP_200}; saw 4 >= 200)" in rr, rr
    assert f"assertion failed: {MISSING}; 'dict object' has no attribute 'nosuchkey'" in edge


# --- max_fail_percentage counts failed checks, not ignored or skipped ones ----------------------

IGNORED_ONLY = """
    name: Ignored checks
    options: {max_fail_percentage: 0, serial: 1}
    steps:
      - {name: Ignored, assert: "false", ignore_errors: true}
      - {name: Skipped, when: "false", assert: "false"}
      - {name: Fine, task: echo}
    """
ONE_FAILS = """
    name: One fails
    options: {max_fail_percentage: 0, serial: 1}
    steps:
      - {name: Fails, assert: "host.name != 'ams-core-01'"}
      - {name: Fine, task: echo}
    """


@EACH
def test_max_fail_percentage_counts_failed_checks_only(
    books: Nrb, combo: str, tmp_path: Path
) -> None:
    write_text(tmp_path, IGNORED_ONLY, "ignored.yaml")
    write_text(tmp_path, ONE_FAILS, "one_fails.yaml")
    base = ("-c", books.config, "-l", ":".join(FAIL_HOSTS), "-o", "json", *COMBOS[combo])
    runs = run_many(
        books,
        {name: ("run", tmp_path / f"{name}.yaml", *base) for name in ("ignored", "one_fails")},
    )

    ignored, one_fails = runs["ignored"], runs["one_fails"]
    assert ignored.code == 0, ignored
    assert (ignored.json()["aborted"], ignored.json()["summary"]["ok"]) == (False, 3), ignored
    assert one_fails.code == 2, one_fails
    doc = one_fails.json()
    assert doc["aborted"] is True, one_fails
    statuses = {host: doc["hosts"][host]["status"] for host in FAIL_HOSTS}
    assert statuses == {CORE: "failed", EDGE: "skipped", RR: "skipped"}


# --- a retried connection keeps what the host registered --------------------------------------

FLAKY = '''
"""A task whose first call for a host closes the host's session and fails to connect again."""

import os

from nornir.core.task import Result, Task


def reconnect(task: Task, marker: str, closed_port: int, interface: str) -> Result:
    if not os.path.exists(marker):
        open(marker, "w").close()
        task.host.close_connections()
        real, task.host.port = task.host.port, closed_port
        try:
            task.host.get_connection("netmiko", task.nornir.config)
        finally:
            task.host.port = real
    conn = task.host.get_connection("netmiko", task.nornir.config)
    output = conn.send_command(f"show ip interface brief | include {interface}")
    return Result(host=task.host, result=output)
'''
RETRY_RUNBOOK = """
    name: Retry keeps registered
    steps:
      - name: Interfaces
        commands: [show ip interface brief]
        parse: textfsm
        register: intf
      - name: Flaky
        task: flaky:reconnect
        args:
          marker: "{{ vars.marker }}"
          closed_port: "{{ vars.closed_port }}"
          interface: "{{ registered.intf['show ip interface brief'][5].interface }}"
      - name: Uses it
        commands:
          - "show ip interface brief | include
            {{ registered.intf['show ip interface brief'][1].interface }}"
      - name: Checks it
        when: "registered.intf['show ip interface brief'] | length == 6"
        assert: "registered.intf['show ip interface brief'][1].ip_address == '10.0.1.38'"
    """


@pytest.fixture(scope="module")
def retried(
    lab_inventory: Any,
    tmp_path_factory: pytest.TempPathFactory,
    free_ports: Callable[..., list[int]],
) -> tuple[Path, dict[str, Ran]]:
    """RETRY_RUNBOOK on CORE with ``--retries 1`` per combo (each with its own marker file)."""
    folder = tmp_path_factory.mktemp("retried")
    config = copy_project(lab_inventory, folder, free_ports)
    write_text(folder, FLAKY, "flaky.py")
    write_text(folder, RETRY_RUNBOOK, "retry.yaml")
    port = free_ports(1)[0]
    nrb = Nrb(config=config, cwd=folder)
    commands = {
        combo: (
            *("run", "retry.yaml", "-c", config, "-l", CORE, "--retries", "1", "-o", "json"),
            *("-e", f"marker={folder / combo}", "-e", f"closed_port={port}", *flags),
        )
        for combo, flags in COMBOS.items()
    }
    return folder, run_many(nrb, commands, workers=4)


@EACH
def test_a_retried_connection_keeps_what_the_host_registered(
    retried: tuple[Path, dict[str, Ran]], combo: str
) -> None:
    folder, runs = retried
    ran = runs[combo]

    assert ran.code == 0, ran
    assert (folder / combo).exists()  # the first connection did fail, and was retried
    steps = ran.json()["hosts"][CORE]["steps"]
    assert [(s["name"], s["status"]) for s in steps] == [
        ("Interfaces", "ok"),
        ("Flaky", "ok"),
        ("Uses it", "ok"),
        ("Checks it", "ok"),
    ]
    assert "10.0.1.2" in steps[1]["result"]  # Loopback0, named by what Interfaces registered
    assert list(steps[2]["result"]) == [f"{BRIEF} | include Ethernet0/0.11"]
    assert steps[3]["checks"][0]["ok"] is True


# --- input errors: refused before anything connects, exit 5 -----------------------------------

NO_TEMPLATE = """
    name: No template
    steps:
      - name: Echo first
        task: echo
        args: {a: "1"}
      - name: Running config
        commands: [show version, show running-config]
        parse: textfsm
    """
WHEN_UNDEFINED = """
    name: Undefined in when
    steps:
      - name: Echo first
        task: echo
        args: {a: "1"}
      - name: Guarded
        when: "host.data.nosuch == 1"
        commands: [show version]
    """


@pytest.fixture(scope="module")
def closed(
    lab_inventory: Any,
    tmp_path_factory: pytest.TempPathFactory,
    free_ports: Callable[..., list[int]],
) -> Nrb:
    """An ``nrb`` on a copy of the project whose every host is on a closed port."""
    folder = tmp_path_factory.mktemp("closed")
    config = copy_project(lab_inventory, folder, free_ports, closed=ALL)
    write_text(folder, NO_TEMPLATE, "no_template.yaml")
    write_text(folder, WHEN_UNDEFINED, "when_undefined.yaml")
    return Nrb(config=config, cwd=folder)


@EACH
def test_a_command_without_a_template_is_refused_before_connecting(closed: Nrb, combo: str) -> None:
    ran = closed.run("no_template.yaml", "-l", CORE, "-o", "json", *COMBOS[combo])

    assert (ran.code, ran.out) == (5, ""), ran
    assert ran.err.startswith("no_template.yaml:8:12 steps[1].parse: "), ran
    assert "'cisco_ios'" in ran.err, ran
    assert "'show running-config'" in ran.err, ran
    assert "'show version'" not in ran.err, ran  # it has a template


@EACH
def test_a_when_that_cannot_evaluate_for_a_host_is_refused_naming_it(
    closed: Nrb, combo: str
) -> None:
    ran = closed.run("when_undefined.yaml", "-l", CORE, "-o", "json", *COMBOS[combo])

    assert (ran.code, ran.out) == (5, ""), ran
    assert ran.err.startswith(
        "when_undefined.yaml:7:11 steps[1].when[0]: cannot evaluate for host 'ams-core-01': "
        "'dict object' has no attribute 'nosuch'"
    ), ran


@pytest.mark.parametrize(
    ("runbook", "where", "names"),
    [
        ("no_template.yaml", "no_template.yaml:8:12 steps[1].parse: ", "'show running-config'"),
        ("when_undefined.yaml", "when_undefined.yaml:7:11 steps[1].when[0]: ", "ams-core-01"),
    ],
)
def test_validate_finds_what_run_refuses(closed: Nrb, runbook: str, where: str, names: str) -> None:
    ran = closed("validate", "-c", closed.config, runbook)

    assert (ran.code, ran.out) == (5, ""), ran
    assert ran.err.startswith(where), ran
    assert names in ran.err.splitlines()[0], ran


OTHER_PARSER = """
    name: Other parser
    steps:
      - name: Interfaces
        commands: [show ip interface brief]
        parse: {parser}
    """


@pytest.mark.parametrize("parser", ["ttp", "genie"])
def test_a_parser_that_is_not_installed_is_refused_saying_what_to_install(
    closed: Nrb, parser: str, tmp_path: Path
) -> None:
    """ttp and genie are optional: where one is not installed (here a module of that name on
    PYTHONPATH fails to import, as a missing package does), ``parse: genie`` must not quietly
    give ntc-templates' TextFSM records (genie's are mappings), nor connect to find out."""
    shim = f'raise ModuleNotFoundError("No module named {parser!r}", name={parser!r})\n'
    (tmp_path / f"{parser}.py").write_text(shim)
    env = {**closed.env, "PYTHONPATH": str(tmp_path)}
    write_text(closed.cwd, OTHER_PARSER.format(parser=parser), f"{parser}.yaml")

    ran = closed.run(f"{parser}.yaml", "-l", CORE, "-o", "json", env=env)

    assert (ran.code, ran.out) == (5, ""), ran
    assert ran.err.startswith(f"{parser}.yaml:5:12 steps[0].parse: "), ran
    assert "install" in ran.err, ran


# --- nrb validate ------------------------------------------------------------------------------

VALIDATE_CASES = {
    "registered by a later step": (
        """
        name: Later
        steps:
          - name: Uses it
            commands: ["show interfaces {{ registered.intf[0].interface }}"]
          - name: Registers it
            commands: [show ip interface brief]
            register: intf
        """,
        "book.yaml:4:16 steps[0].commands[0]: 'registered.intf': no earlier step has "
        "'register: intf'",
    ),
    "registered nowhere, in when": (
        """
        name: Nowhere
        steps:
          - name: Registers
            task: echo
            register: facts
          - name: Reads
            when: "registered.fact.n == 1"
            task: echo
        """,
        "book.yaml:7:11 steps[1].when[0]: 'registered.fact': no earlier step has "
        "'register: fact' (did you mean 'registered.facts'?)",
    ),
    "registered nowhere, in a standalone assert": (
        """
        name: Nowhere
        steps:
          - name: Checks
            assert: ["registered.intf | length > 0"]
        """,
        "book.yaml:4:14 steps[0].assert[0]: 'registered.intf': no earlier step has "
        "'register: intf'",
    ),
    "when syntax": (
        """
        name: Syntax
        steps:
          - name: Half
            when: "host.name =="
            commands: [show version]
        """,
        "book.yaml:4:11 steps[0].when[0]: expression syntax error: unexpected 'end of template'",
    ),
    "assert syntax": (
        """
        name: Syntax
        steps:
          - name: Bracket
            commands: [show version]
            assert:
              - "result | length > 0"
              - "result ]"
        """,
        "book.yaml:7:9 steps[0].assert[1]: expression syntax error: unexpected ']'",
    ),
    "parse typo": (
        """
        name: Typo
        steps:
          - name: Interfaces
            commands: [show ip interface brief]
            parse: textfm
        """,
        "book.yaml:5:12 steps[0].parse: expected one of 'textfsm', 'ttp', 'genie', "
        "got 'textfm' (did you mean 'textfsm'?)",
    ),
    "parse on config": (
        """
        name: Config
        steps:
          - name: Hostname
            config: [hostname x]
            parse: textfsm
        """,
        "book.yaml:5:5 steps[0].parse: 'parse' is only allowed with 'commands'",
    ),
    "missing parse_template": (
        """
        name: Template
        steps:
          - name: Version
            commands: [show version]
            parse_template: templates/nope.textfsm
        """,
        "book.yaml:5:21 steps[0].parse_template: cannot read template ",
    ),
    "broken parse_template": (
        """
        name: Template
        steps:
          - name: Version
            commands: [show version]
            parse_template: templates/broken.textfsm
        """,
        "book.yaml:5:21 steps[0].parse_template: ",
    ),
}
# a TextFSM template that does not compile: an unclosed group
BROKEN_TEMPLATE = """
    Value VERSION (\\S+

    Start
      ^.*Version ${VERSION},
    """


@pytest.mark.parametrize("case", list(VALIDATE_CASES))
def test_validate_locates_verify_mistakes(closed: Nrb, case: str) -> None:
    text, expected = VALIDATE_CASES[case]
    folder = closed.cwd / case.replace(" ", "_").replace(",", "")
    write_text(folder, text, "book.yaml")
    write_text(folder, BROKEN_TEMPLATE, "templates/broken.textfsm")

    ran = Nrb(config=closed.config, cwd=folder)("validate", "-c", closed.config, "book.yaml")

    assert (ran.code, ran.out) == (5, ""), ran
    located = [line for line in ran.err.splitlines() if line.startswith("book.yaml:")]
    assert len(located) == 1, ran
    assert located[0].startswith(expected), located
    if case.endswith("parse_template"):
        assert "textfsm" in located[0], located  # names the template file
