"""The report as plain data: the json document, jsonl records, yaml, and outputs as text.

Every function returns data that json and yaml can write (:func:`plain`), scrubbed by the
``Redactor`` where it leaves nrb.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:  # not imported to run: ``nrb diff`` reads saved runs without Nornir
    from nornir_runbook.redact import Redactor
    from nornir_runbook.report.results import HostReport, RunReport


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _finite(number: float) -> float | str:
    return float(number) if math.isfinite(number) else str(number)


_SCALARS: tuple[tuple[type, Callable[[Any], Any]], ...] = (
    (bool, bool),
    (int, int),  # IntEnum members become plain int
    (float, _finite),  # json has no NaN or Infinity
    (str, str.__str__),  # StrEnum members and other subclasses become plain str
    (bytes, _decode),
)


def plain(value: Any) -> Any:
    """A json- and yaml-safe copy: str keys, lists for sequences and sets, str() for the rest."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {
            (str.__str__(k) if isinstance(k, str) else str(k)): plain(v) for k, v in value.items()
        }
    if isinstance(value, set | frozenset):
        return sorted((plain(v) for v in value), key=str)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    convert = next((f for kind, f in _SCALARS if isinstance(value, kind)), str)
    return convert(value)


def document(report: RunReport, redactor: Redactor) -> dict[str, Any]:
    """The json document of SPEC "Output", scrubbed."""
    doc: dict[str, Any] = redactor.scrub_data(plain(report.to_dict()))
    return doc


def host_record(host: HostReport, redactor: Redactor) -> dict[str, Any]:
    """One jsonl line: ``{"host": name, **host.to_dict()}``, scrubbed."""
    record: dict[str, Any] = redactor.scrub_data(plain({"host": host.name, **host.to_dict()}))
    return record


def summary_record(report: RunReport, redactor: Redactor) -> dict[str, Any]:
    """The last jsonl line: the counts, then what identifies and times the run."""
    data = {
        "summary": report.summary.to_dict(),
        "runbook": report.runbook,
        "run_id": report.run_id,
        "started_at": report.started_at,
        "finished_at": report.finished_at,
        "duration_s": round(report.duration_s, 3),
        "dry_run": report.dry_run,
        "interrupted": report.interrupted,
        "aborted": report.aborted,
        "failed_hosts": report.failed_hosts(),
    }
    record: dict[str, Any] = redactor.scrub_data(plain(data))
    return record


def dump_json(data: Any, *, indent: int | None = 2) -> str:
    """ASCII-only json (non-ASCII escaped), whatever the encoding of where it goes."""
    return json.dumps(data, indent=indent, ensure_ascii=True)


class _BlockDumper(yaml.SafeDumper):
    """``yaml.safe_dump`` that writes multi-line strings (device output) as ``|`` blocks."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None  # pyyaml falls back to quotes where | cannot be used
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_BlockDumper.add_representer(str, _represent_str)


def dump_yaml(data: Any) -> str:
    text: str = yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, default_flow_style=False)
    return text


def output_text(value: Any) -> str:
    """A command's output or a task's result as readable text."""
    if isinstance(value, str):
        return value.rstrip("\n") or "(no output)"
    return json.dumps(plain(value), indent=2, ensure_ascii=False)


def step_outputs(result: Any) -> list[tuple[str, str]]:
    """(label, text) of a step's result: one per command (or dict key), or ("", whole result)."""
    if result is None:
        return []
    if isinstance(result, dict):
        return [(str(key), output_text(value)) for key, value in result.items()]
    return [("", output_text(result))]


COMMANDS_TASK = "send_commands"  # a ``commands:`` step's task: its result maps command -> output
RESULT = "result"  # the name of another task's output


def named_outputs(task: str, result: Any) -> list[tuple[str, Any]]:
    """A step's outputs by name, as saved one a file and compared by ``nrb diff``: a
    ``commands`` step's by command (text, or parsed data), another task's result as one output
    named ``result``; none for a step without result."""
    if result is None:
        return []
    if task == COMMANDS_TASK and isinstance(result, dict):
        return [(str(command), output) for command, output in result.items()]
    return [(RESULT, result)]
