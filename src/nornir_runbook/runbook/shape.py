"""Shapes of runbook values, shared by the loader's phases: strings, names, lists of
strings, mappings and targets, each problem located at its yaml path."""

from __future__ import annotations

from typing import Any

from nornir_runbook.project.targets import Targets
from nornir_runbook.runbook.document import Document
from nornir_runbook.runbook.templating import index_path, key_path
from nornir_runbook.text import described, has_control, suggest

TARGET_KEYS = ("hosts", "groups", "tags", "filter")
# what a playbook calls them: "hosts: core" is "targets: {groups: [core]}" here
INSTEAD = {"hosts": "targets", "tasks": "steps"}


def missing(doc: Document, path: str, key: str) -> str:
    doc.add(path, f"missing required key '{key}'")
    return ""


def got(value: Any) -> str:
    return described(value, text=True)  # a runbook holds no secrets: its strings are shown


def unknown_keys(doc: Document, data: dict[Any, Any], allowed: tuple[str, ...], path: str) -> None:
    for key in data:
        if key not in allowed:
            close = INSTEAD.get(key) if not path else None  # Ansible's words, at the top
            close = close or suggest(str(key), allowed)
            hint = f"did you mean '{close}'?" if close else "expected " + ", ".join(allowed)
            doc.add(key_path(path, key), f"unknown key '{key}' ({hint})", key=True)


def text(doc: Document, value: Any, path: str, *, empty: bool = False) -> str:
    if isinstance(value, str) and (empty or value.strip()):
        return value
    doc.add(path, f"expected a {'' if empty else 'non-empty '}string, got {got(value)}")
    return ""


def name(doc: Document, value: Any, path: str) -> str:
    """A runbook's or step's name: shown on terminals and in files, so one line of printable
    characters (an escape sequence there could rewrite what the terminal shows)."""
    name = text(doc, value, path)
    if has_control(name):
        doc.add(path, f"expected a name without control characters, got {name!r}")
    return name


def strings(doc: Document, value: Any, path: str, *, non_empty: bool = False) -> tuple[str, ...]:
    """A list of non-empty strings, or one string (then recorded also as item 0)."""
    if isinstance(value, str):
        doc.locations[index_path(path, 0)] = doc.locations[path]
        value = [value]
    if not isinstance(value, list) or (non_empty and not value):
        article = "a non-empty" if non_empty else "a"
        doc.add(path, f"expected {article} list of strings or a string, got {got(value)}")
        return ()
    return tuple(text(doc, item, index_path(path, i)) for i, item in enumerate(value))


def mapping(doc: Document, value: Any, path: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        doc.add(path, f"expected a mapping, got {got(value)}")
        return {}
    for key in value:
        if not isinstance(key, str):
            doc.add(key_path(path, key), f"expected a string key, got {got(key)}", key=True)
    return value


def targets(doc: Document, value: Any, path: str) -> Targets | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        doc.add(path, f"expected a mapping with {', '.join(TARGET_KEYS)}, got {got(value)}")
        return None
    unknown_keys(doc, value, TARGET_KEYS, path)
    names = {
        key: strings(doc, value[key], key_path(path, key)) if value.get(key) is not None else ()
        for key in ("hosts", "groups", "tags")
    }
    return Targets(
        hosts=names["hosts"],
        groups=names["groups"],
        tags=names["tags"],
        filter=mapping(doc, value.get("filter"), key_path(path, "filter")),
    )
