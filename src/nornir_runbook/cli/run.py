"""``nrb run``: select hosts, plan, run through the engine, render and save the report."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from nornir_runbook.cli.common import lab_context, load_checked, load_project_for, no_host
from nornir_runbook.cli.extravars import read_extra_vars
from nornir_runbook.cli.signals import hold_signals, interrupted_code
from nornir_runbook.errors import ExitCode, UsageError
from nornir_runbook.project.config import Project
from nornir_runbook.project.selection import select_hosts
from nornir_runbook.redact import Redactor
from nornir_runbook.report.render import Format, Tee, make_output
from nornir_runbook.report.save import SaveOutput, new_run_id, prepare_save_dir
from nornir_runbook.report.text_output import abort_message
from nornir_runbook.run.audit import AuditLog, open_log_file, prepare_session_logs, record_sessions
from nornir_runbook.run.engine import Engine
from nornir_runbook.run.plan import Plan, make_plan, settings_from
from nornir_runbook.runbook.model import Serial, Strategy
from nornir_runbook.runbook.registry import default_registry
from nornir_runbook.runner.options import HostKeyChecking
from nornir_runbook.text import printable as escaped


def cmd_run(args: argparse.Namespace, out: Console, err: Console, redactor: Redactor) -> int:
    serial = _serial(args.serial)
    extra_vars = read_extra_vars(args.extra_vars)
    project = load_project_for(args, redactor)
    registry = default_registry(project.directory)  # one for the checks and the plan
    runbook = load_checked(args.runbook, project, extra_vars, registry)
    nr = project.nr
    hosts = select_hosts(
        nr.inventory,
        targets=runbook.targets,
        limit=args.limit,
        tags=args.tags,
        skip_tags=args.skip_tags,
        filters=args.filters,
    )
    if args.list_hosts:
        for name in hosts:
            out.file.write(f"{escaped(name)}\n")
        if not hosts:
            no_host(err, nr.inventory, runbook.targets, args)
        return ExitCode.OK if hosts else ExitCode.NO_HOSTS
    if args.list_steps:
        for i, step in enumerate(runbook.steps, 1):
            out.file.write(f"{i}. {escaped(step.name)} ({step.kind.value})\n")
        return ExitCode.OK
    plan = make_plan(nr, runbook, hosts, registry, project.directory, check_mode=args.check)
    settings = settings_from(project.runner_options, runbook).merged(
        workers=args.workers,
        strategy=Strategy(args.strategy) if args.strategy else None,
        executor=args.executor,
        dask_address=args.dask_address,
        keep_sessions=args.keep_sessions,
        task_timeout=args.task_timeout,
        retries=args.retries,
        max_fail_percentage=args.max_fail_percentage,
        serial=serial,
        dry_run=args.dry_run or None,
        check=args.check or None,
        diff=args.diff or None,
        host_keys=HostKeyChecking(
            args.host_key_checking or project.host_keys.mode, project.host_keys.known_hosts
        ),
    )
    fmt: Format = args.output or ("text" if out.is_terminal else "json")
    # a dry run is for reading what would be sent: text shows it without asking for -v
    verbose = max(args.verbose, 1) if args.dry_run else args.verbose
    output = make_output(fmt, out, verbose=verbose, redactor=redactor, progress=err)
    saver = None
    if args.save is not None:
        prepare_save_dir(args.save)
        saver = SaveOutput(args.save, redactor=redactor)
        output = Tee(output, saver)  # the chosen format first: a failed save never hides it
    audit, sessions = _recorders(args, project, plan, redactor)  # before any connection
    output = Tee(output, audit) if audit is not None else output
    if not hosts:
        no_host(err, nr.inventory, runbook.targets, args)
    with lab_context(args.lab and not args.dry_run, nr, hosts, err) as lab:
        if lab is not None and settings.runner.host_key_checking.mode != "off":
            # the lab's devices are checked against the lab's key alone: a lab run never reads
            # nor writes the user's known_hosts
            settings = settings.merged(host_keys=HostKeyChecking("strict", str(lab.known_hosts())))
        run_id = new_run_id(datetime.now(UTC))
        record_sessions(nr, sessions, redactor, run_id=run_id, runbook=runbook.name)
        report = Engine(nr, settings, redactor).run(plan, hold_signals(output.on_event), run_id)
    output.finish(report)
    aborted = abort_message(report)
    if aborted is not None:
        err.print(redactor.scrub(f"nrb: {aborted}"), markup=False, highlight=False)
    code = report.exit_code()
    if code == ExitCode.INTERRUPTED:
        code = interrupted_code()
    saved = saver is None or _saved(saver, redactor, err)
    logged = audit is None or _logged(audit, redactor, err)
    if not (saved and logged):
        # the run's own code says more about the devices; a clean run still must not look
        # saved, nor its audit trail whole
        return code or ExitCode.INVALID_INPUT
    return code


def _recorders(
    args: argparse.Namespace, project: Project, plan: Plan, redactor: Redactor
) -> tuple[AuditLog | None, dict[str, Path]]:
    """The audit trail (``--log-file``) and the hosts' session log files (``--session-log``),
    the command line's over config.yaml's, each proven writable (else exit 5)."""
    audit = None
    log_file = args.log_file or project.log_file
    if log_file is not None:
        fd = open_log_file(log_file)
        check = bool(getattr(args, "check", False))  # --check, where the command line has it
        audit = AuditLog(
            fd,
            log_file,
            nr=project.nr,
            plan=plan,
            redactor=redactor,
            check=check,
            runbook_file=args.runbook,
        )
    folder = args.session_log or project.session_log
    sessions = prepare_session_logs(folder, plan.hosts, redactor) if folder else {}
    return audit, sessions


def _logged(audit: AuditLog, redactor: Redactor, err: Console) -> bool:
    """Whether every audit record was written; if not, say how many were lost and why."""
    if audit.error is None:
        return True
    reason = audit.error.strerror or str(audit.error)
    lost = f"{audit.lost} record{'s' * (audit.lost != 1)}"
    message = f"nrb: --log-file {audit.path}: {lost} could not be written: {reason}"
    err.print(redactor.scrub(message), markup=False, highlight=False)
    return False


def _saved(saver: SaveOutput, redactor: Redactor, err: Console) -> bool:
    """Say where the report went, or why it could not be written there."""
    if saver.error is None:
        err.print(f"saved: {saver.saved_to}", markup=False, highlight=False)
        return True
    reason = saver.error.strerror or str(saver.error)
    err.print(
        redactor.scrub(
            f"nrb: --save {saver.directory}: cannot write the report: {reason} "
            "(the results above are complete)"
        ),
        markup=False,
        highlight=False,
    )
    return False


def _serial(text: str | None) -> Serial | None:
    """``--serial``'s value, read as a runbook's ``serial``."""
    if text is None:
        return None
    try:
        return Serial.parse(text)
    except ValueError as exc:
        shown = text if len(text) <= 40 else text[:40] + "..."  # noqa: PLR2004
        raise UsageError(f"--serial: {exc}, not {shown!r}") from None
