"""The Jinja2 sandbox templates run in: immutable, and bounded in time and memory.

Runbooks may come from others, so a template can neither change what it is given nor make
``nrb`` hang or run out of memory:

- :class:`BoundedEnvironment` is Jinja2's ``ImmutableSandboxedEnvironment``: no method that
  changes a list, dict or set (``vars.acl.append(...)``) can be called, so one host's rendering
  never changes ``vars`` or inventory data for the next.
- Powers, repetition (``'a' * 10**9``), concatenation and integer products are checked before
  they are computed, and are never folded at compile time (Jinja2 would compute
  ``7 ** 900000000`` while compiling); ``range`` yields at most :data:`MAX_RANGE_ITEMS` items
  per rendering, all ranges together; width arguments of ``center``, ``ljust``, ``format``...
  are bounded, as are the ``replace`` and ``join`` filters and ``lipsum``; a rendering stops
  once its output passes :data:`MAX_OUTPUT`, and an expression's value (``when``, ``assert``, an
  argument of one expression) may hold no more characters than that.

Each limit raises :class:`TemplateLimitError` (a Jinja2 ``SecurityError``), which the caller
reports as an input error at the template's place. :func:`constant_problems` finds, without
rendering, the constant expressions that break a limit (``nrb validate``).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import generate_lorem_ipsum

MAX_OUTPUT = 10_000_000  # characters of one rendered string, and of any string made on the way
MAX_INT_BITS = 16_384  # bits of an integer a power or product may give (about 4,900 digits)
MAX_RANGE_ITEMS = 1_000_000  # items all the ranges of one rendering may give together
MAX_WIDTH = MAX_OUTPUT  # the widest padding or repetition a method or filter may be asked for

_BOUNDED_OPS = frozenset({"**", "*", "+", "%"})
_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})
_WIDTH_FILTERS = ("center", "indent")
_FORMATTING = frozenset({"format", "format_map"})
_SHOWN_BITS = 64
_NUMBER = re.compile(r"\d{1,20}")  # longer: certainly too wide, and quick to convert
_PRINTF = re.compile(r"%[-+ #0]*(\d*(?:\.\d*)?)")
_FORMAT_FIELD = re.compile(r"\{[^{}:]*:([^{}]*)\}")
_range_budget: ContextVar[list[int]] = ContextVar("range_budget")


class TemplateLimitError(SecurityError):
    """A template asked for more than the sandbox allows."""


def check_binop(op: str, left: Any, right: Any) -> None:
    """Raise :class:`TemplateLimitError` when ``left <op> right`` would be too big."""
    if op == "**" and _is_int(left) and _is_int(right) and abs(left) > 1 and right > 0:
        if right * math.log2(abs(left)) > MAX_INT_BITS:
            raise TemplateLimitError(
                f"power too large: {_short(left)} ** {_short(right)} "
                f"(results of at most {MAX_INT_BITS} bits)"
            )
    elif op == "*":
        if _is_int(left) and _is_int(right):
            if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise TemplateLimitError(f"product too large (at most {MAX_INT_BITS} bits)")
        elif (_is_sized(left) and _is_int(right)) or (_is_sized(right) and _is_int(left)):
            size, times = (len(left), right) if _is_sized(left) else (len(right), left)
            if size * times > MAX_OUTPUT:
                raise TemplateLimitError(
                    f"repetition too large: {size} items * {_short(times)} "
                    f"(at most {MAX_OUTPUT} in all)"
                )
    elif op == "+" and _is_sized(left) and _is_sized(right):
        _check_size(len(left) + len(right), "concatenation")
    elif op == "%" and isinstance(left, str):
        _check_format_string(left)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_sized(value: Any) -> bool:
    return isinstance(value, str | bytes | list | tuple)


def _short(number: int) -> str:
    """A number as text, or its size when its digits would be too many to show."""
    return (
        str(number) if number.bit_length() <= _SHOWN_BITS else f"a {number.bit_length()}-bit number"
    )


def _check_size(size: int, what: str) -> None:
    if size > MAX_OUTPUT:
        raise TemplateLimitError(f"{what} too large: {size} characters (at most {MAX_OUTPUT})")


def _check_width(values: Iterator[Any], what: str) -> None:
    for value in values:
        if _is_int(value) and abs(value) > MAX_WIDTH:
            raise TemplateLimitError(f"{what}: width {value} too large (at most {MAX_WIDTH})")


def _check_format_string(text: str) -> None:
    """A printf (``%10s``) or ``str.format`` (``{:>10}``) width or precision in ``text``
    beyond :data:`MAX_WIDTH`."""
    specs = [m.group(1) for m in _PRINTF.finditer(text)]
    specs += [m.group(1) for m in _FORMAT_FIELD.finditer(text)]
    for number in (n for spec in specs for n in _NUMBER.findall(spec or "")):
        if int(number) > MAX_WIDTH:
            raise TemplateLimitError(f"format width {number} too large (at most {MAX_WIDTH})")


def _bounded_range(*args: int) -> range:
    numbers = range(*args)
    budget = _range_budget.get(None)
    if budget is None:  # outside render(): one range alone is bounded
        budget = [MAX_RANGE_ITEMS]
    budget[0] -= len(numbers)
    if budget[0] < 0:
        raise TemplateLimitError(f"ranges too large: more than {MAX_RANGE_ITEMS} items in all")
    return numbers


def _check_replace(owner: str, *args: Any) -> None:
    """``owner.replace(old, new)`` (the method or the filter) is not too large."""
    if len(args) < 2 or not all(isinstance(a, str) for a in args[:2]):  # noqa: PLR2004
        return
    old, new = args[0], args[1]
    count = owner.count(old) if old else len(owner) + 1
    _check_size(len(owner) + count * max(len(new) - len(old), 0), "replace")


def _text_size(value: Any, depth: int = 0) -> int:
    """Characters of the strings in ``value`` (in its lists and mappings too)."""
    if isinstance(value, str):
        return len(value)
    if depth > 100 or not isinstance(value, list | tuple | dict):  # noqa: PLR2004
        return 0
    items = list(value.items()) if isinstance(value, dict) else value
    total = 0
    for item in items:
        total += _text_size(item, depth + 1)
        if total > MAX_OUTPUT:
            break
    return total


def _marked(original: Callable[..., Any], bounded: Callable[..., Any]) -> Callable[..., Any]:
    bounded.__name__ = original.__name__
    bounded.__dict__.update(original.__dict__)  # jinja's pass_context / pass_environment marks
    return bounded


def _bounded_replace(original: Callable[..., Any]) -> Callable[..., Any]:
    def replace(eval_ctx: Any, s: Any, old: Any, new: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(s, str):
            _check_replace(s, old, new)
        return original(eval_ctx, s, old, new, *args, **kwargs)

    return _marked(original, replace)


def _bounded_join(original: Callable[..., Any]) -> Callable[..., Any]:
    def join(*args: Any, **kwargs: Any) -> Any:
        joined = original(*args, **kwargs)
        _check_size(len(joined), "join")
        return joined

    return _marked(original, join)


def _bounded_lipsum(original: Callable[..., Any]) -> Callable[..., Any]:
    def lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> Any:
        if _is_int(n) and _is_int(max) and n * max > MAX_OUTPUT // 10:
            raise TemplateLimitError(
                f"lipsum too large: {_short(n)} paragraphs of {_short(max)} words"
            )
        return original(n, html, min, max)

    return lipsum


def _bounded_filter(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _check_width(iter((*args[1:], *kwargs.values())), name)
        return original(*args, **kwargs)

    bounded.__name__ = original.__name__
    bounded.__dict__.update(original.__dict__)  # jinja's pass_context / pass_environment marks
    return bounded


def _checked_concat(text: str) -> str:
    _check_size(len(text), "concatenation")
    return text


class _BoundedCodeGenerator(CodeGenerator):
    """Jinja2's code generator, with each ``~`` concatenation checked for size."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.checked_concat(")
        super().visit_Concat(node, frame)
        self.write(")")


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, with the limits of this module."""

    intercepted_binops = _BOUNDED_OPS  # also keeps them from being folded at compile time
    code_generator_class = _BoundedCodeGenerator

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _bounded_range
        for name in _WIDTH_FILTERS:
            self.filters[name] = _bounded_filter(name, self.filters[name])
        self.filters["format"] = _bounded_format(self.filters["format"])
        self.filters["replace"] = _bounded_replace(self.filters["replace"])
        self.filters["join"] = _bounded_join(self.filters["join"])
        self.globals["lipsum"] = _bounded_lipsum(generate_lorem_ipsum)

    checked_concat = staticmethod(_checked_concat)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(__obj, "__self__", None)
        name = getattr(__obj, "__name__", "")
        if isinstance(owner, str):
            if name in _WIDTH_METHODS:
                _check_width(iter((*args, *kwargs.values())), f"str.{name}")
            elif name == "replace":
                _check_replace(owner, *args)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        owner = getattr(value, "__self__", None)
        if isinstance(owner, str) and getattr(value, "__name__", "") in _FORMATTING:
            _check_format_string(owner)
        return super().wrap_str_format(value)

    def render_bounded(self, template: Any, context: dict[str, Any]) -> str:
        """``template`` rendered with ``context``, stopped once past :data:`MAX_OUTPUT`."""
        token = _range_budget.set([MAX_RANGE_ITEMS])
        try:
            parts, size = [], 0
            for chunk in template.generate(context):
                size += len(chunk)
                _check_size(size, "rendered output")
                parts.append(chunk)
            return "".join(parts)
        finally:
            _range_budget.reset(token)

    def evaluate_bounded(self, template: Any, context: dict[str, Any]) -> Any:
        """The ``result`` an expression's template (``{% set result = ... %}``) stores."""
        token = _range_budget.set([MAX_RANGE_ITEMS])
        try:
            bound = template.new_context(context)
            for _ in template.root_render_func(bound):
                pass
            value = bound.vars["result"]
            _check_size(_text_size(value), "value")
            return value
        finally:
            _range_budget.reset(token)


def _bounded_format(original: Callable[..., Any]) -> Callable[..., Any]:
    def format(value: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            _check_format_string(value)
        return original(value, *args, **kwargs)

    return format


# ---------------------------------------------------------------------------------------------
# constant_problems: the limits a template breaks whatever it renders with


_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "**": operator.pow,
    "*": operator.mul,
    "+": operator.add,
    "%": operator.mod,
    "-": operator.sub,
    "//": operator.floordiv,
    "/": operator.truediv,
}


class _NotConstant(Exception):
    pass


def constant_problems(tree: nodes.Template) -> list[str]:
    """What the constant expressions of ``tree`` break (``7 ** 900000000``, ``'a' * 10**9``,
    ``range(10**9)``), found without rendering; each problem once."""
    found: dict[str, None] = {}
    for node in tree.find_all((nodes.BinExpr, nodes.Call)):
        try:
            if isinstance(node, nodes.BinExpr):
                check_binop(node.operator, _constant(node.left), _constant(node.right))
            elif isinstance(node, nodes.Call) and _is_name(node.node, "range"):
                arguments = [_constant(a) for a in node.args]
                if all(_is_int(a) for a in arguments) and arguments:
                    _bounded_range(*arguments)
        except TemplateLimitError as exc:
            found[str(exc)] = None
        except (_NotConstant, ArithmeticError, TypeError, ValueError):
            continue
    return list(found)


def _is_name(node: nodes.Node, name: str) -> bool:
    return isinstance(node, nodes.Name) and node.name == name


def _constant(node: nodes.Node) -> Any:
    """The value of a constant expression, computed within the limits (else raises)."""
    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, nodes.Neg):
        return -_constant(node.node)
    if isinstance(node, nodes.BinExpr) and node.operator in _BOUNDED_OPS | {"-", "//", "/"}:
        left, right = _constant(node.left), _constant(node.right)
        check_binop(node.operator, left, right)
        return _ARITHMETIC[node.operator](left, right)
    raise _NotConstant
