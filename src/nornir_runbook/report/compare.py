"""Two saved runs compared: what ``nrb diff`` shows and the HTML report's ``--against``.

:func:`compare_runs` is pure: it reads two :class:`~nornir_runbook.report.runs.SavedRun`
documents (already redacted when they were saved) and returns closed, typed values; rendering
is elsewhere. Per host in both runs: its status when it changed, then per step (matched by name)
its status and error when they changed and each output (command) that differs. Text outputs are
compared line by line, after dropping the lines that an ``ignore`` pattern matches (uptimes,
clocks); parsed outputs (lists, dicts) are compared as data, by key and index, so a record whose
``status`` went from ``up`` to ``down`` reads ``show ip interface brief[1].status: 'up' ->
'down'``. Every differing output carries its unified diff (of the text, or of the data written
as sorted json). Hosts and steps found in only one run are listed, as are the runbooks' names
when the runs are of different runbooks.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from nornir_runbook.report.document import named_outputs
from nornir_runbook.report.runs import SavedRun

Side = Literal["old", "new"]
ChangeKind = Literal["changed", "added", "removed"]
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """A value that is not the same in both runs: ``old`` and ``new`` (None for the side where
    it is missing)."""

    old: Any
    new: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class DataChange:
    """One place where two parsed outputs differ: ``path`` as ``label[1].status``."""

    path: str
    kind: ChangeKind
    old: Any = None  # None when added
    new: Any = None  # None when removed


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputDiff:
    """An output (a command's, or another task's ``result``) that differs, or is in one run only
    (``only_in``). ``unified`` is its unified diff; ``changes`` lists, for parsed data, each
    key or record that differs (empty for text)."""

    label: str
    unified: str
    changes: tuple[DataChange, ...] = ()
    only_in: Side | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StepDiff:
    """A step of one host (matched by name) that differs, or ran in one run only."""

    name: str
    only_in: Side | None = None
    status: Change | None = None
    error: Change | None = None
    outputs: tuple[OutputDiff, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class HostDiff:
    """A host of both runs whose status or steps differ."""

    name: str
    status: Change | None = None
    steps: tuple[StepDiff, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RunComparison:
    """Two runs compared. Steps that only one runbook has are listed once in ``steps_only``, not
    for each host."""

    old_run_id: str
    new_run_id: str
    old_runbook: str
    new_runbook: str
    hosts: tuple[HostDiff, ...] = ()  # new run's order
    hosts_only_old: tuple[str, ...] = ()
    hosts_only_new: tuple[str, ...] = ()
    steps_only_old: tuple[str, ...] = ()
    steps_only_new: tuple[str, ...] = ()

    @property
    def same_runbook(self) -> bool:
        return self.old_runbook == self.new_runbook

    @property
    def same(self) -> bool:
        """Whether the runs match: same runbook, same hosts and steps, no host that differs."""
        return self.same_runbook and not (
            self.hosts
            or self.hosts_only_old
            or self.hosts_only_new
            or self.steps_only_old
            or self.steps_only_new
        )

    def to_dict(self) -> dict[str, Any]:
        """The json document of ``nrb diff -o json``."""
        return {
            "old": {"run_id": self.old_run_id, "runbook": self.old_runbook},
            "new": {"run_id": self.new_run_id, "runbook": self.new_runbook},
            "same": self.same,
            "hosts_only_in": {"old": list(self.hosts_only_old), "new": list(self.hosts_only_new)},
            "steps_only_in": {"old": list(self.steps_only_old), "new": list(self.steps_only_new)},
            "hosts": {h.name: _host_dict(h) for h in self.hosts},
        }


def _change_dict(change: Change | None) -> dict[str, Any] | None:
    return None if change is None else {"old": change.old, "new": change.new}


def _host_dict(host: HostDiff) -> dict[str, Any]:
    return {
        "status": _change_dict(host.status),
        "steps": [
            {
                "name": s.name,
                "only_in": s.only_in,
                "status": _change_dict(s.status),
                "error": _change_dict(s.error),
                "outputs": [
                    {
                        "label": o.label,
                        "only_in": o.only_in,
                        "diff": o.unified,
                        "changes": [
                            {"path": c.path, "change": c.kind, "old": c.old, "new": c.new}
                            for c in o.changes
                        ],
                    }
                    for o in s.outputs
                ],
            }
            for s in host.steps
        ],
    }


# --- comparing -------------------------------------------------------------------------------


def compare_runs(
    old: SavedRun, new: SavedRun, ignore: Sequence[re.Pattern[str]] = ()
) -> RunComparison:
    """``old`` and ``new`` compared; ``ignore``: lines of text outputs to drop first."""
    old_steps, new_steps = _step_names(old), _step_names(new)
    shared = frozenset(old_steps) & frozenset(new_steps)
    comparer = _Comparer(ignore=tuple(ignore), runs=(old.run_id, new.run_id), shared=shared)
    hosts = []
    for name, record in new.hosts.items():
        before = old.hosts.get(name)
        found = comparer.host(name, before, record) if before is not None else None
        if found is not None:
            hosts.append(found)
    return RunComparison(
        old_run_id=old.run_id,
        new_run_id=new.run_id,
        old_runbook=old.runbook,
        new_runbook=new.runbook,
        hosts=tuple(hosts),
        hosts_only_old=tuple(h for h in old.hosts if h not in new.hosts),
        hosts_only_new=tuple(h for h in new.hosts if h not in old.hosts),
        steps_only_old=tuple(s for s in old_steps if s not in shared),
        steps_only_new=tuple(s for s in new_steps if s not in shared),
    )


def _step_names(run: SavedRun) -> list[str]:
    """Every step name of a run, in the order first met."""
    return list(dict.fromkeys(s["name"] for h in run.hosts.values() for s in h["steps"]))


def _by_name(steps: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Steps by name; a name used twice is told apart as ``name (2)``."""
    found: dict[str, Mapping[str, Any]] = {}
    for step in steps:
        name, n = step["name"], 1
        while name in found:
            n += 1
            name = f"{step['name']} ({n})"
        found[name] = step
    return found


def _changed(old: Any, new: Any) -> Change | None:
    return None if old == new else Change(old=old, new=new)


def _in_order(new: Iterable[str], old: Iterable[str]) -> list[str]:
    """The names of ``new``, then those only ``old`` has."""
    after = list(new)
    return [*after, *(n for n in old if n not in after)]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Comparer:
    """What every comparison of one pair of runs shares: the lines to ignore, the run ids (the
    unified diffs' file names), and the step names both runs have."""

    ignore: tuple[re.Pattern[str], ...]
    runs: tuple[str, str]
    shared: frozenset[str]

    def host(self, name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> HostDiff | None:
        before, after = _by_name(old["steps"]), _by_name(new["steps"])
        steps: list[StepDiff] = []
        for step in _in_order(after, before):
            if step in before and step in after:
                found = self.step(step, before[step], after[step])
                steps += [found] if found is not None else []
            elif (before.get(step) or after[step])["name"] in self.shared:  # else: run-wide
                steps.append(StepDiff(name=step, only_in="new" if step in after else "old"))
        status = _changed(old["status"], new["status"])
        if status is None and not steps:
            return None
        return HostDiff(name=name, status=status, steps=tuple(steps))

    def step(self, name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> StepDiff | None:
        before = dict(named_outputs(str(old.get("task", "")), old.get("result")))
        after = dict(named_outputs(str(new.get("task", "")), new.get("result")))
        outputs: list[OutputDiff] = []
        for label in _in_order(after, before):
            if label in before and label in after:
                found = self.output(label, before[label], after[label])
                outputs += [found] if found is not None else []
                continue
            side: Side = "new" if label in after else "old"
            text = self.lines(after[label] if side == "new" else before[label])
            unified = self.unified(text if side == "old" else [], text if side == "new" else [])
            outputs.append(OutputDiff(label=label, unified=unified, only_in=side))
        status = _changed(old["status"], new["status"])
        error = _changed(old.get("error"), new.get("error"))
        if status is None and error is None and not outputs:
            return None
        return StepDiff(name=name, status=status, error=error, outputs=tuple(outputs))

    def output(self, label: str, old: Any, new: Any) -> OutputDiff | None:
        before, after = self.lines(old), self.lines(new)
        if isinstance(old, str) and isinstance(new, str):
            if before == after:
                return None
            return OutputDiff(label=label, unified=self.unified(before, after))
        if old == new:
            return None
        # data against text (parsed in one run only): the unified diff says it better
        text = isinstance(old, str) or isinstance(new, str)
        changes = () if text else tuple(data_changes(label, old, new))
        return OutputDiff(label=label, unified=self.unified(before, after), changes=changes)

    def lines(self, value: Any) -> list[str]:
        """An output's lines to compare: text without its ignored lines, data as sorted json."""
        if isinstance(value, str):
            ignore = self.ignore
            return [line for line in value.splitlines() if not any(p.search(line) for p in ignore)]
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).splitlines()

    def unified(self, old: list[str], new: list[str]) -> str:
        old_run, new_run = self.runs
        lines = difflib.unified_diff(old, new, fromfile=old_run, tofile=new_run, lineterm="")
        return "\n".join(lines) + "\n"


def data_changes(path: str, old: Any, new: Any) -> list[DataChange]:
    """Where parsed data ``old`` and ``new`` differ, by key for mappings and by record for
    lists (records added or removed are found as ``diff`` finds lines), under ``path``."""
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        found: list[DataChange] = []
        for key in [*old, *(k for k in new if k not in old)]:
            where = _key_path(path, key)
            if key not in new:
                found.append(DataChange(path=where, kind="removed", old=old[key]))
            elif key not in old:
                found.append(DataChange(path=where, kind="added", new=new[key]))
            else:
                found += data_changes(where, old[key], new[key])
        return found
    if isinstance(old, list) and isinstance(new, list):
        return _list_changes(path, old, new)
    return [DataChange(path=path, kind="changed", old=old, new=new)]


def _list_changes(path: str, old: list[Any], new: list[Any]) -> list[DataChange]:
    keys = (
        [json.dumps(v, sort_keys=True) for v in old],
        [json.dumps(v, sort_keys=True) for v in new],
    )
    matcher = difflib.SequenceMatcher(a=keys[0], b=keys[1], autojunk=False)
    found: list[DataChange] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        paired = min(i2 - i1, j2 - j1) if op == "replace" else 0
        for k in range(paired):  # records in the same place: compared key by key
            found += data_changes(f"{path}[{j1 + k}]", old[i1 + k], new[j1 + k])
        for i in range(i1 + paired, i2):
            found.append(DataChange(path=f"{path}[{i}]", kind="removed", old=old[i]))
        for j in range(j1 + paired, j2):
            found.append(DataChange(path=f"{path}[{j}]", kind="added", new=new[j]))
    return found


def _key_path(path: str, key: Any) -> str:
    text = str(key)
    return f"{path}.{text}" if _IDENTIFIER.fullmatch(text) else f"{path}[{text!r}]"
