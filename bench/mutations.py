"""Mutation check: plant one deliberate bug at a time and see whether the tests catch it.

``python bench/mutations.py`` (from the top of the clone) runs every mutation of the table below;
``--only NAME`` runs one (repeat it for more), ``--list`` shows the table. For each mutation the
file is changed in the working tree, the tests named for it run in a ``pytest`` subprocess, and
the file is put back byte for byte, whatever happens (a test error, a timeout, Ctrl-C). A
mutation is *caught* when its tests fail, *missed* when they pass, *stale* when its anchor text
no longer occurs exactly once in its file (or a test file it names is gone): update the table
after a refactor. The exit status is 1 when any mutation was missed, stale or could not be run.

It refuses to start while a file it mutates has uncommitted changes, so that
``git checkout -- FILE`` always restores a file left mutated by a killed run.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

REPO = Path(__file__).resolve().parents[1]
PACKAGE = Path("src/nornir_runbook")
TIMEOUT_S = 900.0  # per mutation; above pytest's own per-test limit, so a hang shows as failed


@dataclass(frozen=True, slots=True, kw_only=True)
class Mutation:
    name: str
    file: str  # under src/nornir_runbook/
    find: str  # must occur exactly once in the file
    replace: str
    tests: tuple[str, ...]  # pytest node ids or test files, relative to the top of the clone
    bug: str  # the user-visible bug it simulates

    @property
    def path(self) -> Path:
        return PACKAGE / self.file

    def test_files(self) -> list[Path]:
        return [Path(t.split("::")[0]) for t in self.tests]


MUTATIONS: tuple[Mutation, ...] = (
    Mutation(
        name="serial-percent-ignored",
        file="runbook/model.py",
        find="return max(1, int(total * self.percent / 100))",
        replace="return total",
        tests=("tests/cli/test_cli_rolling.py",),
        bug="--serial 25% runs every host in one batch",
    ),
    Mutation(
        name="runner-limits-dropped",
        file="runner/futures.py",
        find=(
            "        self.connect_limit = options.connect_limit\n"
            "        self.group_limits = dict(options.group_limits)\n"
        ),
        replace="        self.connect_limit = None\n        self.group_limits = {}\n",
        tests=("tests/cli/test_cli_runner_options.py::test_a_limit_of_one_keeps_hosts_apart",),
        bug="connect_limit and group_limits from config.yaml or the runbook never reach the runner",
    ),
    Mutation(
        name="free-retry-restarts",
        file="run/free.py",
        find="for call in calls[len(done) :]:",
        replace="for call in calls:",
        tests=("tests/cli/test_cli_retries.py",),
        bug="strategy free: a retried connection runs the host's steps again from the first",
    ),
    Mutation(
        name="dask-end-run-keeps-queue",
        file="runner/executors.py",
        find=(
            "        left = list(self._running)\n"
            "        if left:\n"
            "            self.client.cancel(left)\n"
        ),
        replace="        return\n",
        tests=(
            "tests/integration/test_executors.py"
            "::test_ctrl_c_cancels_the_work_queued_on_the_cluster",
        ),
        bug="Ctrl-C leaves the hosts queued on a dask cluster to run on the devices anyway",
    ),
    Mutation(
        name="dead-process-fails-queue",
        file="runner/executors.py",
        find="                and not was_running\n",
        replace="                and False\n",
        tests=(
            "tests/integration/test_executors.py"
            "::test_a_dead_worker_process_fails_its_host_only_and_is_replaced",
        ),
        bug="a worker process that dies fails every host queued behind it, not only its own",
    ),
    Mutation(
        name="redaction-off",
        file="redact.py",
        find="    def scrub(self, text: str) -> str:\n",
        replace="    def scrub(self, text: str) -> str:\n        return text\n",
        tests=("tests/cli/test_cli_secrets.py",),
        bug="passwords show in outputs, errors, logs and reports",
    ),
    Mutation(
        name="ignore-errors-ignored",
        file="run/linear.py",
        find="if step.status in BAD and not planned.step.ignore_errors:",
        replace="if step.status in BAD:",
        tests=("tests/cli/test_cli_output.py::test_json_document",),
        bug="strategy linear: a failing step with ignore_errors: true stops its host",
    ),
    Mutation(
        name="control-chars-raw",
        file="text.py",
        find="return _CONTROL.sub(_escape, text)",
        replace="return text",
        tests=("tests/unit/test_display.py", "tests/cli/test_cli_text_output.py"),
        bug="escape sequences in device output reach the terminal unescaped",
    ),
    Mutation(
        name="unreachable-exits-2",
        file="report/results.py",
        find="    if Status.UNREACHABLE in seen:\n        return ExitCode.UNREACHABLE\n",
        replace="    if Status.UNREACHABLE in seen:\n        return ExitCode.FAILED\n",
        tests=("tests/cli/test_cli_exit_codes.py::test_unreachable_exits_4_and_wins_over_failed",),
        bug="a run with unreachable hosts exits 2 (failed) instead of 4",
    ),
    Mutation(
        name="limit-exclusion-ignored",
        file="project/patterns.py",
        find="selected -= _match_term(index, term, pattern)",
        replace="selected |= set()",
        tests=("tests/unit/test_selection.py",),
        bug="--limit 'core:!core1' still runs on core1",
    ),
    Mutation(
        name="task-timeout-never-fires",
        file="runner/futures.py",
        find="if job.started is not None and now - job.started > timeout:",
        replace="if False:",
        tests=(
            "tests/unit/test_runner.py"
            "::test_task_timeout_fails_the_blocked_host_and_the_run_goes_on",
        ),
        bug="a host stuck past task_timeout holds the run forever",
    ),
)


@dataclass(frozen=True, slots=True)
class Outcome:
    result: str  # caught, missed, stale: ..., error: ...
    seconds: float
    detail: str = ""  # the first failing test, or the end of pytest's output

    @property
    def ok(self) -> bool:
        return self.result == "caught"


class Terminated(Exception):
    """SIGTERM, turned into an exception so that the file is restored on the way out."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def git(*args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=REPO, capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout


def dirty(paths: list[Path]) -> list[str]:
    """The given files that differ from the last commit (staged or not), or are untracked."""
    out = git("status", "--porcelain", "--", *(str(p) for p in paths))
    return [line[3:] for line in out.splitlines() if line.strip()]


def anchor_problem(m: Mutation) -> str | None:
    """Why ``m`` cannot be applied as written, or None."""
    path = REPO / m.path
    if not path.is_file():
        return f"stale: {m.path} not found"
    count = path.read_text(encoding="utf-8").count(m.find)
    if count != 1:
        return f"stale: anchor not found ({count} matches in {m.path})"
    missing = [str(f) for f in m.test_files() if not (REPO / f).is_file()]
    if missing:
        return f"stale: test file not found: {', '.join(missing)}"
    return None


def run_tests(tests: tuple[str, ...], timeout: float) -> tuple[int | None, str]:
    """pytest's exit code (None on timeout) and its output, in a process group of its own so
    that a timeout or Ctrl-C ends the lab and ``nrb`` processes it started too."""
    # in one process (-n 0): with xdist workers, -x ends a failing run with exit 2, not 1
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", "-x", *tests]
    with tempfile.TemporaryDirectory(prefix="nrb-mutation-pyc-") as pyc:
        # a fresh bytecode cache: never a .pyc of the original file for the mutated one (their
        # sizes and mtime seconds may match), never a mutated .pyc left behind
        env = {**os.environ, "PYTHONPYCACHEPREFIX": pyc}
        proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out, _ = proc.communicate()
            return None, out
        except BaseException:
            _kill_group(proc)
            proc.communicate()
            raise
        return proc.returncode, out


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def first_failure(output: str) -> str:
    for line in output.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            return line.split(" - ")[0]
    tail = [line for line in output.splitlines() if line.strip()]
    return tail[-1] if tail else ""


def apply_and_test(m: Mutation, timeout: float) -> Outcome:
    t0 = time.monotonic()
    problem = anchor_problem(m)
    if problem is not None:
        return Outcome(problem, 0.0)
    path = REPO / m.path
    original = path.read_bytes()
    mutated = original.decode("utf-8").replace(m.find, m.replace, 1).encode("utf-8")
    try:
        path.write_bytes(mutated)
        code, output = run_tests(m.tests, timeout)
    finally:
        path.write_bytes(original)
        if path.read_bytes() != original:
            sys.exit(f"{m.path} could not be restored: run `git checkout -- {m.path}`")
    seconds = time.monotonic() - t0
    if code is None:
        return Outcome(f"error: timed out after {timeout:.0f} s", seconds, first_failure(output))
    if code == 1:
        return Outcome("caught", seconds, first_failure(output))
    if code == 0:
        return Outcome("missed", seconds)
    return Outcome(f"error: pytest exit {code}", seconds, first_failure(output))


def table(rows: list[tuple[Mutation, Outcome]]) -> str:
    head = ("mutation", "tests run", "result", "seconds")
    lines = [(m.name, " ".join(m.tests), o.result, f"{o.seconds:.1f}") for m, o in rows]
    widths = [max(len(r[i]) for r in [head, *lines]) for i in range(3)]

    def fmt(r: tuple[str, str, str, str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(r[:3], widths, strict=True)) + "  " + r[3]

    return "\n".join([fmt(head), *(fmt(r) for r in lines)])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Plant deliberate bugs one at a time and check the tests catch each."
    )
    parser.add_argument(
        "--only", action="append", metavar="NAME", help="run this mutation only (repeatable)"
    )
    parser.add_argument("--list", action="store_true", help="show the mutations and exit")
    parser.add_argument(
        "--timeout",
        type=float,
        default=TIMEOUT_S,
        metavar="SECONDS",
        help=f"limit per mutation's pytest run (default {TIMEOUT_S:.0f})",
    )
    args = parser.parse_args(argv)
    known = {m.name for m in MUTATIONS}
    unknown = [n for n in args.only or [] if n not in known]
    if unknown:
        parser.error(f"unknown mutation {unknown[0]!r} (choose from: {', '.join(sorted(known))})")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    chosen = [m for m in MUTATIONS if not args.only or m.name in args.only]
    if args.list:
        for m in chosen:
            print(f"{m.name}: {m.bug}\n    {m.path}\n    tests: {' '.join(m.tests)}")
        return 0
    files = sorted({m.path for m in chosen})
    try:
        changed = dirty(files)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"cannot ask git about {', '.join(map(str, files))}: {exc}", file=sys.stderr)
        return 2
    if changed:
        print(
            f"refusing to mutate files with uncommitted changes: {', '.join(changed)}\n"
            "commit or stash them first, so that `git checkout -- FILE` can always restore "
            "a file this script leaves mutated (if it is killed)",
            file=sys.stderr,
        )
        return 2
    signal.signal(signal.SIGTERM, _on_sigterm)
    rows: list[tuple[Mutation, Outcome]] = []
    try:
        for m in chosen:
            print(f"{m.name}: {m.bug} ...", file=sys.stderr, flush=True)
            outcome = apply_and_test(m, args.timeout)
            detail = f" ({outcome.detail})" if outcome.detail else ""
            print(f"  {outcome.result}{detail}", file=sys.stderr, flush=True)
            rows.append((m, outcome))
    except (KeyboardInterrupt, Terminated):
        print("interrupted; every mutated file was restored", file=sys.stderr)
        if rows:
            print(table(rows))
        return 130
    print(table(rows))
    return 0 if all(o.ok for _, o in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
