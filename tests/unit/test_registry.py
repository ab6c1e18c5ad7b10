"""The task registry: built-ins, library tasks, entry points, module:function, signatures."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from nornir.core.task import Result, Task

from nornir_runbook.runbook.registry import (
    TaskInfo,
    TaskRegistry,
    arg_problems,
    default_registry,
    format_signature,
)
from nornir_runbook.tasks import backup_config, echo, fail, send_commands


def set_ntp(task: Task, server: str, *, prefer: bool = False) -> Result:
    return Result(host=task.host, result=server)


def anything(task: Task, name: str, **kwargs: Any) -> Result:
    return Result(host=task.host, result=kwargs)


def no_task() -> None:
    return None


NETMIKO = {
    "netmiko_commit",
    "netmiko_file_transfer",
    "netmiko_multiline",
    "netmiko_save_config",
    "netmiko_send_command",
    "netmiko_send_config",
}
UTILS = {"echo_data", "write_file", "tcp_ping", "load_json", "load_yaml"}
BUILTINS = {"send_commands", "send_config", "backup_config", "echo", "fail"}


@pytest.fixture
def no_entry_points(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The entry points default_registry sees: none unless the test appends some."""
    found: list[Any] = []

    def entry_points(*, group: str) -> list[Any]:
        assert group == "nornir_runbook.tasks"
        return found

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    return found


def test_default_registry_has_builtins_netmiko_and_utils(no_entry_points: list[Any]) -> None:
    registry = default_registry()
    origins = {info.name: info.origin for info in registry.infos()}
    assert origins == (
        dict.fromkeys(BUILTINS, "builtin")
        | dict.fromkeys(NETMIKO, "nornir_netmiko")
        | dict.fromkeys(UTILS, "nornir_utils")
    )
    assert names(registry) == sorted(BUILTINS | NETMIKO | UTILS)
    assert registry.get("send_commands").fn is send_commands
    assert registry.problems == []


def test_nornir_utils_functions_are_never_imported() -> None:
    """nornir_utils.plugins.functions calls colorama.init(), which rewraps stdout."""
    code = (
        "import sys\n"
        "from nornir_runbook.runbook.registry import default_registry\n"
        "default_registry()\n"
        "print(sorted(m for m in sys.modules if m.startswith(('colorama', "
        "'nornir_utils.plugins.functions'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert out == "[]\n"


def test_signatures_leave_out_the_task_and_the_return() -> None:
    registry = default_registry()
    signatures = {info.name: info.signature for info in registry.infos()}
    assert signatures["send_commands"] == "(commands: list[str])"
    assert signatures["backup_config"] == "(path: str)"
    assert signatures["echo"] == "(**data: Any)"
    assert signatures["netmiko_send_command"] == (
        "(command_string: str, use_timing: bool = False, enable: bool = False, **kwargs: Any)"
    )
    assert (
        signatures["tcp_ping"] == "(ports: List[int], timeout: int = 2, host: Optional[str] = None)"
    )
    assert format_signature(set_ntp) == "(server: str, *, prefer: bool = False)"
    assert format_signature(no_task) == "()"


def test_get_unknown_suggests_a_close_name() -> None:
    registry = TaskRegistry()
    registry.register("show_clock", echo)
    with pytest.raises(LookupError) as info:
        registry.get("sho_clock")
    assert str(info.value) == "unknown task 'sho_clock' (did you mean 'show_clock'?)"
    with pytest.raises(LookupError) as info:
        registry.get("zzz")
    assert str(info.value) == "unknown task 'zzz'"


def test_register_is_idempotent_and_refuses_a_second_function() -> None:
    registry = TaskRegistry()
    first = registry.register("echo", echo, "builtin")
    assert registry.register("echo", echo, "other") is first
    assert first == TaskInfo(name="echo", fn=echo, origin="builtin")
    with pytest.raises(ValueError, match=r"^task 'echo' is already registered \(builtin\)$"):
        registry.register("echo", set_ntp)
    with pytest.raises(ValueError, match="invalid task name 'a b'"):
        registry.register("a b", echo)
    with pytest.raises(TypeError, match="task 'x' is not callable: 3"):
        registry.register("x", 3)  # type: ignore[arg-type]


def test_two_registries_are_independent() -> None:
    one, two = TaskRegistry(), TaskRegistry()
    one.register("echo", echo)
    assert names(one) == ["echo"]
    assert names(two) == []


# args ----------------------------------------------------------------------------------------


def names(registry: TaskRegistry) -> list[str]:
    return [info.name for info in registry.infos()]


def info_of(fn: Any, name: str = "t") -> TaskInfo:
    return TaskInfo(name=name, fn=fn, origin="test")


def check(info: TaskInfo, args: dict[str, Any]) -> str | None:
    """None when ``info``'s function takes ``args``, else what is wrong."""
    return "; ".join(message for _, message in arg_problems(info, args)) or None


def test_arg_problems() -> None:
    ntp = info_of(set_ntp, "set_ntp")
    assert check(ntp, {"server": "x"}) is None
    assert check(ntp, {"server": "x", "prefer": True}) is None
    assert check(ntp, {}) == "missing required argument 'server'"
    assert check(ntp, {"srever": "x"}) == "unexpected argument 'srever' (did you mean 'server'?)"
    assert check(ntp, {"server": "x", "vrf": "y"}) == (
        "unexpected argument 'vrf' (set_ntp takes: server, prefer)"
    )
    assert check(ntp, {"task": 1, "server": "x"}) == (
        "'task' is the Nornir task itself, not an argument"
    )
    assert check(info_of(backup_config), {}) == "missing required argument 'path'"
    assert check(info_of(echo), {"anything": 1, "at": "all"}) is None
    assert check(info_of(anything), {"other": 1}) == "missing required argument 'name'"
    assert check(info_of(no_task, "no_task"), {}) == (
        "task 'no_task' does not take the Nornir task as first argument"
    )


def test_arg_problems_name_the_argument() -> None:
    def two(task: Task, a: int, b: int) -> None: ...

    assert arg_problems(info_of(two, "two"), {"c": 1}) == [
        ("c", "unexpected argument 'c' (two takes: a, b)"),
        (None, "missing required arguments 'a', 'b'"),
    ]


def test_positional_only_parameters_fall_back_to_bind() -> None:
    def positional(task: Task, a: int, /) -> None: ...

    assert arg_problems(info_of(positional), {}) == [(None, "missing a required argument: 'a'")]


# module:function -----------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    package = tmp_path / "rb_registry_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "tasks.py").write_text(
        "NOT_CALLABLE = 3\ndef check_vlans(task, vlans):\n    return vlans\n"
    )
    (package / "broken.py").write_text("raise RuntimeError('boom at import')\n")
    return tmp_path


def test_resolve_module_function_from_the_project_folder(project: Path) -> None:
    registry = TaskRegistry(project_dir=project)
    info = registry.resolve("rb_registry_pkg.tasks:check_vlans")
    assert (info.name, info.origin, info.signature) == (
        "rb_registry_pkg.tasks:check_vlans",
        "module",
        "(vlans)",
    )
    assert registry.resolve("rb_registry_pkg.tasks:check_vlans") is info
    assert sys.path.count(str(project.resolve())) == 1
    TaskRegistry(project_dir=project).resolve("rb_registry_pkg.tasks:check_vlans")
    assert sys.path.count(str(project.resolve())) == 1


def test_resolve_plain_names_is_get() -> None:
    registry = TaskRegistry()
    registry.register("echo", echo)
    assert registry.resolve("echo").fn is echo
    with pytest.raises(LookupError, match="unknown task 'ech' \\(did you mean 'echo'\\?\\)"):
        registry.resolve("ech")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "rb_registry_pkg.tasks:check_vlan",
            "module 'rb_registry_pkg.tasks' has no function 'check_vlan' "
            "(did you mean 'rb_registry_pkg.tasks:check_vlans'?)",
        ),
        (
            "rb_registry_pkg.tasks:NOT_CALLABLE",
            "'rb_registry_pkg.tasks:NOT_CALLABLE' is not a function: int",
        ),
        (
            "rb_registry_pkg.broken:f",
            "cannot import module 'rb_registry_pkg.broken' from {project}: "
            "RuntimeError: boom at import",
        ),
        (
            "rb_registry_pkg.missing:f",
            "cannot import module 'rb_registry_pkg.missing' from {project}: "
            "ModuleNotFoundError: No module named 'rb_registry_pkg.missing'",
        ),
    ],
)
def test_resolve_errors(project: Path, name: str, message: str) -> None:
    registry = TaskRegistry()
    with pytest.raises(LookupError) as info:
        registry.resolve(name, project)
    assert str(info.value) == message.format(project=project)
    assert name not in names(registry)


# entry points --------------------------------------------------------------------------------


def test_entry_points_are_registered_and_broken_ones_reported(
    no_entry_points: list[Any],
) -> None:
    group = "nornir_runbook.tasks"
    no_entry_points.extend(
        [
            EntryPoint(name="say", value="nornir_runbook.tasks.echo:echo", group=group),
            EntryPoint(name="gone", value="rb_no_such_module:task", group=group),
            EntryPoint(name="echo", value="nornir_runbook.tasks.fail:fail", group=group),
            EntryPoint(
                name="three", value="nornir_runbook.tasks.backup_config:COMMAND", group=group
            ),
            SimpleNamespace(
                name="acme",
                value="acme:t",
                dist=SimpleNamespace(name="acme-tasks"),
                load=lambda: fail,
            ),
        ]
    )
    registry = default_registry()
    say = registry.get("say")
    assert (say.fn, say.origin) == (echo, "entry point")
    assert registry.get("echo").origin == "builtin"
    assert registry.get("acme").origin == "entry point acme-tasks"
    assert registry.problems == [
        "task 'gone' (entry point: rb_no_such_module:task) cannot be loaded: "
        "ModuleNotFoundError: No module named 'rb_no_such_module'",
        "task 'echo' (entry point: nornir_runbook.tasks.fail:fail) is ignored: "
        "task 'echo' is already registered (builtin)",
        "task 'three' (entry point: nornir_runbook.tasks.backup_config:COMMAND) is ignored: "
        "task 'three' is not callable: 'show running-config'",
    ]
    with pytest.raises(LookupError) as info:
        registry.get("gone")
    assert str(info.value) == registry.problems[0]
    assert "gone" not in names(registry)


def test_repr() -> None:
    registry = TaskRegistry()
    registry.register("echo", echo)
    assert repr(registry) == "TaskRegistry(1 task, 0 problems)"
