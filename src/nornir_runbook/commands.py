"""What each ``nrb`` subcommand does, once its arguments are parsed."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from nornir_runbook.checks import check_runbook
from nornir_runbook.cli import (
    collect_secrets,
    hold_signals,
    interrupted_code,
    lab_context,
    parse_serial,
)
from nornir_runbook.engine import Engine
from nornir_runbook.errors import ConfigError, InputError, Problem, RunbookError
from nornir_runbook.hostkeys import HostKeyChecking, fingerprint, lab_host_key, lab_key_file
from nornir_runbook.inventory_views import inventory_graph_text, inventory_list
from nornir_runbook.loader import load_runbook
from nornir_runbook.model import Runbook, Strategy
from nornir_runbook.plan import make_plan, settings_from
from nornir_runbook.project import Project, load_project
from nornir_runbook.redact import Redactor
from nornir_runbook.registry import default_registry
from nornir_runbook.render import Format, Tee, make_output
from nornir_runbook.results import ExitCode
from nornir_runbook.save import SaveOutput, dump_json, prepare_save_dir
from nornir_runbook.selection import select_hosts


def dispatch(args: argparse.Namespace, out: Console, err: Console, redactor: Redactor) -> int:
    handler = {
        "run": cmd_run,
        "validate": cmd_validate,
        "inventory": cmd_inventory,
        "tasks": cmd_tasks,
        "lab": cmd_lab,
    }[args.command]
    return handler(args, out, err, redactor)


def _project(args: argparse.Namespace, redactor: Redactor) -> Project:
    project = load_project(args.config, ask_pass=getattr(args, "ask_pass", False))
    collect_secrets(redactor, project.nr)
    return project


def _load_checked(path: Path, project: Project | None) -> Runbook:
    """Load and check a runbook against the tasks and (when known) the inventory."""
    runbook = load_runbook(path)
    registry = default_registry(project.directory if project else path.parent)
    inv = project.nr.inventory if project else None
    problems = check_runbook(
        runbook,
        registry,
        groups=list(inv.groups) if inv is not None else None,
        hosts=list(inv.hosts) if inv is not None else None,
    )
    if problems:
        raise RunbookError(problems)
    return runbook


def cmd_run(args: argparse.Namespace, out: Console, err: Console, redactor: Redactor) -> int:
    serial = parse_serial(args.serial)
    project = _project(args, redactor)
    runbook = _load_checked(args.runbook, project)
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
            out.file.write(f"{name}\n")
        if not hosts:
            err.print("no host matched the selection", markup=False)
        return ExitCode.OK if hosts else ExitCode.NO_HOSTS
    if args.list_steps:
        for i, step in enumerate(runbook.steps, 1):
            out.file.write(f"{i}. {step.name} ({step.kind.value})\n")
        return ExitCode.OK
    registry = default_registry(project.directory)
    plan = make_plan(nr, runbook, hosts, registry, project.directory)
    settings = settings_from(project.runner_options, runbook).merged(
        workers=args.workers,
        strategy=Strategy(args.strategy) if args.strategy else None,
        executor=args.executor,
        dask_address=args.dask_address,
        task_timeout=args.task_timeout,
        retries=args.retries,
        max_fail_percentage=args.max_fail_percentage,
        serial=serial,
        dry_run=args.dry_run or None,
        host_keys=HostKeyChecking(
            args.host_key_checking or project.host_keys.mode, project.host_keys.known_hosts
        ),
    )
    fmt: Format = args.output or ("text" if out.is_terminal else "json")
    # a dry run is for reading what would be sent: text shows it without asking for -v
    verbose = max(args.verbose, 1) if args.dry_run else args.verbose
    output = make_output(fmt, out, verbose=verbose, redactor=redactor)
    saver = None
    if args.save is not None:
        prepare_save_dir(args.save)
        saver = SaveOutput(args.save, redactor=redactor)
        output = Tee(output, saver)  # the chosen format first: a failed save never hides it
    if not hosts:
        err.print("no host matched the selection", markup=False)
    with lab_context(args.lab and not args.dry_run, nr, hosts, err) as lab:
        if lab is not None and settings.host_keys.mode != "off":
            # the lab's devices are checked against the lab's key alone: a lab run never reads
            # nor writes the user's known_hosts
            settings = settings.merged(host_keys=HostKeyChecking("strict", str(lab.known_hosts())))
        report = Engine(nr, settings, redactor).run(plan, hold_signals(output.on_event))
    output.finish(report)
    code = report.exit_code()
    if code == ExitCode.INTERRUPTED:
        code = interrupted_code()
    if saver is not None and not _saved(saver, redactor, err):
        # the run's own code says more about the devices; a clean run still must not look saved
        return code or ExitCode.INVALID_INPUT
    return code


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


def cmd_validate(args: argparse.Namespace, out: Console, err: Console, redactor: Redactor) -> int:
    project = _project(args, redactor) if _is_file(args.config) else None
    if project is None:
        err.print(
            f"note: no {args.config}: host and group names are not checked (use -c)",
            markup=False,
            highlight=False,
        )
    problems: list[Any] = []
    for path in args.runbooks:
        try:
            _load_checked(path, project)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        out.file.write(f"ok: {printable(path)}\n")
    if problems:
        raise RunbookError(problems)
    return ExitCode.OK


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError as exc:  # a name too long for the file system, say
        problem = Problem(message=f"cannot read: {exc.strerror}", file=printable(path))
        raise ConfigError(problem) from None


def printable(path: Path) -> str:
    """A path as text that any stdout can take (a file name need not be UTF-8)."""
    return str(path).encode("utf-8", "backslashreplace").decode("utf-8")


def cmd_inventory(args: argparse.Namespace, out: Console, err: Console, redactor: Redactor) -> int:
    project = _project(args, redactor)
    inv = project.nr.inventory
    hosts = select_hosts(
        inv, limit=args.limit, tags=args.tags, skip_tags=args.skip_tags, filters=args.filters
    )
    if args.list:
        out.file.write(dump_json(redactor.scrub_data(inventory_list(inv, hosts))) + "\n")
    else:
        out.file.write(inventory_graph_text(inv, hosts) + "\n")
    return ExitCode.OK if hosts else ExitCode.NO_HOSTS


def cmd_tasks(args: argparse.Namespace, out: Console, err: Console, redactor: Redactor) -> int:
    directory = args.config.resolve().parent
    registry = default_registry(directory)
    from rich.table import Table  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    if not out.is_terminal:  # for scripts: one task a line, tab-separated, never wrapped
        out.file.write("task\tsignature\tfrom\n")
        for info in registry.infos():
            out.file.write(f"{info.name}\t{info.signature}\t{info.origin}\n")
        return ExitCode.OK
    table = Table("task", "signature", "from", box=None, pad_edge=False)
    for info in registry.infos():
        table.add_row(Text(info.name), Text(info.signature), Text(info.origin))  # no markup
    out.print(table)
    return ExitCode.OK


def cmd_lab(args: argparse.Namespace, out: Console, err: Console, redactor: Redactor) -> int:
    from nornir_runbook.lab import Lab, devices_from_nornir  # noqa: PLC0415

    project = _project(args, redactor)
    devices = devices_from_nornir(project.nr)
    lab = Lab(devices, processes=args.processes)
    ports = ", ".join(f"{d.name}={d.address}:{d.port}" for d in devices)
    lab.start()  # listening before it says so
    try:
        err.print(f"lab: host key {fingerprint(lab_host_key())} ({lab_key_file()})", markup=False)
        err.print(f"lab: {len(devices)} devices ({ports}); Ctrl-C to stop", markup=False)
        lab.serve_forever()
    finally:
        lab.stop()
    return ExitCode.OK
