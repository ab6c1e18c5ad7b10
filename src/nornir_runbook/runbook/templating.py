"""Jinja2 rendering of a step's strings, per host, in a sandbox.

Every string in a step's ``commands``, ``config`` and ``args`` (recursively: lists and mappings
inside ``args`` are walked, their keys are not rendered) is a template that sees these names:

- ``host``: a read-only :class:`HostView` with ``name``, ``hostname``, ``platform``, ``port``,
  ``groups`` (the host's own group names), ``all_groups`` (with their parent groups) and
  ``data`` (resolved as Nornir resolves it: the host's own data over its groups' over the
  defaults');
- ``vars``: the runbook's ``vars``, as written (they are not templates themselves), with the
  command line's ``-e`` on top;
- ``registered``: the results of earlier steps with ``register: NAME`` on this host, by name;
- ``result``: in ``assert`` and ``fail_msg`` only, this step's result on this host.

Undefined names are errors (``StrictUndefined``) and templates run in Jinja2's sandbox, as
runbooks may come from others. An argument that is one expression and nothing else keeps the
expression's type (``port: "{{ host.port }}"`` gives the task ``22``, ``flag: "{{ x == 1 }}"``
a bool); any other template gives a string. A rendered ``commands`` or ``config`` item is split
into its non-blank lines, so one template may give several commands (a ``{% for %}``) or none
(an ``{% if %}``). ``when`` and ``assert`` are expressions (:mod:`.expressions`).

:func:`compile_check` finds what can be found without a host (syntax, unknown names, unknown
``host`` attributes, unknown ``vars``); :func:`render_step` renders for one host and raises
:class:`RunbookError` with a located problem, so template errors are input errors found before
any connection opens.

A string with no ``{{``, ``{%`` or ``{#`` is no template: it is used as written, and Jinja2 is
imported (:func:`environment`) only when a runbook has a template.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from nornir_runbook.errors import Problem, RenderError
from nornir_runbook.project.hostdata import all_groups
from nornir_runbook.runbook.expressions import evaluate, single_expression
from nornir_runbook.text import suggest

if TYPE_CHECKING:
    from jinja2 import Template, nodes
    from nornir.core.inventory import Host

    from nornir_runbook.runbook.model import Location, Step
    from nornir_runbook.runbook.sandbox import BoundedEnvironment

# check_mode: true under nrb run --check (Ansible's ansible_check_mode)
TEMPLATE_NAMES = frozenset({"host", "vars", "registered", "check_mode"})
RESULT_NAMES = TEMPLATE_NAMES | {"result"}  # in assert and fail_msg
_MISSING_KEY = re.compile(r"has no attribute '([^']*)'$")

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
TOO_DEEP = "template syntax error: expressions nested too deeply"


@dataclass(frozen=True, slots=True, kw_only=True)
class HostView:
    """What a template sees as ``host``: no credentials, no connections."""

    name: str
    hostname: str | None = None
    platform: str | None = None
    port: int | None = None
    groups: tuple[str, ...] = ()
    all_groups: tuple[str, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_host(cls, host: Host) -> HostView:
        return cls(
            name=host.name,
            hostname=host.hostname,
            platform=host.platform,
            port=host.port,
            groups=tuple(g.name for g in host.groups),
            all_groups=tuple(g.name for g in all_groups(host)),
            data=host.extended_data(),
        )


HOST_FIELDS = tuple(f.name for f in fields(HostView))


@cache
def environment() -> BoundedEnvironment:
    """The sandbox every template renders in, made (and Jinja2 imported) on first use."""
    from jinja2 import StrictUndefined  # noqa: PLC0415 -- Jinja2 only for a template

    from nornir_runbook.runbook.sandbox import BoundedEnvironment  # noqa: PLC0415

    # Not HTML: commands for network devices, so nothing is escaped.
    return BoundedEnvironment(
        undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderedStep:
    """A step's strings rendered for one host."""

    commands: tuple[str, ...] = ()
    config: tuple[str, ...] = ()
    parents: tuple[str, ...] = ()
    args: dict[str, Any] = field(default_factory=dict)


def key_path(parent: str, key: object) -> str:
    """The yaml path of mapping key ``key`` under ``parent``: ``args.path``, ``vars["a b"]``."""
    if isinstance(key, str) and _IDENTIFIER.fullmatch(key):
        return f"{parent}.{key}" if parent else key
    text = json.dumps(key) if isinstance(key, str) else repr(key)
    return f"{parent}[{text}]"


def index_path(parent: str, index: int) -> str:
    """The yaml path of list item ``index`` under ``parent``: ``steps[2]``."""
    return f"{parent}[{index}]"


def template_strings(step: Step) -> Iterator[tuple[str, str]]:
    """Every ``(yaml path, string)`` of a step that is a template, in document order
    (``fail_msg`` apart: it sees ``result`` too)."""
    for kind in ("commands", "config"):
        base = key_path(step.yaml_path, kind)
        for index, text in enumerate(getattr(step, kind)):
            yield index_path(base, index), text
        if step.by_platform is not None and step.kind.value == kind:
            for platform, lines in step.by_platform.items():
                for index, text in enumerate(lines):
                    yield index_path(key_path(base, platform), index), text
    for index, text in enumerate(step.parents):
        yield index_path(key_path(step.yaml_path, "parents"), index), text
    yield from _walk_strings(step.args, key_path(step.yaml_path, "args"))


def expression_strings(step: Step) -> Iterator[tuple[str, str, bool]]:
    """Every ``(yaml path, expression, sees result)`` of a step's ``when`` and ``assert``."""
    for key, expressions, result in (("when", step.when, False), ("assert", step.asserts, True)):
        for index, source in enumerate(expressions):
            yield index_path(key_path(step.yaml_path, key), index), source, result


def has_templates(step: Step) -> bool:
    """Whether any string of the step is a template, or it has an expression (``when``,
    ``assert``): else there is nothing for Jinja2 to check or render."""
    if step.when or step.asserts or (step.fail_msg is not None and is_template(step.fail_msg)):
        return True
    return any(is_template(text) for _, text in template_strings(step))


def uses_registered(step: Step) -> bool:
    """Whether the step's templates or ``when`` need earlier steps' results (then they are
    rendered on the host, as the step starts, not when the plan is made)."""
    sources = [text for _, text in template_strings(step) if is_template(text)]
    sources += ["{{ " + source + " }}" for source in step.when]
    return any("registered" in _names(source) for source in sources)


@lru_cache(maxsize=4096)
def _names(source: str) -> frozenset[str]:
    from jinja2 import TemplateSyntaxError, meta  # noqa: PLC0415 -- Jinja2 only for a template

    try:
        return frozenset(meta.find_undeclared_variables(environment().parse(source)))
    except (TemplateSyntaxError, RecursionError):
        return frozenset()


def _walk_strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _walk_strings(item, key_path(path, key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _walk_strings(item, index_path(path, index))


def is_template(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


@lru_cache(maxsize=4096)
def compiled(source: str) -> Template:
    return environment().from_string(source)


# ---------------------------------------------------------------------------------------------
# render_step: one step, one host


def render_step(
    step: Step,
    host: Host,
    vars: Mapping[str, Any],
    registered: Mapping[str, Any] | None = None,
    *,
    check_mode: bool = False,
) -> RenderedStep:
    """Render every template of ``step`` for ``host`` (``commands`` or ``config``: the lines
    for its platform, none when the step has no entry for it).

    Raises :class:`RenderError` with one located problem per failing string.
    """
    context = template_context(HostView.from_host(host), vars, registered, check_mode=check_mode)
    renderer = _Renderer(step, context, host.name)
    lines = step.lines_for(host.platform) or ()
    kind = key_path(step.yaml_path, step.kind.value)
    base = key_path(kind, host.platform or "") if step.by_platform is not None else kind
    commands = renderer.lines(base, lines) if step.kind.value == "commands" else ()
    config = renderer.lines(base, lines) if step.kind.value == "config" else ()
    parents = renderer.lines(key_path(step.yaml_path, "parents"), step.parents)
    args = renderer.value(step.args, key_path(step.yaml_path, "args"))
    if renderer.problems:
        raise RenderError(renderer.problems, host.name, renderer.failures)
    return RenderedStep(commands=commands, config=config, parents=parents, args=args)


def template_context(
    host: HostView,
    vars: Mapping[str, Any],
    registered: Mapping[str, Any] | None = None,
    *,
    check_mode: bool = False,
) -> dict[str, Any]:
    """The names a step's templates and expressions see on one host (``check_mode``: the run
    is a ``--check``)."""
    return {
        "host": host,
        "vars": vars,
        "registered": registered or {},
        "check_mode": check_mode,
    }


def render_text(source: str, context: Mapping[str, Any]) -> str:
    """One template rendered with ``context`` (``fail_msg``); raises what Jinja2 raises."""
    if not is_template(source):
        return source
    return environment().render_bounded(compiled(source), dict(context))


class _Renderer:
    def __init__(self, step: Step, context: dict[str, Any], host_name: str) -> None:
        self.step = step
        self.context = context
        self.host_name = host_name
        self.problems: list[Problem] = []
        self.failures: list[tuple[str, str]] = []  # (path, reason), the host left out

    def lines(self, base: str, items: tuple[str, ...]) -> tuple[str, ...]:
        out: list[str] = []
        for index, item in enumerate(items):
            text = self.text(item, index_path(base, index))
            out.extend(line for line in text.splitlines() if line.strip())
        return tuple(out)

    def value(self, value: Any, path: str) -> Any:
        if isinstance(value, str):
            expression = single_expression(value)
            if expression is not None:  # one expression: its value, of its own type
                return self.text(value, path, expression)
            return self.text(value, path)
        if isinstance(value, Mapping):
            return {k: self.value(v, key_path(path, k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v, index_path(path, i)) for i, v in enumerate(value)]
        return value

    def text(self, source: str, path: str, expression: str | None = None) -> Any:
        if not is_template(source):
            return source
        from jinja2 import TemplateSyntaxError  # noqa: PLC0415 -- Jinja2 only for a template
        from jinja2.exceptions import SecurityError, UndefinedError  # noqa: PLC0415

        try:
            if expression is not None:
                return evaluate(expression, self.context)
            return environment().render_bounded(compiled(source), self.context)
        except TemplateSyntaxError as exc:
            message = f"template syntax error: {exc.message}"
            reason = message
        except (UndefinedError, SecurityError) as exc:
            reason = f"{exc}{_hint(source, self.context, str(exc))}"
            message = f"cannot render for host {self.host_name!r}: {reason}"
        except Exception as exc:  # noqa: BLE001 - a template may raise anything; it is input
            reason = f"{type(exc).__name__}: {exc}"
            message = f"cannot render for host {self.host_name!r}: {reason}"
        self.problems.append(located_problem(self.step.locations, path, message))
        self.failures.append((path, reason))
        return ""


def _hint(source: str, context: Mapping[str, Any], error: str) -> str:
    """`` (did you mean 'host.data.ntp_server'?)`` for "has no attribute 'ntp_srver'": the
    names the template could see where it asked for the missing one."""
    missing = _MISSING_KEY.search(error)
    if missing is None:
        return ""
    key = missing.group(1)
    from jinja2 import nodes  # noqa: PLC0415 -- Jinja2 only for a template

    try:
        chains = [_chain(node) for node in _compile_tree(source).find_all(nodes.Getattr)]
        chains += [_chain(node) for node in _compile_tree(source).find_all(nodes.Getitem)]
    except RecursionError:  # as deep as rendering allowed, deeper than this walk allows
        return ""
    for chain in chains:
        if chain is None or chain[-1] != key:
            continue
        seen: Any = context
        for name in chain[:-1]:
            seen = seen.get(name) if isinstance(seen, Mapping) else getattr(seen, name, None)
        names = HOST_FIELDS if isinstance(seen, HostView) else seen
        close = (
            suggest(key, [str(n) for n in names]) if isinstance(names, Mapping | tuple) else None
        )
        if close and close != key:  # the same name there: it is not what was missing
            return f" (did you mean '{'.'.join(chain[:-1])}.{close}'?)"
    return ""


def _chain(node: nodes.Node) -> list[str] | None:
    """``["host", "data", "x"]`` for ``host.data.x`` or ``host['data']['x']``, else None."""
    from jinja2 import nodes  # noqa: PLC0415 -- Jinja2 only for a template

    if isinstance(node, nodes.Name):
        return [node.name]
    if isinstance(node, nodes.Getattr):
        key: Any = node.attr
    elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        key = node.arg.value
    else:
        return None
    parent = _chain(node.node)
    return None if parent is None or not isinstance(key, str) else [*parent, key]


@lru_cache(maxsize=256)
def _compile_tree(source: str) -> nodes.Template:
    return environment().parse(source)


def located_problem(
    locations: Mapping[str, Location], path: str, message: str, *, key: bool = False
) -> Problem:
    """A problem at ``path``, located at the nearest recorded enclosing value.

    With ``key``, at the mapping key itself when its place was recorded (``<path>:key``).
    """
    where = f"{path}:key" if key and f"{path}:key" in locations else path
    while where and where not in locations:
        where = _parent(where)
    location = locations.get(where)
    if location is None:
        return Problem(message=message, path=path or None)
    return Problem(
        message=message,
        file=location.file,
        line=location.line,
        column=location.column,
        path=path or None,
        source_line=location.source_line,
    )


def _parent(path: str) -> str:
    cut = max(path.rfind("."), path.rfind("["))
    return path[:cut] if cut > 0 else ""
