"""A stdout that goes away or fails never stops a run half-way: every host runs every step,
``--save`` gets everything, and the exit code says what happened to stdout (141 closed, 5
failed). A character stdout's encoding cannot show is written escaped instead.

The gate task holds each host until the test opens its gate (a file), so that stdout is closed
while hosts are still running: ordering by files, never by the clock.
"""

from __future__ import annotations

import json
import os
import subprocess
from functools import partial
from pathlib import Path

import pytest
from cli_kit import (
    NRB,
    TIMEOUT,
    MakeProject,
    Nrb,
    WriteRunbook,
    first_line,
    run_calls,
    write_text,
)

pytestmark = pytest.mark.cli

GATE = """
import time
from pathlib import Path

from nornir.core.task import Result, Task


def wait_for_gate(task: Task, path: str) -> Result:
    deadline = time.monotonic() + 60
    while not Path(path).exists():
        if time.monotonic() > deadline:
            return Result(host=task.host, failed=True, result=f"{path} never appeared")
        time.sleep(0.02)
    return Result(host=task.host, result="open")
"""
PAD = "x" * 40_000  # four hosts' json document is then larger than a pipe holds (64 KiB)
GATED = f"""
    name: Gated
    vars: {{pad: {PAD}}}
    steps:
      - name: Clock
        commands: [show clock]
      - name: Gate
        task: gate:wait_for_gate
        args: {{path: "gates/{{{{ host.name }}}}"}}
      - name: Location
        config:
          - "snmp-server location gated-{{{{ host.name }}}}"
          - "no snmp-server location gated-{{{{ host.name }}}}"
      - name: Pad
        task: echo
        args: {{pad: "{{{{ vars.pad }}}}"}}
    """
STEPS = ["Clock", "Gate", "Location", "Pad"]
HOSTS = ("ams-core-02", "ams-edge-01", "fra-core-01", "fra-edge-03")


def gated_project(make_project: MakeProject) -> tuple[Nrb, Path]:
    config = make_project()
    project = config.parent
    (project / "gate.py").write_text(GATE)
    write_text(project, GATED, "gated.yaml")
    (project / "gates").mkdir()
    return Nrb(config=config, cwd=project), project


def open_gates(project: Path, hosts: tuple[str, ...] = HOSTS) -> None:
    for host in hosts:
        (project / "gates" / host).touch()


def assert_saved_in_full(out: Path) -> None:
    """Every host ran every step, and --save has the whole run."""
    (folder,) = [p for p in out.iterdir() if not p.name.startswith(".") and not p.is_symlink()]
    assert os.readlink(out / "latest") == folder.name
    report = json.loads((folder / "report.json").read_text())
    assert list(report["hosts"]) == list(HOSTS)
    for name, host in report["hosts"].items():
        assert host["status"] == "ok", (name, host)
        assert [(s["name"], s["status"]) for s in host["steps"]] == [(s, "ok") for s in STEPS]
        assert host["steps"][2]["changed"] is True  # the config step was sent in full
        assert host["steps"][3]["result"] == {"pad": PAD}
    assert sorted(os.listdir(folder / "hosts")) == [f"{h}.txt" for h in HOSTS]
    assert (folder / "failed.txt").read_text() == ""


@pytest.mark.parametrize(
    ("fmt", "strategy"), [("text", "linear"), ("jsonl", "free"), ("json", "free")]
)
def test_a_stdout_closed_early_lets_the_run_finish_saves_everything_and_exits_141(
    make_project: MakeProject, fmt: str, strategy: str
) -> None:
    """As ``nrb run ... | head -1``: the reader takes one line and closes the pipe while the
    hosts still wait at their gate (json: while nrb writes a document larger than the pipe)."""
    nrb, project = gated_project(make_project)
    # the first line: text's comes when the run starts (linear: no host gets past the gate
    # step, and on to the config step, before the pipe is closed), jsonl's when the first host
    # is done (free: it runs on its own), json's only at the end
    open_gates(project, HOSTS if fmt == "json" else HOSTS[:1])
    proc = nrb.popen(
        "run", "gated.yaml", "-c", nrb.config, "-l", ":".join(HOSTS), "--strategy", strategy,
        "-o", fmt, "--save", "out",
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stderr is not None

    with proc:
        first = first_line(proc)
        proc.stdout.close()
        open_gates(project)
        try:
            err = proc.stderr.read().decode()
            code = proc.wait(timeout=TIMEOUT)
        finally:
            proc.kill()

    assert first, err
    assert code == 141, err
    assert "nrb: stdout was closed" in err
    assert "Traceback" not in err
    assert "internal error" not in err
    assert f"saved: {Path('out')}" in err
    assert_saved_in_full(project / "out")


@pytest.mark.parametrize("fmt", ["text", "jsonl", "json"])
def test_a_stdout_on_a_full_disk_exits_5_with_the_reason_and_saves_everything(
    make_project: MakeProject, fmt: str
) -> None:
    nrb, project = gated_project(make_project)
    open_gates(project)

    with Path("/dev/full").open("w") as full:
        proc = subprocess.run(
            [*NRB, "run", "gated.yaml", "-c", str(nrb.config), "-l", ":".join(HOSTS),
             "-o", fmt, "--save", "out"],
            cwd=project, env=nrb.env, stdout=full, stderr=subprocess.PIPE, text=True,
            timeout=TIMEOUT, check=False,
        )  # fmt: skip

    assert proc.returncode == 5, proc.stderr
    assert "nrb: cannot write to stdout: No space left on device" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert_saved_in_full(project / "out")


UNICODE = """
    name: Santé
    steps:
      - name: Version
        commands: [show version]
      - name: Where
        task: echo
        args: {city: "Zürich-{{ host.name }}"}
    """


def test_characters_an_ascii_stdout_cannot_show_are_written_escaped(
    nrb: Nrb, write_runbook: WriteRunbook, tmp_path: Path
) -> None:
    """PYTHONIOENCODING=ascii, a runbook named Santé and a result with Zürich: text output
    shows them escaped, stderr says so, the run's own exit code stands, and --save (UTF-8) and
    json keep them exact. (The lab's devices answer in ASCII only.)"""
    runbook = write_runbook(UNICODE)
    hosts = ("ams-edge-02", "fra-core-02")
    env = {**nrb.env, "PYTHONIOENCODING": "ascii"}
    args = (runbook, "-l", ":".join(hosts), "--strategy", "free")

    text, doc = run_calls(
        {
            "text": partial(nrb.run, *args, "-o", "text", "-v", "--save", "text-out", env=env),
            "json": partial(nrb.run, *args, "-o", "json", "--save", "json-out", env=env),
        }
    ).values()

    assert text.code == 0, text
    assert "RUNBOOK [Sant\\xe9]" in text.out
    for host in hosts:
        assert f"Z\\xfcrich-{host}" in text.out
        assert f"{host} uptime is" in text.out  # the device's output, shown with -v
    assert "cannot show some characters; they are written escaped (\\xe9)" in text.err
    assert "Traceback" not in text.err
    assert doc.code == 0, doc
    assert "escaped" not in doc.err  # json escapes non-ASCII itself: nothing was lost
    assert doc.json()["runbook"] == "Santé"
    for saved in (tmp_path / "text-out" / "latest", tmp_path / "json-out" / "latest"):
        report = json.loads((saved / "report.json").read_text())
        assert report["runbook"] == "Santé"
        for host in hosts:
            assert report["hosts"][host]["steps"][1]["result"] == {"city": f"Zürich-{host}"}
            host_file = (saved / "hosts" / f"{host}.txt").read_text(encoding="utf-8")
            assert f"Zürich-{host}" in host_file
            assert "runbook:  Santé" in host_file
