"""``--save DIR``: DIR/<run_id>/report.json (the json document), a file per host, failed.txt
(failed and unreachable hosts) usable as ``--limit @file``; run folders never shared, DIR/latest
at the newest, everything owner-only. Also files named after hosts by ``backup_config``."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_kit import (
    NRB,
    RUN_ID,
    TIMEOUT,
    MakeProject,
    Nrb,
    Ran,
    WriteRunbook,
    copy_project,
    run_many,
    write_text,
)

pytestmark = pytest.mark.cli

RUNBOOK = """
    name: Saved
    steps:
      - name: Facts
        commands: [show version, show clock]
      - name: Refuse
        targets: {hosts: [ams-core-01]}
        task: fail
        args: {message: "refused on {{ host.name }}"}
      - name: After
        task: echo
        args: {site: "{{ host.data.site }}"}
    """
HOSTS = ("ams-core-01", "ams-core-02", "ams-edge-02", "fra-edge-01")
DOWN = "ams-edge-02"


def run_folders(out: Path) -> list[Path]:
    """The run folders under ``out`` (not ``latest``, nor temporary files)."""
    return sorted(p for p in out.iterdir() if not p.name.startswith(".") and not p.is_symlink())


def saved_run(out: Path) -> Path:
    """The one run folder under ``out``; ``out/latest`` points at it."""
    runs = run_folders(out)
    assert len(runs) == 1, runs
    assert os.readlink(out / "latest") == runs[0].name
    return runs[0]


def modes(root: Path) -> dict[str, str]:
    """Every folder (``root`` too) and file under ``root`` -> its mode, symlinks left out."""
    paths = [root, *(p for p in root.rglob("*") if not p.is_symlink())]
    return {str(p.relative_to(root)): oct(stat.S_IMODE(p.stat().st_mode)) for p in paths}


@pytest.fixture(scope="module")
def saved(
    lab_inventory: Any,
    tmp_path_factory: pytest.TempPathFactory,
    free_ports: Callable[..., list[int]],
) -> tuple[Nrb, Ran]:
    """RUNBOOK on HOSTS (DOWN on a closed port) with ``-o json --save out``."""
    folder = tmp_path_factory.mktemp("saved")
    nrb = Nrb(config=copy_project(lab_inventory, folder, free_ports, closed=[DOWN]), cwd=folder)
    write_text(folder, RUNBOOK, "saved.yaml")
    return nrb, nrb.run("saved.yaml", "-l", ":".join(HOSTS), "-o", "json", "--save", "out")


def test_save_writes_report_host_files_and_failed_list(saved: tuple[Nrb, Ran]) -> None:
    nrb, ran = saved

    assert ran.code == 4, ran
    run = saved_run(nrb.cwd / "out")
    doc = ran.json()
    assert re.fullmatch(RUN_ID, run.name)
    assert run.name == doc["run_id"]
    assert f"saved: {Path('out') / run.name}" in ran.err
    report = json.loads((run / "report.json").read_text())
    assert report == doc  # the json document, as -o json printed it
    assert {n: h["status"] for n, h in report["hosts"].items()} == {
        "ams-core-01": "failed",
        "ams-core-02": "ok",
        "ams-edge-02": "unreachable",
        "fra-edge-01": "ok",
    }
    assert (run / "failed.txt").read_text() == "ams-core-01\nams-edge-02\n"  # inventory order

    host_files = sorted((run / "hosts").iterdir())
    assert [p.stem for p in host_files] == sorted(HOSTS)  # one file per host
    files = {p.stem: p.read_text() for p in host_files}
    for name in ("ams-core-02", "fra-edge-01"):
        assert f"{name} uptime is" in files[name]  # the show version output
        assert doc["hosts"][name]["steps"][0]["result"]["show clock"] in files[name]
        assert doc["hosts"][name]["steps"][-1]["result"] == {"site": name[:3]}
    for name in ("ams-core-02", "fra-edge-01"):  # each output in a file of its own
        outputs = run / "outputs" / name
        assert sorted(str(p.relative_to(outputs)) for p in outputs.rglob("*.*")) == [
            "01-Facts/show_clock.txt",
            "01-Facts/show_version.txt",
            "02-After/result.json",  # Refuse ran on ams-core-01 alone
        ]
        result = doc["hosts"][name]["steps"][0]["result"]
        assert (outputs / "01-Facts/show_version.txt").read_text() == result["show version"] + "\n"
        assert json.loads((outputs / "02-After/result.json").read_text()) == {"site": name[:3]}
    assert not (run / "outputs" / DOWN).exists()  # no output
    assert "refused on ams-core-01" in files["ams-core-01"]
    assert "failed" in files["ams-core-01"]
    assert "unreachable" in files[DOWN]
    assert doc["hosts"][DOWN]["steps"][0]["error"] in files[DOWN]


def test_failed_list_selects_exactly_the_failed_hosts_again(saved: tuple[Nrb, Ran]) -> None:
    nrb, _ = saved
    failed = saved_run(nrb.cwd / "out") / "failed.txt"

    listed, again = run_many(
        nrb,
        {
            "list": (
                "run",
                "saved.yaml",
                "-c",
                nrb.config,
                "--limit",
                f"@{failed}",
                "--list-hosts",
            ),
            "run": ("run", "saved.yaml", "-c", nrb.config, "--limit", f"@{failed}", "-o", "json"),
        },
    ).values()

    assert (listed.code, listed.out) == (0, "ams-core-01\nams-edge-02\n"), listed
    assert again.code == 4, again
    assert {n: h["status"] for n, h in again.json()["hosts"].items()} == {
        "ams-core-01": "failed",
        "ams-edge-02": "unreachable",
    }


def test_failed_list_is_empty_when_every_host_is_ok(
    nrb: Nrb, write_runbook: WriteRunbook, tmp_path: Path
) -> None:
    runbook = write_runbook("name: Fine\nsteps: [{name: E, task: echo, args: {x: y}}]\n")

    ran = nrb.run(runbook, "-l", "fra", "-o", "yaml", "--save", "out")

    assert ran.code == 0, ran
    run = saved_run(tmp_path / "out")
    assert (run / "failed.txt").read_text() == ""
    report = json.loads((run / "report.json").read_text())
    assert list(report["hosts"]) == [
        "fra-core-01",
        "fra-core-02",
        "fra-edge-01",
        "fra-edge-02",
        "fra-edge-03",
        "fra-edge-04",
        "fra-spine-01",
    ]
    assert report["summary"]["ok"] == 7


def test_save_into_a_file_is_invalid_input(
    nrb: Nrb, write_runbook: WriteRunbook, tmp_path: Path
) -> None:
    runbook = write_runbook("name: Fine\nsteps: [{name: E, task: echo, args: {x: y}}]\n")
    (tmp_path / "taken").write_text("not a folder")

    ran = nrb.run(runbook, "-l", "fra-core-01", "--save", "taken")

    assert ran.code == 5, ran
    assert "--save taken" in ran.err
    assert ran.out == ""
    assert (tmp_path / "taken").read_text() == "not a folder"


# -- run folders: one per run, never shared, never followed; latest; modes ---------------------

SAME_SECOND = """
    name: Same second
    steps:
      - name: Version
        commands: [show version]
      - name: Who
        task: echo
        args: {who: "{{ host.name }}"}
    """


def test_concurrent_runs_into_one_folder_never_share_a_run_folder(
    nrb: Nrb, write_runbook: WriteRunbook, tmp_path: Path, lab_inventory: Any
) -> None:
    """Six nrb processes at once, one host each, into the same DIR (most start in the same
    second): six folders, each holding exactly its own run."""
    runbook = write_runbook(SAME_SECOND)
    hosts = list(lab_inventory.hosts)[:6]
    args = ("run", runbook, "-c", nrb.config, "-o", "json", "--save", "out")

    runs = run_many(nrb, {host: (*args, "-l", host) for host in hosts}, workers=len(hosts))

    folders = run_folders(tmp_path / "out")
    assert len(folders) == len(hosts), [f.name for f in folders]
    for host, ran in runs.items():
        assert ran.code == 0, ran
        doc = ran.json()
        folder = tmp_path / "out" / doc["run_id"]
        assert re.fullmatch(RUN_ID, folder.name)
        assert f"saved: {Path('out') / folder.name}" in ran.err
        assert json.loads((folder / "report.json").read_text()) == doc
        assert list(doc["hosts"]) == [host]
        assert sorted(os.listdir(folder)) == ["failed.txt", "hosts", "outputs", "report.json"]
        assert os.listdir(folder / "hosts") == [f"{host}.txt"]
        assert os.listdir(folder / "outputs") == [host]
        text = (folder / "hosts" / f"{host}.txt").read_text()
        assert f"host:     {host}\n" in text
        assert f"{host} uptime is" in text
        version = folder / "outputs" / host / "01-Version" / "show_version.txt"
        assert f"{host} uptime is" in version.read_text()
    assert os.readlink(tmp_path / "out" / "latest") in {f.name for f in folders}


def test_latest_points_at_the_newest_run_and_is_replaced_not_followed(
    nrb: Nrb, write_runbook: WriteRunbook, tmp_path: Path
) -> None:
    runbook = write_runbook("name: Fine\nsteps: [{name: E, task: echo, args: {x: y}}]\n")
    out = tmp_path / "out"
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine")

    first = nrb.run(runbook, "-l", "fra-core-01", "-o", "json", "--save", out)
    assert first.code == 0, first
    assert os.readlink(out / "latest") == first.json()["run_id"]
    (out / "latest").unlink()
    (out / "latest").symlink_to(victim)  # planted: must be replaced, never written through
    second = nrb.run(runbook, "-l", "fra-core-02", "-o", "json", "--save", out)

    assert second.code == 0, second
    assert os.readlink(out / "latest") == second.json()["run_id"]
    assert json.loads((out / "latest" / "report.json").read_text()) == second.json()
    assert os.listdir(victim) == ["keep.txt"]
    assert (victim / "keep.txt").read_text() == "mine"
    assert len(run_folders(out)) == 2
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_every_saved_folder_is_0700_and_every_file_0600(
    nrb: Nrb, write_runbook: WriteRunbook, tmp_path: Path
) -> None:
    runbook = write_runbook(RUNBOOK)

    ran = nrb.run(runbook, "-l", "ams-core-01:fra-edge-01", "--save", tmp_path / "deep" / "out")

    assert ran.code == 2, ran
    found = modes(tmp_path / "deep")
    run = saved_run(tmp_path / "deep" / "out").name
    outputs = [
        "outputs",
        "outputs/ams-core-01",
        "outputs/ams-core-01/01-Facts",
        "outputs/fra-edge-01",
        "outputs/fra-edge-01/01-Facts",
        "outputs/fra-edge-01/02-After",
    ]
    expected_folders = [".", "out", f"out/{run}", f"out/{run}/hosts"]
    expected_folders += [f"out/{run}/{name}" for name in outputs]
    assert {name: mode for name, mode in found.items() if mode == "0o700"} == dict.fromkeys(
        expected_folders, "0o700"
    )
    files = ["report.json", "failed.txt", "hosts/ams-core-01.txt", "hosts/fra-edge-01.txt"]
    files += [
        f"outputs/{host}/01-Facts/{command}.txt"
        for host in ("ams-core-01", "fra-edge-01")
        for command in ("show_clock", "show_version")
    ]
    files.append("outputs/fra-edge-01/02-After/result.json")
    assert {n: m for n, m in found.items() if n not in expected_folders} == {
        f"out/{run}/{name}": "0o600" for name in files
    }


# -- backup_config: a file named after a host stays in its folder -----------------------------

BACKUP = """
    name: Backup
    targets: {hosts: ["../../x"]}
    steps:
      - name: Backup
        task: backup_config
        args: {path: "backups/{{ host.name }}.cfg"}
    """


def test_backup_config_keeps_a_host_named_like_a_path_inside_its_folder(
    make_project: MakeProject, write_runbook: WriteRunbook, tmp_path: Path
) -> None:
    """A host renamed ``../../x`` (on a real lab device) is backed up to
    ``backups/_.._x.cfg``, the name ``--save`` gives it, never to ``../x.cfg``."""
    config = make_project()
    hosts_file = config.parent / "inventory" / "hosts.yaml"
    hosts = yaml.safe_load(hosts_file.read_text())
    hosts = {("../../x" if name == "ams-core-01" else name): host for name, host in hosts.items()}
    hosts_file.write_text(yaml.safe_dump(hosts, sort_keys=False))
    runbook = write_runbook(BACKUP)
    work = tmp_path / "a" / "b" / "work"
    work.mkdir(parents=True)

    ran = Nrb(config=config, cwd=work).run(runbook, "-o", "json")

    assert ran.code == 0, ran
    step = ran.json()["hosts"]["../../x"]["steps"][0]
    assert step["result"]["path"] == "backups/_.._x.cfg"
    written = [p for p in (tmp_path / "a").rglob("*") if p.is_file()]
    assert written == [work / "backups" / "_.._x.cfg"]
    assert "hostname ams-core-01" in written[0].read_text()


# -- a full disk: a small tmpfs of its own, in a mount namespace of the nrb process alone -------

# `unshare` gives nrb a mount namespace (and a user namespace, so that no root is needed) with a
# tmpfs of DISK_BYTES at $MOUNT; the machine's own mounts are untouched, and so is the network:
# nrb still reaches the lab on 127.0.0.1. FILL=now fills the disk before nrb starts; FILL=later
# fills it once nrb has checked --save ($MOUNT/out exists), then touches $GO for the runbook.
DISK_BYTES = 256 * 1024
IN_A_TMPFS = """
mount -t tmpfs -o size="$SIZE" nrb-test "$MOUNT" || exit 97
fill() { head -c "$SIZE" /dev/zero > "$MOUNT/filler" 2>/dev/null; }
if [ "$FILL" = now ]; then fill; exec "$@"; fi
"$@" &
nrb=$!
tries=0
while [ ! -d "$MOUNT/out" ] && [ "$tries" -lt 1200 ]; do sleep 0.05; tries=$((tries + 1)); done
fill
touch "$GO"
wait "$nrb"
"""
UNSHARE = ("unshare", "--user", "--map-root-user", "--mount", "sh", "-c", IN_A_TMPFS, "sh")
WAIT_FOR_FILE = """
import time
from pathlib import Path

from nornir.core.task import Result, Task


def wait_for_file(task: Task, path: str) -> Result:
    deadline = time.monotonic() + 60
    while not Path(path).exists():
        if time.monotonic() > deadline:
            return Result(host=task.host, failed=True, result=f"{path} never appeared")
        time.sleep(0.05)
    return Result(host=task.host, result="seen")
"""


def nrb_on_a_small_disk(
    nrb: Nrb, mount: Path, *args: str | Path, fill: str, go: Path | None = None
) -> tuple[int, str, str]:
    """``nrb ARGS`` with a DISK_BYTES tmpfs at ``mount``, filled ``now`` or ``later``."""
    mount.mkdir()
    extra = {"MOUNT": str(mount), "SIZE": str(DISK_BYTES), "FILL": fill, "GO": str(go or "")}
    proc = subprocess.run(
        [*UNSHARE, *NRB, *(str(a) for a in args)],
        cwd=nrb.cwd,
        env={**nrb.env, **extra},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert proc.returncode != 97, f"no tmpfs in a new mount namespace here: {proc.stderr}"
    return proc.returncode, proc.stdout, proc.stderr


def test_a_full_disk_is_refused_before_any_device_is_touched(
    nrb: Nrb, write_runbook: WriteRunbook, tmp_path: Path, lab_inventory: Any
) -> None:
    runbook = write_runbook("name: Full\nsteps: [{name: Clock, commands: [show clock]}]\n")
    out_dir = tmp_path / "disk" / "out"
    before = lab_inventory.lab.stats()["fra-core-01"].connections

    code, out, err = nrb_on_a_small_disk(
        nrb, tmp_path / "disk", "run", runbook, "-c", nrb.config, "-l", "fra-core-01",
        "--save", out_dir, fill="now",
    )  # fmt: skip

    assert code == 5, err
    assert f"--save {out_dir}: cannot create or write to it: No space left on device" in err
    assert "Traceback" not in err
    assert out == ""
    assert lab_inventory.lab.stats()["fra-core-01"].connections == before


def test_a_disk_that_fills_during_the_run_keeps_every_result(
    nrb: Nrb, make_project: MakeProject, tmp_path: Path
) -> None:
    """The disk fills after the --save check, while the hosts run: every result is still
    printed, stderr says why the report is not saved, and the exit code is not 0."""
    config = make_project()
    (config.parent / "waiting.py").write_text(WAIT_FOR_FILE)
    go = tmp_path / "go"
    runbook = write_text(
        config.parent,
        f"""
        name: Fills
        steps:
          - name: Clock
            commands: [show clock]
          - name: Wait
            task: waiting:wait_for_file
            args: {{path: "{go}"}}
        """,
        "fills.yaml",
    )
    hosts = ("ams-core-01", "fra-edge-02")

    code, out, err = nrb_on_a_small_disk(
        nrb, tmp_path / "disk", "run", runbook, "-c", config, "-l", ":".join(hosts),
        "-o", "json", "--save", tmp_path / "disk" / "out", fill="later", go=go,
    )  # fmt: skip

    assert go.exists(), err
    assert code == 5, err
    assert "cannot write the report: No space left on device" in err
    assert "(the results above are complete)" in err
    assert "Traceback" not in err
    doc = json.loads(out)
    assert list(doc["hosts"]) == list(hosts)
    assert [h["status"] for h in doc["hosts"].values()] == ["ok", "ok"]
    for host in doc["hosts"].values():
        assert "UTC" in host["steps"][0]["result"]["show clock"]
        assert host["steps"][1]["result"] == "seen"
