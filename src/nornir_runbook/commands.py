"""What each ``nrb`` subcommand does, once its arguments are parsed."""

from __future__ import annotations

import argparse
import sys
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
from nornir_runbook.display import plural
from nornir_runbook.display import printable as escaped
from nornir_runbook.engine import Engine
from nornir_runbook.errors import (
    ConfigError,
    InputError,
    Problem,
    RunbookError,
    ShapeError,
    in_file_order,
)
from nornir_runbook.hostkeys import HostKeyChecking, fingerprint, lab_host_key, lab_key_file
from nornir_runbook.inventory_views import inventory_graph_text, inventory_list
from nornir_runbook.loader import load_runbook
from nornir_runbook.model import Runbook, Strategy, Targets
from nornir_runbook.plan import make_plan, settings_from
from nornir_runbook.project import Project, load_project
from nornir_runbook.redact import Redactor
from nornir_runbook.registry import default_registry
from nornir_runbook.render import Format, Tee, abort_message, make_output
from nornir_runbook.results import ExitCode
from nornir_runbook.save import SaveOutput, dump_json, prepare_save_dir
from nornir_runbook.selection import select_hosts, why_no_host


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
    """Load and check a runbook against the tasks and (when known) the inventory.

    Steps whose shape is fine are checked even when others are not: every problem at once.
    """
    shape: list[Problem] = []
    vars_known = True
    try:
        runbook = load_runbook(path)
    except ShapeError as exc:
        runbook, shape, vars_known = exc.partial, exc.problems, exc.vars_known
    registry = default_registry(project.directory if project else path.parent)
    inv = project.nr.inventory if project else None
    problems = check_runbook(
        runbook,
        registry,
        groups=list(inv.groups) if inv is not None else None,
        hosts=list(inv.hosts) if inv is not None else None,
        vars_known=vars_known,
    )
    if shape or problems:
        raise RunbookError(in_file_order([*shape, *problems]))
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
            out.file.write(f"{escaped(name)}\n")
        if not hosts:
            _no_host(err, nr.inventory, runbook.targets, args)
        return ExitCode.OK if hosts else ExitCode.NO_HOSTS
    if args.list_steps:
        for i, step in enumerate(runbook.steps, 1):
            out.file.write(f"{i}. {escaped(step.name)} ({step.kind.value})\n")
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
    output = make_output(fmt, out, verbose=verbose, redactor=redactor, progress=err)
    saver = None
    if args.save is not None:
        prepare_save_dir(args.save)
        saver = SaveOutput(args.save, redactor=redactor)
        output = Tee(output, saver)  # the chosen format first: a failed save never hides it
    if not hosts:
        _no_host(err, nr.inventory, runbook.targets, args)
    with lab_context(args.lab and not args.dry_run, nr, hosts, err) as lab:
        if lab is not None and settings.host_keys.mode != "off":
            # the lab's devices are checked against the lab's key alone: a lab run never reads
            # nor writes the user's known_hosts
            settings = settings.merged(host_keys=HostKeyChecking("strict", str(lab.known_hosts())))
        report = Engine(nr, settings, redactor).run(plan, hold_signals(output.on_event))
    output.finish(report)
    aborted = abort_message(report)
    if aborted is not None:
        err.print(redactor.scrub(f"nrb: {aborted}"), markup=False, highlight=False)
    code = report.exit_code()
    if code == ExitCode.INTERRUPTED:
        code = interrupted_code()
    if saver is not None and not _saved(saver, redactor, err):
        # the run's own code says more about the devices; a clean run still must not look saved
        return code or ExitCode.INVALID_INPUT
    return code


def _no_host(err: Console, inventory: Any, targets: Targets | None, args: Any) -> None:
    """Say which part of the selection left no host (exit 3 follows)."""
    message = why_no_host(
        inventory,
        targets=targets,
        limit=args.limit,
        tags=args.tags,
        skip_tags=args.skip_tags,
        filters=args.filters,
    )
    err.print(message, markup=False, highlight=False)


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
            runbook = _load_checked(path, project)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        out.file.write(f"ok: {printable(path)}\n")
        for module, where in _local_modules(runbook):  # runbooks are code: say which
            out.file.write(f"  imports module {module} from {printable(Path(where))}\n")
    if problems:
        raise RunbookError(problems)
    return ExitCode.OK


def _local_modules(runbook: Runbook) -> list[tuple[str, str]]:
    """``(module, its file)`` of each ``module:function`` task, once each, in step order.

    Checking the runbook imported them; their code runs on ``nrb validate`` as on ``nrb run``.
    """
    found: dict[str, str] = {}
    for step in runbook.steps:
        module = (step.task or "").partition(":")[0] if ":" in (step.task or "") else ""
        if module and module not in found:
            loaded = sys.modules.get(module)
            found[module] = str(getattr(loaded, "__file__", None) or "(no file)")
    return list(found.items())


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError as exc:  # a name too long for the file system, say
        problem = Problem(message=f"cannot read: {exc.strerror}", file=printable(path))
        raise ConfigError(problem) from None


def printable(path: Path) -> str:
    """A path as text that any stdout can take (a file name need not be UTF-8, nor printable)."""
    return escaped(str(path).encode("utf-8", "backslashreplace").decode("utf-8"))


def cmd_inventory(args: argparse.Namespace, out: Console, err: Console, redactor: Redactor) -> int:
    project = _project(args, redactor)
    inv = project.nr.inventory
    hosts = select_hosts(
        inv, limit=args.limit, tags=args.tags, skip_tags=args.skip_tags, filters=args.filters
    )
    if not hosts:
        _no_host(err, inv, None, args)
    if args.list:
        out.file.write(dump_json(redactor.scrub_data(inventory_list(inv, hosts))) + "\n")
    else:
        out.file.write(escaped(inventory_graph_text(inv, hosts)) + "\n")
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
    infos = registry.infos()
    table = Table(box=None, pad_edge=False)
    # names and origins whole (they are what one types), the signature wraps in what is left
    table.add_column("task", no_wrap=True, min_width=max((len(i.name) for i in infos), default=4))
    table.add_column("signature", overflow="fold")
    table.add_column("from", no_wrap=True, min_width=max((len(i.origin) for i in infos), default=4))
    for info in infos:
        table.add_row(Text(info.name), Text(info.signature), Text(info.origin))  # no markup
    out.print(table)
    return ExitCode.OK


def cmd_lab(args: argparse.Namespace, out: Console, err: Console, redactor: Redactor) -> int:
    from nornir_runbook.lab import Lab, devices_from_nornir  # noqa: PLC0415

    project = _project(args, redactor)
    devices = devices_from_nornir(project.nr)
    lab = Lab(devices, processes=args.processes)
    lab.start()  # every device listens before the line that says so
    ports = ", ".join(f"{d.name}={d.address}:{d.port}" for d in devices)
    try:
        err.print(f"lab: host key {fingerprint(lab_host_key())} ({lab_key_file()})", markup=False)
        err.print(f"lab: {plural(len(devices), 'device')} ({ports}); Ctrl-C to stop", markup=False)
        lab.serve_forever()
    finally:
        lab.stop()
    return ExitCode.OK
