"""``-e/--extra-vars``: variables given on the command line, over a runbook's ``vars``, as
``ansible-playbook -e``.

Each ``-e`` is one of:

- ``KEY=VALUE``: one variable. KEY is a name (letters, digits and ``_``, not starting with a
  digit); VALUE is everything after the first ``=``, typed as the same text written unquoted
  in a runbook (:func:`~nornir_runbook.runbook.document.plain_scalar`): ``n=3`` the integer 3,
  ``on=true`` a boolean, ``s=hello`` a string, ``x=`` the empty string. Ansible keeps such
  values strings; here ``{{ vars.n + 1 }}`` works as it does with a runbook's own ``n: 3``.
- ``@FILE``: a YAML (or JSON) mapping of variables, read as runbooks are read (plain values
  only, any other tag refused, every problem located).
- ``{...}``: the same mapping written inline, as Ansible takes ``-e '{"a": 1}'``.

Later ``-e`` win, and the result replaces the runbook's ``vars`` key by key (a mapping given
here replaces the runbook's whole value of that key, as Ansible's default ``hash_behaviour``).
Errors name the flag and never quote a value given for a variable.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nornir_runbook.errors import UsageError, in_file_order
from nornir_runbook.runbook.document import Document, plain_scalar
from nornir_runbook.runbook.model import Runbook
from nornir_runbook.runbook.templating import key_path
from nornir_runbook.text import kind_of

__all__ = ["read_extra_vars", "with_extra_vars"]

_SHOWN = 40  # characters of a mistyped -e quoted in its error


def read_extra_vars(items: Sequence[str]) -> dict[str, Any]:
    """The variables of every ``-e`` in ``items``, later ones over earlier ones."""
    merged: dict[str, Any] = {}
    for item in items:
        merged.update(_one(item))
    return merged


def with_extra_vars(runbook: Runbook, extra: Mapping[str, Any]) -> Runbook:
    """``runbook`` whose ``vars`` are its own with ``extra`` over them, key by key."""
    if not extra:
        return runbook
    return dataclasses.replace(runbook, vars={**runbook.vars, **extra})


def _one(item: str) -> dict[str, Any]:
    if item.startswith("@"):
        return _from_file(item[1:])
    if item.lstrip().startswith("{"):
        return _mapping(item, "-e")
    key, equals, value = item.partition("=")
    if not equals:
        shown = item if len(item) <= _SHOWN else item[:_SHOWN] + "..."
        raise UsageError(f"-e: expected KEY=VALUE or @FILE, got {shown!r}")
    if not key.isidentifier():
        raise UsageError(
            f"-e: {key!r} is not a variable name (letters, digits and _, not starting with a digit)"
        )
    return {key: plain_scalar(value) if value else ""}


def _from_file(name: str) -> dict[str, Any]:
    if not name:
        raise UsageError("-e @: expected a file name after '@'")
    try:
        text = Path(name).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"-e @{name}: not UTF-8 text: {exc.reason}") from None
    except OSError as exc:
        raise UsageError(f"-e @{name}: cannot read: {exc.strerror or exc}") from None
    return _mapping(text, name)


def _mapping(text: str, file: str) -> dict[str, Any]:
    """``text`` read as a mapping of variables; ``file`` names it in problems."""
    doc = Document(file, text)
    data = doc.parse()
    if not doc.problems:
        if data is None:
            doc.add_at(doc.location(None), "", "expected a mapping of variables, got nothing")
        elif not isinstance(data, dict):
            doc.add("", f"expected a mapping of variables, got {kind_of(data)}")
        else:
            for key in data:
                if not isinstance(key, str):
                    doc.add(key_path("", key), f"expected a string key, got {key!r}", key=True)
    if doc.problems:
        raise UsageError(in_file_order(doc.problems))
    return data  # type: ignore[no-any-return]
