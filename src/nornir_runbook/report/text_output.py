"""``-o text``: Ansible-like lines as hosts complete, step outputs with ``-v``, then a recap."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.text import Text

from nornir_runbook.redact import Redactor
from nornir_runbook.report.difflines import DIFF_STYLES, diff_lines
from nornir_runbook.report.gather import PLACEHOLDER, Gathered, collapse, hosts_label
from nornir_runbook.report.progress import BAD, ProgressLine, progress_text
from nornir_runbook.report.results import (
    BatchStarted,
    Event,
    HostReport,
    RunReport,
    RunStarted,
    Status,
    StepDone,
    StepResult,
    StepStarted,
)
from nornir_runbook.text import plural, printable

CHANGED = "yellow"
STYLES = {
    Status.OK: "green",
    Status.FAILED: "red",
    Status.UNREACHABLE: "bold red",
    Status.SKIPPED: "cyan",
}
BATCH_NAMES = 6  # a BATCH banner names at most this many hosts
RECAP_STYLES = {
    "ok": "green",
    "changed": CHANGED,
    "failed": "red",
    "unreachable": "bold red",
    "skipped": "cyan",
    "ignored": "cyan",
}


# --- helpers ---------------------------------------------------------------------------------


def format_duration(seconds: float) -> str:
    if seconds < 60:  # noqa: PLR2004
        return f"{seconds:.2f}s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


def fatal_step(host: HostReport) -> StepResult | None:
    """The step that stopped a failed or unreachable host (earlier failures were ignored)."""
    if host.status not in BAD:
        return None
    return next((s for s in reversed(host.steps) if s.status in BAD), None)


def recap_counts(host: HostReport) -> dict[str, int]:
    """A host's PLAY RECAP columns: its steps counted by outcome, Ansible style.

    ``ok`` steps that succeeded (changed ones too); ``changed`` steps that changed something;
    ``failed`` / ``unreachable`` 1 for the failure that stopped the host (even when it came before
    any step); ``skipped`` skipped steps; ``ignored`` failures let through by ``ignore_errors``.
    """
    counts = dict.fromkeys(RECAP_STYLES, 0)
    fatal = fatal_step(host)
    for step in host.steps:
        if step.status is Status.OK:
            counts["ok"] += 1
        elif step.status is Status.SKIPPED:
            counts["skipped"] += 1
        elif step is not fatal:
            counts["ignored"] += 1
        counts["changed"] += step.changed
    if host.status in BAD:
        counts[host.status.value] = 1
    return counts


def step_positions(names: Sequence[str], steps: Sequence[StepResult]) -> list[int]:
    """Where each of a host's steps sits in the runbook (``targets`` may leave some out)."""
    positions: list[int] = []
    start = 0
    for step in steps:
        try:
            position = names.index(step.name, start)
        except ValueError:
            position = len(names) + len(positions)
        positions.append(position)
        start = position + 1
    return positions


def batch_title(event: BatchStarted) -> str:
    """``BATCH 2/4 [r3, r4]``; a batch of many hosts by its count, first and last."""
    hosts = event.hosts
    names = ", ".join(hosts)
    if len(hosts) > BATCH_NAMES:
        names = f"{len(hosts)} hosts: {hosts[0]} ... {hosts[-1]}"
    return f"BATCH {event.number}/{event.count} [{names}]"


def abort_message(report: RunReport) -> str | None:
    """What stopped the run, when max_fail_percentage did: where, and what did not run."""
    if report.abort is None:
        return None
    skipped = [h for h in report.hosts if h.status is Status.SKIPPED]
    not_run = sum(1 for h in skipped if all(s.status is Status.SKIPPED for s in h.steps))
    where = f" in batch {report.abort.batch}/{report.abort.batches}"
    text = f"max_fail_percentage {report.abort.max_fail_percentage:g} reached{where}: "
    text += f"{plural(not_run, 'host')} not run"
    if part_way := len(skipped) - not_run:
        text += f", {part_way} stopped before {'its' if part_way == 1 else 'their'} last step"
    return text


# --- the output ------------------------------------------------------------------------------


class TextOutput:
    """``-o text``: Ansible-like lines as hosts complete, step outputs with ``-v``, then a recap.

    Under ``linear`` a line per host per step, under a ``STEP`` banner; under ``free`` a line per
    host. With ``-v`` each step's outputs come at the end of the step, hosts with identical output
    collapsed (under ``free``, all at the end), and errors in full; ``-vv`` adds durations.
    """

    def __init__(
        self, console: Console, *, redactor: Redactor, verbose: int = 0, live: bool = False
    ) -> None:
        self._console = console
        self._redactor = redactor
        self._verbose = verbose
        self._want_live = live
        self._live: ProgressLine | None = None  # started by the first event, stopped by finish
        self._run = RunStarted(runbook="", run_id="", hosts=(), steps=())
        self._rank: dict[str, int] = {}  # the run's hosts -> their place in inventory order
        self._step: StepStarted | None = None
        self._step_done: set[str] = set()
        self._done: set[str] = set()
        self._bad: set[str] = set()
        self._shown: set[str] = set()  # hosts that have had an outcome line
        self._failed_lines: set[tuple[str, str]] = set()  # linear: (host, step) shown failing
        self._pending: dict[tuple[int, str], dict[str, StepResult]] = {}  # -v outputs to show

    def on_event(self, event: Event) -> None:
        if self._want_live and self._live is None:
            self._live = ProgressLine(self._console)
        if isinstance(event, RunStarted):
            self._run = event
            self._rank = {name: i for i, name in enumerate(event.hosts)}
            if event.dry_run:
                self._banner("DRY RUN: commands are rendered, nothing is sent to any device")
            self._banner(
                f"RUNBOOK [{event.runbook}] {plural(len(event.hosts), 'host')}, "
                f"{plural(len(event.steps), 'step')}"
            )
        elif isinstance(event, BatchStarted):
            self._flush_outputs()  # the previous batch's outputs stay with it
            self._banner(batch_title(event))
        elif isinstance(event, StepStarted):
            self._flush_outputs(upto=event.index)
            self._step, self._step_done = event, set()
            self._banner(self._step_title(event.index, event.name))
        elif isinstance(event, StepDone):
            self._step_done.add(event.host)
            self._keep(event.index, event.host, event.result)
            self._step_line(event.host, event.result)
        else:
            self._host_done(event.report)
        self._show_progress()

    def finish(self, report: RunReport) -> None:
        if self._live is not None:
            self._live.stop()
            self._want_live, self._live = False, None
        late = [host for host in report.hosts if host.name not in self._shown]
        if self._step is not None:  # linear: the last step's outputs, then hosts that ran none
            self._flush_outputs()
            if late:
                self._banner("OTHER HOSTS")
        for host in late:
            self._host_done(host, final=True)
        self._flush_outputs()
        self._recap(report)

    def _step_title(self, index: int, name: str) -> str:
        return f"STEP {index + 1}/{max(len(self._run.steps), index + 1)} [{name}]"

    def _host_done(self, host: HostReport, *, final: bool = False) -> None:
        self._done.add(host.name)
        if host.status in BAD:
            self._bad.add(host.name)
        fatal = fatal_step(host)
        if self._step is not None and fatal and (host.name, fatal.name) not in self._failed_lines:
            # linear: a failure no step line showed (an interrupt cut the host short)
            error = f"{fatal.name}: {fatal.error}" if fatal.error else None
            self._outcome(host.name, host.status, host.changed, error, host.duration_s)
            return
        if host.name in self._shown or (self._step is not None and not final):
            return  # linear: its step lines said it all, or it ran no step: shown by finish()
        positions = step_positions(self._run.steps, host.steps)
        for position, step in zip(positions, host.steps, strict=True):
            self._keep(position, host.name, step)
        error = f"{fatal.name}: {fatal.error}" if fatal is not None and fatal.error else None
        self._outcome(host.name, host.status, host.changed, error, host.duration_s)
        for step in host.steps:
            self._checks(step, f"{step.name}: ")
            self._diff(step, f"{step.name}: ")

    def _checks(self, step: StepResult, prefix: str = "") -> None:
        """With ``-v``, each check of the step: ``ok: <expression>`` or ``failed: <expression>
        (saw ...)``."""
        if self._verbose < 1:
            return
        for check in step.checks:
            label, style = (
                ("ok", STYLES[Status.OK]) if check.ok else ("failed", STYLES[Status.FAILED])
            )
            detail = f" ({check.detail})" if check.detail else ""
            line = f"    {prefix}assert {label}: {check.that}{detail}"
            self._print(Text(self._scrub(line), style=style))

    def _keep(self, index: int, host: str, step: StepResult) -> None:
        if self._verbose >= 1:
            self._pending.setdefault((index, step.name), {})[host] = step

    def _step_line(self, host: str, step: StepResult) -> None:
        if step.status in BAD:
            self._bad.add(host)
            self._failed_lines.add((host, step.name))
        self._outcome(host, step.status, step.changed, step.error, step.duration_s)
        self._checks(step)
        self._diff(step)

    def _diff(self, step: StepResult, prefix: str = "") -> None:
        """``--diff``: the step's diff of the running configuration, under its host's line,
        ``+`` lines green, ``-`` red, ``@@`` cyan (on a terminal)."""
        if not step.diff:
            return
        if prefix:
            self._print(Text(f"    {self._scrub(prefix)}diff:", style="dim"))
        text = Text()
        for number, (kind, line) in enumerate(diff_lines(self._scrub(step.diff))):
            if number:
                text.append("\n")
            text.append(f"    {line}", style=DIFF_STYLES[kind])
        self._print(text)

    def _show_progress(self) -> None:
        if self._live is None:
            return
        text = progress_text(
            self._run, self._step, len(self._step_done), len(self._done), len(self._bad)
        )
        self._live.show(self._scrub(text))

    # printing

    def _scrub(self, text: str) -> str:
        """Secrets masked, control characters escaped: for every string shown."""
        return printable(self._redactor.scrub(text))

    def _print(self, text: Text) -> None:
        self._console.print(text, soft_wrap=True, highlight=False)

    def _banner(self, title: str) -> None:
        title = self._scrub(title)
        stars = "*" * max(3, self._console.width - len(title) - 1)
        self._print(Text())
        self._print(Text(f"{title} {stars}"))

    def _outcome(
        self, host: str, status: Status, changed: bool, error: str | None, duration: float
    ) -> None:
        """``ok: [r1]``, ``changed: [r1]``, ``failed: [r2] <first line of the error>``..."""
        self._shown.add(host)
        label, style = (
            ("changed", CHANGED)
            if status is Status.OK and changed
            else (status.value, STYLES[status])
        )
        line = Text(f"{label}: [{self._scrub(host)}]", style=style)
        if self._verbose >= 2:  # noqa: PLR2004
            line.append(f" ({format_duration(duration)})")
        # a failure says why; so does a step skipped for a reason (--check)
        shown = status in BAD or status is Status.SKIPPED
        lines = self._scrub(error or "").strip().splitlines() if shown else []
        if lines:
            line.append(f" {lines[0]}", style=style)
        self._print(line)
        if self._verbose >= 1 and len(lines) > 1:
            self._print(Text("\n".join(f"    {extra}" for extra in lines[1:]), style=style))

    def _flush_outputs(self, upto: int | None = None) -> None:
        keys = sorted(k for k in self._pending if upto is None or k[0] < upto)
        for index, name in keys:
            results = self._pending.pop((index, name))
            groups = collapse(results, self._rank, self._redactor.scrub)
            if not groups:
                continue
            if self._step is None:  # free strategy: no STEP banner came before the outputs
                self._banner(self._step_title(index, name))
            for label, outputs in groups:
                self._print_outputs(label, outputs)

    def _print_outputs(self, label: str, outputs: list[Gathered]) -> None:
        """A command's outputs, gathered, with how many distinct outputs there were."""
        indent = "    " if label else "  "
        hosts = sum(len(gathered.hosts) for gathered in outputs)
        count = f"{plural(len(outputs), 'distinct output')} over {plural(hosts, 'host')}"
        if label or len(outputs) > 1:
            line = Text(f"  {self._scrub(label)}", style="bold") if label else Text("  ")
            if len(outputs) > 1:
                line.append(f" ({count})" if label else f"({count})", style="dim")
            self._print(line)
        for gathered in outputs:
            head = hosts_label(gathered.hosts)
            if gathered.own:
                names = ", ".join(gathered.hosts)
                head = f"{names} ({plural(len(gathered.hosts), 'host')}, {PLACEHOLDER} = its name):"
            self._print(Text(indent + self._scrub(head), style="dim"))
            self._print_lines(self._scrub(gathered.text).splitlines(), indent + "  ")
            if gathered.own:
                self._print(Text(f"{indent}lines with {PLACEHOLDER}, per host:", style="dim"))
                own = [f"{', '.join(names)}: {ln}" for names, lines in gathered.own for ln in lines]
                self._print_lines([self._scrub(line) for line in own], indent + "  ")

    def _print_lines(self, lines: list[str], indent: str) -> None:
        self._print(Text("\n".join(f"{indent}{line}" for line in lines or [""])))

    def _recap(self, report: RunReport) -> None:
        self._banner("RECAP")
        width = max((len(self._scrub(h.name)) for h in report.hosts), default=0)
        for host in report.hosts:
            self._print(self._recap_line(host, width))
        s = report.summary
        self._print(Text())
        self._print(
            Text(
                f"{plural(s.hosts, 'host')}: {s.ok} ok ({s.changed} changed), {s.failed} failed, "
                f"{s.unreachable} unreachable, {s.skipped} skipped "
                f"in {format_duration(report.duration_s)} (run {self._scrub(report.run_id)})",
                style="bold",
            )
        )
        if report.interrupted:
            self._print(
                Text(
                    "Interrupted: hosts cut short are failed at the step they had not finished, "
                    "hosts that had not started are skipped.",
                    style="red",
                )
            )
        aborted = abort_message(report)
        if aborted is not None:
            self._print(Text(f"Aborted: {self._scrub(aborted)}.", style="red"))
        if report.dry_run:
            self._print(
                Text("DRY RUN: no device was contacted, nothing was sent.", style="bold yellow")
            )

    def _recap_line(self, host: HostReport, width: int) -> Text:
        """``r1   : ok=3    changed=1    failed=0    unreachable=0    skipped=0    ignored=0``"""
        line = Text()
        line.append(self._scrub(host.name).ljust(width), style=STYLES[host.status])
        line.append(" :")
        for key, count in recap_counts(host).items():
            line.append(" ")
            line.append(f"{key}={count}".ljust(len(key) + 5), style=RECAP_STYLES[key] * bool(count))
        if host.status is Status.SKIPPED and not host.steps:
            line.append("(not run)", style="cyan")
        line.rstrip()
        return line
