"""What is wrong with a step's templates and expressions whatever the host: the part of
``nrb validate`` that reads templates (:func:`compile_check`).

Syntax errors, names a template cannot see, ``vars.x`` the runbook does not define,
``host.x`` that no host has, ``registered.x`` that no earlier step registers, and constant
expressions past the sandbox's limits; each with a suggestion where one is close.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from jinja2 import TemplateSyntaxError, meta, nodes

from nornir_runbook.runbook.expressions import parse_expression
from nornir_runbook.runbook.sandbox import constant_problems
from nornir_runbook.runbook.templating import (
    HOST_FIELDS,
    RESULT_NAMES,
    TEMPLATE_NAMES,
    TOO_DEEP,
    HostView,
    compiled,
    environment,
    expression_strings,
    is_template,
    key_path,
    template_strings,
)
from nornir_runbook.text import suggest

if TYPE_CHECKING:
    from nornir_runbook.runbook.model import Step

__all__ = ["compile_check"]

_GUARD_FILTERS = frozenset({"default", "d"})
_GUARD_TESTS = frozenset({"defined", "undefined"})


def compile_check(
    step: Step,
    *,
    vars: Mapping[str, Any] | None = None,
    registered: Collection[str] | None = None,
) -> list[tuple[str, str]]:
    """``(yaml path, message)`` for every template and expression of ``step`` that cannot
    work on any host.

    Syntax errors, names other than ``host``, ``vars`` and ``registered`` (and ``result`` in
    ``assert`` and ``fail_msg``), (when ``vars`` is given) ``vars.x`` that the runbook does not
    define, and (when ``registered`` is given: the names earlier steps register)
    ``registered.x`` that no earlier step registers, unless guarded by ``is defined`` or
    ``| default``.
    """
    found: list[tuple[str, str]] = []
    for path, source in template_strings(step):
        if is_template(source):
            messages = _check_source(source, vars, registered, TEMPLATE_NAMES)
            found.extend((path, message) for message in messages)
    for path, expression, result in expression_strings(step):
        try:  # one expression, and nothing after it
            parse_expression(expression)
        except TemplateSyntaxError as exc:
            found.append((path, f"expression syntax error: {exc.message}"))
            continue
        except RecursionError:
            found.append((path, TOO_DEEP))
            continue
        names = RESULT_NAMES if result else TEMPLATE_NAMES
        source = "{{ " + expression + " }}"  # read as the templates are
        found.extend((path, m) for m in _check_source(source, vars, registered, names))
    if step.fail_msg is not None and is_template(step.fail_msg):
        path = key_path(step.yaml_path, "fail_msg")
        found.extend(
            (path, m) for m in _check_source(step.fail_msg, vars, registered, RESULT_NAMES)
        )
    return found


def _check_source(
    source: str,
    vars: Mapping[str, Any] | None,
    registered: Collection[str] | None,
    known: frozenset[str],
) -> list[str]:
    try:
        compiled(source)  # unknown filters and tests are found when compiling, not parsing
        tree = environment().parse(source)
    except TemplateSyntaxError as exc:
        where = f" (template line {exc.lineno})" if "\n" in source.rstrip("\n") else ""
        return [f"template syntax error: {exc.message}{where}"]
    except RecursionError:  # Jinja2 parses and compiles recursively: "{{ x[[[[[[...]]]]]] }}"
        return [TOO_DEEP]
    try:
        guarded = _guarded_names(tree)
        undeclared = meta.find_undeclared_variables(tree)
        references = _vars_references(tree)
        registered_references = _vars_references(tree, "registered")
        stored = {n.name for n in tree.find_all(nodes.Name) if n.ctx != "load"}
        # host.x, unless the template names something else "host" (a loop variable, a set)
        host_references = _host_references(tree) if "host" not in stored else []
        limits = constant_problems(tree)
    except RecursionError:  # as deep as parsing allowed, deeper than walking the tree allows
        return [TOO_DEEP]
    messages = limits + [
        _unknown_name_message(name, vars, known)
        for name in sorted(undeclared)
        if name not in known and name not in environment().globals and name not in guarded
    ]
    if registered is not None:
        for name in registered_references:
            if name not in registered and f"registered.{name}" not in guarded:
                hint = _did_you_mean(name, registered, "registered")
                messages.append(
                    f"'registered.{name}': no earlier step has 'register: {name}'{hint}"
                )
    if vars is not None:
        for name in references:
            if name not in vars and f"vars.{name}" not in guarded:
                messages.append(f"undefined variable 'vars.{name}'{_did_you_mean(name, vars)}")
    for name in host_references:
        if not hasattr(HostView, name) and f"host.{name}" not in guarded:
            hint = _did_you_mean(name, HOST_FIELDS, "host")
            messages.append(f"undefined attribute 'host.{name}'{hint}")
    return messages


def _unknown_name_message(name: str, vars: Mapping[str, Any] | None, known: frozenset[str]) -> str:
    if name in HOST_FIELDS:
        hint = f" (did you mean 'host.{name}'?)"
    elif vars is not None and name in vars:
        hint = f" (did you mean 'vars.{name}'?)"
    else:  # a typo of a name the template can see: a host attribute or a vars key
        hint = _did_you_mean(name, HOST_FIELDS, "host") or _did_you_mean(name, vars or {})
    seen = [f"'{n}'" for n in ("host", "vars", "registered", "check_mode", "result") if n in known]
    listed = ", ".join(seen[:-1]) + f" and {seen[-1]}"
    return f"undefined name '{name}': templates see only {listed}{hint}"


def _did_you_mean(name: str, choices: Any, base: str = "vars") -> str:
    close = suggest(name, [str(c) for c in choices])
    return f" (did you mean '{base}.{close}'?)" if close else ""


def _vars_name(node: nodes.Node, base: str = "vars") -> str | None:
    """``x`` when ``node`` is ``vars.x`` or ``vars['x']`` (``host.x``: with ``base="host"``)."""
    if isinstance(node, nodes.Getattr | nodes.Getitem):
        target = node.node
        if isinstance(target, nodes.Name) and target.name == base:
            if isinstance(node, nodes.Getattr):  # vars.items is the method, vars['items'] not
                return None if base != "host" and hasattr(dict, node.attr) else node.attr
            if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                return node.arg.value
    return None


def _host_references(tree: nodes.Template) -> list[str]:
    """``x`` of every ``host.x`` and ``host['x']`` (the template's host attributes)."""
    names = (_vars_name(n, "host") for n in tree.find_all((nodes.Getattr, nodes.Getitem)))
    return sorted({n for n in names if n is not None})


def _vars_references(tree: nodes.Template, base: str = "vars") -> list[str]:
    names = (_vars_name(n, base) for n in tree.find_all((nodes.Getattr, nodes.Getitem)))
    return sorted({n for n in names if n is not None})


def _guarded_names(tree: nodes.Template) -> set[str]:
    """Names and ``vars.x`` the template tests with ``is defined`` or ``| default``."""
    guarded: set[str] = set()
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        names = _GUARD_FILTERS if isinstance(node, nodes.Filter) else _GUARD_TESTS
        if node.name not in names or node.node is None:
            continue
        inner = node.node
        if isinstance(inner, nodes.Name):
            guarded.add(inner.name)
        elif (key := _vars_name(inner)) is not None:
            guarded.add(f"vars.{key}")
        elif (key := _vars_name(inner, "registered")) is not None:
            guarded.add(f"registered.{key}")
        elif (key := _vars_name(inner, "host")) is not None:
            guarded.add(f"host.{key}")
    return guarded
