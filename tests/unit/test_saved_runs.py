"""Reading a saved run (report.runs.load_run): every way of naming one, and every way it fails."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from nornir_runbook.errors import ExitCode, UsageError
from nornir_runbook.report.runs import load_run

DOCUMENT = {
    "runbook": "Health check",
    "run_id": "20261125T101500Z-3f9a1c",
    "hosts": {
        "r1": {"status": "ok", "changed": False, "steps": [{"name": "Clock", "status": "ok"}]},
        "r2": {"status": "failed", "changed": False, "steps": []},
    },
}


def _saved(tmp_path: Path, document: object = DOCUMENT, text: str | None = None) -> Path:
    folder = tmp_path / "runs" / "20261125T101500Z-3f9a1c"
    folder.mkdir(parents=True)
    (folder / "report.json").write_text(text if text is not None else json.dumps(document))
    os.symlink(folder.name, tmp_path / "runs" / "latest")
    return folder


@pytest.mark.parametrize("name", ["folder", "latest", "report"])
def test_a_run_is_read_from_its_folder_latest_or_report_json(tmp_path: Path, name: str) -> None:
    folder = _saved(tmp_path)
    path = {"folder": folder, "latest": folder.parent / "latest", "report": folder / "report.json"}
    run = load_run(path[name])
    assert run.runbook == "Health check"
    assert run.run_id == "20261125T101500Z-3f9a1c"
    assert list(run.hosts) == ["r1", "r2"]
    assert run.hosts["r2"]["status"] == "failed"
    assert run.folder.resolve() == folder.resolve()


def _error(path: Path) -> str:
    with pytest.raises(UsageError) as caught:
        load_run(path)
    assert caught.value.exit_code == ExitCode.INVALID_INPUT
    return str(caught.value)


def test_a_missing_path_or_a_folder_without_a_report_names_the_path(tmp_path: Path) -> None:
    assert (
        _error(tmp_path / "nope") == f"{tmp_path / 'nope'}: not a saved run: no such file or folder"
    )
    assert _error(tmp_path) == f"{tmp_path}: not a saved run: it has no report.json"
    os.symlink("gone", tmp_path / "latest")
    assert _error(tmp_path / "latest").endswith("not a saved run: a dangling symlink")


@pytest.mark.parametrize(
    ("document", "says"),
    [
        ([1], "expected a json object, got list"),
        ({"hosts": {}}, "key 'runbook': expected a string"),
        ({"runbook": "x", "hosts": []}, "key 'hosts': expected an object of hosts"),
        ({"runbook": "x", "hosts": {"r1": 3}}, "hosts.r1: expected an object"),
        ({"runbook": "x", "hosts": {"r1": {"steps": []}}}, "hosts.r1.status: expected a string"),
        (
            {"runbook": "x", "hosts": {"r1": {"status": "ok"}}},
            "hosts.r1.steps: expected a list of objects",
        ),
        (
            {"runbook": "x", "hosts": {"r1": {"status": "ok", "steps": [{"name": "a"}]}}},
            "hosts.r1.steps[0]: expected 'name' and 'status' strings",
        ),
    ],
)
def test_a_document_unlike_a_run_says_what_is_wrong(
    tmp_path: Path, document: object, says: str
) -> None:
    folder = _saved(tmp_path, document)
    assert _error(folder) == f"{folder / 'report.json'}: not a saved run: {says}"


def test_a_corrupt_report_says_where_the_json_breaks(tmp_path: Path) -> None:
    folder = _saved(tmp_path, text='{"runbook": "x",\n  "hosts": {')
    assert _error(folder).startswith(f"{folder / 'report.json'}:2:")
    assert "invalid json" in _error(folder)
    (folder / "report.json").write_bytes(b"\xff\xfe")
    assert "cannot read the saved run" in _error(folder)
