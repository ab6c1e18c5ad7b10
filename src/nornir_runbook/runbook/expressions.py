"""Jinja2 expressions as values: ``when`` and ``assert``, and an argument written as a single
``{{ expression }}``, which keeps the expression's type (``flag: "{{ x == 1 }}"`` is the bool
``False``, not the truthy string ``'False'``).

They run in the same bounded, immutable sandbox as templates
(:mod:`nornir_runbook.runbook.sandbox`). :func:`explain` says what a false expression saw, short
enough for one line of text output: ``saw 1 >= 2``.

Jinja2 is imported when an expression is first parsed or run, not with this module: a runbook
without expressions or templates loads none of it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2 import nodes

    from nornir_runbook.runbook.sandbox import BoundedEnvironment

__all__ = ["evaluate", "explain", "parse_expression", "single_expression"]

_SINGLE = re.compile(r"\s*\{\{-?(.*?)-?\}\}\s*", re.DOTALL)
_SHOWN = 60  # characters of one value in an explanation


@cache
def _environment() -> BoundedEnvironment:
    from jinja2 import StrictUndefined  # noqa: PLC0415 -- Jinja2 on first use

    from nornir_runbook.runbook.sandbox import BoundedEnvironment  # noqa: PLC0415

    return BoundedEnvironment(undefined=StrictUndefined, autoescape=False)


def single_expression(source: str) -> str | None:
    """``x == 1`` when ``source`` is one ``{{ x == 1 }}`` and nothing else, else None."""
    match = _SINGLE.fullmatch(source)
    if match is None or "{{" in match.group(1) or "}}" in match.group(1):
        return None
    if "{%" in source or "{#" in source:
        return None
    return match.group(1).strip()


@lru_cache(maxsize=4096)
def parse_expression(source: str) -> nodes.Expr:
    """The expression's tree; ``TemplateSyntaxError`` when it is not one expression."""
    from jinja2.parser import Parser  # noqa: PLC0415 -- Jinja2 on first use

    parser = Parser(_environment(), source, state="variable")
    expression = parser.parse_expression()
    if not parser.stream.eos:
        parser.fail(f"unexpected '{parser.stream.current.value}' after the expression")
    return expression


@lru_cache(maxsize=4096)
def _compiled(source: str) -> Any:
    return _template_for(parse_expression(source))


def _template_for(expression: nodes.Expr) -> Any:
    from jinja2 import nodes  # noqa: PLC0415 -- Jinja2 on first use

    body = [nodes.Assign(nodes.Name("result", "store"), expression, lineno=1)]
    return _environment().from_string(nodes.Template(body, lineno=1))


def evaluate(source: str, context: Mapping[str, Any]) -> Any:
    """The value of expression ``source`` (a copy: nothing it returns is shared with
    ``context``). An undefined name or key raises ``UndefinedError``; a limit of the sandbox,
    ``SecurityError``; anything the expression does may raise."""
    return _run(_compiled(source), context)


def _run(template: Any, context: Mapping[str, Any]) -> Any:
    from jinja2 import Undefined  # noqa: PLC0415 -- Jinja2 on first use

    value = _environment().evaluate_bounded(template, dict(context))
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()  # what StrictUndefined raises on use
    return copy.deepcopy(value)


def explain(source: str, context: Mapping[str, Any]) -> str:
    """What the expression saw, for a false one: ``saw 1 >= 2``, ``saw 'down' == 'up'``,
    ``saw False``. Empty when it cannot tell."""
    try:
        return "saw " + _seen(parse_expression(source), context)
    except Exception:  # noqa: BLE001 - an explanation never fails the step a second time
        return ""


def _seen(node: nodes.Expr, context: Mapping[str, Any]) -> str:
    from jinja2 import nodes  # noqa: PLC0415 -- Jinja2 on first use
    from jinja2.exceptions import UndefinedError  # noqa: PLC0415

    if isinstance(node, nodes.Not):
        return "not " + _seen(node.node, context)
    if isinstance(node, nodes.And):  # the first operand that is false
        left = node.left
        return _seen(left if not _value(left, context) else node.right, context)
    if isinstance(node, nodes.Compare):
        parts = [_short(_value(node.expr, context))]
        for operand in node.ops:
            parts += [_OPERATORS.get(operand.op, operand.op), _short(_value(operand.expr, context))]
        return " ".join(parts)
    if isinstance(node, nodes.Test) and node.node is not None:
        try:
            seen = _short(_value(node.node, context))
        except UndefinedError:
            seen = "an undefined value"
        return f"{seen}, which is not {node.name}"
    return _short(_value(node, context))


_OPERATORS = {"eq": "==", "ne": "!=", "gt": ">", "gteq": ">=", "lt": "<", "lteq": "<="}
_OPERATORS |= {"in": "in", "notin": "not in"}


def _value(node: nodes.Expr, context: Mapping[str, Any]) -> Any:
    return _run(_template_for(node), context)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"
