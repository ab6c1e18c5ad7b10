"""Scalars as ruamel.yaml's safe loader reads them for SimpleInventory: YAML 1.2's rules, in
ruamel's order and with its regular expressions (ruamel/yaml/resolver.py and constructor.py), for
:mod:`nornir_runbook.project.fastyaml`. A plain scalar (unquoted, untagged) is resolved by its
text; a tagged one (``!!int "12"``) built for its tag."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import Any

import yaml

TAG = "tag:yaml.org,2002:"


class YAMLLoadError(yaml.MarkedYAMLError):
    """Bad YAML: ``problem`` says what, ``problem_mark`` (0-based line and column) where."""


def error(problem: str, mark: Any) -> YAMLLoadError:
    return YAMLLoadError(problem=problem, problem_mark=mark)


class Special:
    """A plain ``<<`` (merge) or ``=`` (value) key: meaningful as a mapping key only."""

    __slots__ = ("tag", "text")

    def __init__(self, tag: str, text: str) -> None:
        self.tag = tag
        self.text = text


MERGE = TAG + "merge"
VALUE = TAG + "value"

# -- scalars ------------------------------------------------------------------------------------
# ruamel.yaml's YAML 1.2 implicit resolvers (ruamel/yaml/resolver.py), in its order: a plain
# scalar takes the tag of the first that matches, tried by its first character.
_RESOLVERS: list[tuple[str, re.Pattern[str], tuple[str, ...]]] = [
    ("bool", re.compile("^(?:true|True|TRUE|false|False|FALSE)$"), tuple("tTfF")),
    (
        "float",
        re.compile(
            r"""^(?:
             [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
            |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
            |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
            |[-+]?\.(?:inf|Inf|INF)
            |\.(?:nan|NaN|NAN))$""",
            re.X,
        ),
        tuple("-+0123456789."),
    ),
    (
        "int",
        re.compile(
            r"""^(?:[-+]?0b[0-1_]+
            |[-+]?0o?[0-7_]+
            |[-+]?[0-9_]+
            |[-+]?0x[0-9a-fA-F_]+)$""",
            re.X,
        ),
        tuple("-+0123456789"),
    ),
    ("merge", re.compile("^(?:<<)$"), ("<",)),
    ("null", re.compile("^(?:~|null|Null|NULL|)$"), ("~", "n", "N", "")),
    (
        "timestamp",
        re.compile(
            r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
            |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
            (?:[Tt]|[ \t]+)[0-9][0-9]?
            :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
            (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
            re.X,
        ),
        tuple("0123456789"),
    ),
    ("value", re.compile("^(?:=)$"), ("=",)),
]
_BY_FIRST: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
for _name, _pattern, _firsts in _RESOLVERS:
    for _first in _firsts:
        _BY_FIRST.setdefault(_first, []).append((TAG + _name, _pattern))


RESOLVED = frozenset(_BY_FIRST)  # a plain scalar that starts otherwise is a string


def _int(text: str) -> int:
    """ruamel's ``construct_yaml_int`` for YAML 1.2."""
    digits = text.replace("_", "")
    sign = -1 if digits[0] == "-" else 1
    if digits[0] in "+-":
        digits = digits[1:]
    if digits == "0":
        return 0
    for prefix, base in (("0b", 2), ("0x", 16), ("0o", 8)):
        if digits.startswith(prefix):
            return sign * int(digits[2:], base)
    return sign * int(digits)


def _float(text: str) -> float:
    """ruamel's ``construct_yaml_float`` for YAML 1.2."""
    digits = text.replace("_", "").lower()
    sign = -1 if digits[0] == "-" else 1
    if digits[0] in "+-":
        digits = digits[1:]
    if digits == ".inf":
        return sign * float("inf")
    if digits == ".nan":
        return float("nan")
    return sign * float(digits)


def _bool(text: str) -> bool:
    # ruamel's table: an explicit !!bool takes YAML 1.1's words too
    words = {"yes": True, "no": False, "y": True, "n": False, "on": True, "off": False}
    return {"true": True, "false": False, **words}[text.lower()]


def _timestamp(text: str) -> Any:
    from ruamel.yaml.util import create_timestamp, timestamp_regexp  # noqa: PLC0415 -- rare

    match = timestamp_regexp.match(text)
    if match is None:
        raise ValueError(f'failed to construct timestamp from "{text}"')
    return create_timestamp(**match.groupdict())


def _binary(text: str) -> bytes:
    try:
        return base64.decodebytes(text.encode("ascii"))
    except UnicodeEncodeError as exc:
        raise ValueError(f"failed to convert base64 data into ascii: {exc}") from None
    except binascii.Error as exc:
        raise ValueError(f"failed to decode base64 data: {exc}") from None


SCALARS: dict[str, Callable[[str], Any]] = {
    TAG + "str": str,
    TAG + "int": _int,
    TAG + "float": _float,
    TAG + "bool": _bool,
    TAG + "null": lambda _text: None,
    TAG + "timestamp": _timestamp,
    TAG + "binary": _binary,
    MERGE: lambda text: Special(MERGE, text),
    VALUE: lambda text: Special(VALUE, text),
}
COLLECTIONS = {TAG + name for name in ("map", "seq", "set", "omap", "pairs")}


def plain(text: str, mark: Any) -> Any:
    """A plain (unquoted, untagged) scalar's value, as ruamel resolves and builds it (``-_``
    looks like an integer to ruamel, then is not one: refused, as ruamel refuses it)."""
    for tag, pattern in _BY_FIRST.get(text[:1], ()):
        if pattern.match(text):
            return tagged(tag, text, mark)
    return text


def tagged(tag: str, text: str, mark: Any) -> Any:
    build = SCALARS.get(tag)
    if build is None:
        raise expected(tag, SCALAR, mark)
    try:
        return build(text)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError):
        # never the text itself, nor the exception's words about it: it may be a password
        raise error(f"not a valid {tag.replace(TAG, '!!')} value", mark) from None


MAP, SEQ, SCALAR = "mapping", "sequence", "scalar"
_KINDS = {TAG + "map": MAP, TAG + "set": MAP, TAG + "seq": SEQ}


def expected(tag: str, found: str, mark: Any) -> YAMLLoadError:
    """A tag on the wrong kind of value (``!!int {}``), or a tag nobody knows (``!foo``)."""
    if tag in SCALARS or tag in COLLECTIONS:
        kind = SCALAR if tag in SCALARS else _KINDS.get(tag, SEQ)
        return error(f"expected a {kind} node, but found {found}", mark)
    return error(f"could not determine a constructor for the tag {tag!r}", mark)
