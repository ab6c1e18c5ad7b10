"""bench/mutations.py: every mutation still applies to the code as it is, and names tests that
exist; a refactor that moves a mutated line fails here until the table follows it.

The script itself is checked on a scratch copy: a mutated file is always put back byte for byte,
and files with uncommitted changes are never mutated.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutations", REPO / "bench" / "mutations.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


mutations = _load()
MUTATIONS = mutations.MUTATIONS
by_name = pytest.mark.parametrize("m", MUTATIONS, ids=[m.name for m in MUTATIONS])


def test_names_are_unique_and_every_mutation_changes_something() -> None:
    names = [m.name for m in MUTATIONS]
    assert len(names) == len(set(names))
    assert all(m.find != m.replace and m.find.strip() and m.bug for m in MUTATIONS)


@by_name
def test_the_anchor_occurs_exactly_once(m: mutations.Mutation) -> None:
    source = (REPO / "src" / "nornir_runbook" / m.file).read_text(encoding="utf-8")
    assert source.count(m.find) == 1, f"{m.name}: update its anchor in bench/mutations.py"


@by_name
def test_the_tests_it_names_exist(m: mutations.Mutation) -> None:
    assert m.tests
    for test in m.tests:
        file, _, function = test.partition("::")
        assert file.startswith("tests/")
        path = REPO / file
        assert path.is_file(), f"{m.name}: {file} does not exist"
        if function:
            name = function.split("[")[0]
            assert re.search(rf"^def {re.escape(name)}\(", path.read_text(), re.MULTILINE), test


# -- the script, on a scratch clone --------------------------------------------------------------

ORIGINAL = b"def f():\r\n    return 1 + 1\r\n# no newline at the end"


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git clone with one committed module, which ``mutations`` takes for the repository."""
    src = tmp_path / "src" / "nornir_runbook"
    src.mkdir(parents=True)
    (src / "mod.py").write_bytes(ORIGINAL)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_mod.py").write_text("def test_mod() -> None:\n    pass\n")
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "scratch"],
    ):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)
    monkeypatch.setattr(mutations, "REPO", tmp_path)
    return tmp_path


def mutation(find: str = "1 + 1") -> mutations.Mutation:
    return mutations.Mutation(
        name="plus-is-minus",
        file="mod.py",
        find=find,
        replace="1 - 1",
        tests=("tests/test_mod.py",),
        bug="arithmetic",
    )


def test_the_file_is_restored_byte_for_byte_on_ctrl_c(
    scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = scratch / "src" / "nornir_runbook" / "mod.py"
    seen: list[bytes] = []

    def interrupted(tests: tuple[str, ...], timeout: float) -> tuple[int, str]:
        seen.append(module.read_bytes())
        raise KeyboardInterrupt

    monkeypatch.setattr(mutations, "run_tests", interrupted)
    with pytest.raises(KeyboardInterrupt):
        mutations.apply_and_test(mutation(), 10)
    assert seen == [ORIGINAL.replace(b"1 + 1", b"1 - 1")]  # the tests ran on the mutated file
    assert module.read_bytes() == ORIGINAL


@pytest.mark.parametrize(("code", "result"), [(1, "caught"), (0, "missed"), (None, "error")])
def test_pytest_exit_codes_are_caught_missed_or_error(
    scratch: Path, monkeypatch: pytest.MonkeyPatch, code: int | None, result: str
) -> None:
    monkeypatch.setattr(mutations, "run_tests", lambda tests, timeout: (code, "FAILED t - x"))
    outcome = mutations.apply_and_test(mutation(), 10)
    assert outcome.result.startswith(result)
    assert (scratch / "src" / "nornir_runbook" / "mod.py").read_bytes() == ORIGINAL


@pytest.mark.parametrize("find", ["1", "2 + 2"], ids=["twice", "absent"])
def test_an_anchor_not_found_exactly_once_is_stale(scratch: Path, find: str) -> None:
    outcome = mutations.apply_and_test(mutation(find), 10)
    assert outcome.result.startswith("stale: anchor not found")
    assert (scratch / "src" / "nornir_runbook" / "mod.py").read_bytes() == ORIGINAL


def test_uncommitted_changes_are_never_mutated(
    scratch: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = scratch / "src" / "nornir_runbook" / "mod.py"
    module.write_bytes(ORIGINAL + b"\n# work in progress\n")
    monkeypatch.setattr(mutations, "MUTATIONS", (mutation(),))
    monkeypatch.setattr(mutations, "run_tests", pytest.fail)
    assert mutations.main([]) == 2
    assert "src/nornir_runbook/mod.py" in capsys.readouterr().err
    assert module.read_bytes() == ORIGINAL + b"\n# work in progress\n"
