"""Parsers behind a step's ``parse:`` key: one command's output as structured data.

- ``textfsm``: the template that ntc-templates' index gives for the host's platform and the
  command (abbreviations included: the index says ``sh[[ow]] ver[[sion]]``), or the user's own
  ``parse_template``. Records are dicts with lower-case keys, as ntc-templates and Netmiko give
  them; output that matches no record is an empty list.
- ``ttp``: the user's template (ttp has no index), parsed as ttp's ``result()`` gives it: a list
  per template of a list per input, so ``[[{...}]]`` for one template and this one output.
- ``genie``: Genie's parser for the command on the host's os (``cisco_ios`` is Genie's ``ios``);
  a dict, empty when Genie finds nothing in the output.

Platforms are Netmiko's device types; Napalm's names (``ios``, ``eos``...) are read as
nornir_netmiko maps them. Every failure is a :class:`ParseError` whose message a user reads:
the step fails with it, and ``nrb validate`` shows what :func:`template_problem` finds before
any connection. textfsm, ntc_templates, ttp and genie are imported inside functions, so that
``nrb --help`` loads none of them. A :class:`Template` carries its text, not only its path, so a
parse runs the same in a worker process or on a dask worker.
"""

from __future__ import annotations

import functools
import importlib
import io
import os
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nornir_runbook.text import did_you_mean, suggest

PARSERS: tuple[str, ...] = ("textfsm", "ttp", "genie")

# the packages each optional parser needs, by extra (textfsm comes with Netmiko)
_EXTRAS: dict[str, tuple[str, ...]] = {"ttp": ("ttp",), "genie": ("genie", "pyats")}
# Napalm's platform names, as nornir_netmiko maps them to Netmiko's
_NAPALM = {
    "ios": "cisco_ios",
    "nxos": "cisco_nxos",
    "nxos_ssh": "cisco_nxos",
    "eos": "arista_eos",
    "junos": "juniper_junos",
    "iosxr": "cisco_xr",
}
_TRANSPORTS = ("_ssh", "_telnet", "_serial")  # Netmiko's cisco_ios_telnet is cisco_ios
# ntc-templates files IOS XE under cisco_ios (Netmiko retries cisco_xe as cisco_ios too)
_TEXTFSM_ALIASES = {"cisco_xe": "cisco_ios"}
# Netmiko's platforms that Genie has parsers for (netmiko.utilities.get_structured_data_genie)
_GENIE_OS = {
    "cisco_ios": "ios",
    "cisco_xe": "iosxe",
    "cisco_xr": "iosxr",
    "cisco_nxos": "nxos",
    "cisco_asa": "asa",
    "juniper_junos": "junos",
    "linux": "linux",
}
# Genie's parser lookup and its Device are not documented as thread-safe: one parse at a time
_GENIE_LOCK = threading.Lock()


class ParseError(Exception):
    """A command's output could not be parsed; str() is the message a user sees, e.g.
    "no textfsm template for platform 'arista_eos' and command 'show foo'" or
    "parse: ttp needs the ttp package: pip install 'nornir-runbook[ttp]'"."""


@dataclass(frozen=True, slots=True)
class Template:
    """A user's own template (``parse_template``), read when the plan is made."""

    path: str  # as written, for messages
    text: str  # its contents: travels to worker processes and dask workers


def read_template(path: Path) -> Template:
    """The template at ``path``; :class:`ParseError` naming it when it cannot be read."""
    try:
        return Template(path=str(path), text=path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ParseError(f"template {str(path)!r} is not UTF-8 text") from None
    except OSError as exc:
        raise ParseError(f"cannot read template {str(path)!r}: {exc.strerror or exc}") from None


def parse_output(
    parser: str,
    *,
    platform: str | None,
    command: str,
    output: str,
    template: Template | None = None,
) -> Any:
    """Structured data for one command's output (see the module's docstring for each parser's
    shape); :class:`ParseError` when there is no template or parser for it, a package is
    missing, or the template does not fit the output."""
    return _prepare(parser, platform, command, template)(output)


def template_problem(
    parser: str,
    *,
    platform: str | None,
    command: str,
    template: Template | None = None,
) -> str | None:
    """For ``nrb validate``, before any connection: None when :func:`parse_output` could find
    a template (or parser) for this platform and command, else the message its
    :class:`ParseError` would give (a missing template naming both platform and command, a
    missing optional package, a template that does not compile). It runs the very lookup a
    parse runs, so the two always agree."""
    try:
        _prepare(parser, platform, command, template)
    except ParseError as exc:
        return str(exc)
    return None


# Each parser's lookup: everything short of reading an output (find the template or the
# parser, compile it), raising ParseError; what it returns parses one output.
_Prepare = Callable[[str | None, str, "Template | None"], Callable[[str], Any]]


def _prepare(
    parser: str, platform: str | None, command: str, template: Template | None
) -> Callable[[str], Any]:
    prepare = _PREPARE.get(parser)
    if prepare is None:
        raise ParseError(
            f"unknown parser {parser!r}; parsers: {', '.join(PARSERS)}"
            + did_you_mean(suggest(parser, PARSERS))
        )
    return prepare(platform, " ".join(command.split()), template)


# ---- textfsm ---------------------------------------------------------------------------------


def _prepare_textfsm(
    platform: str | None, command: str, template: Template | None
) -> Callable[[str], Any]:
    """The user's template, else ntc-templates' for ``platform`` and ``command``."""
    textfsm = _textfsm()
    if template is not None:
        try:
            fsm = textfsm.TextFSM(io.StringIO(template.text))
        except textfsm.TextFSMTemplateError as exc:
            raise ParseError(f"textfsm template {template.path!r} is invalid: {exc}") from None

        def parse_own(output: str) -> list[dict[str, Any]]:
            try:
                rows = fsm.ParseText(output)
            except textfsm.TextFSMError as exc:
                raise ParseError(_no_fit(template.path, exc)) from None
            return _records(fsm.header, rows)

        return parse_own

    name = _textfsm_platform(platform, command)
    table = _cli_table()  # one per parse: a CliTable keeps the rows it parsed
    row = table.index.GetRowMatch({"Platform": name, "Command": command})
    if not row:
        raise ParseError(f"no textfsm template for platform {name!r} and command {command!r}")
    templates = table.index.index[row]["Template"]

    def parse_indexed(output: str) -> list[dict[str, Any]]:
        try:
            table.ParseCmd(output, templates=templates)
        except textfsm.TextFSMError as exc:
            raise ParseError(_no_fit(templates, exc)) from None
        return _records(table.header, table)

    return parse_indexed


def _textfsm_platform(platform: str | None, command: str) -> str:
    """The platform under which ntc-templates files ``platform``'s templates."""
    if not platform:
        raise ParseError(_no_platform("textfsm", "a template", command))
    known = _index_platforms(_template_dir())
    for name in _candidates(platform, _TEXTFSM_ALIASES):
        if any(pattern.match(name) for pattern in known):
            return name
    names = sorted({pattern.pattern for pattern in known})
    raise ParseError(
        f"ntc-templates has no textfsm templates for platform {platform!r}"
        + did_you_mean(suggest(platform, names))
    )


@functools.cache
def _index_platforms(template_dir: str) -> tuple[re.Pattern[str], ...]:
    """The index's platforms, once per folder (reading them is half of a lookup's time)."""
    compiled = _textfsm().clitable.CliTable("index", template_dir).index.compiled
    return tuple(dict.fromkeys(row["Platform"] for row in compiled if row["Platform"]))


def _cli_table() -> Any:
    return _textfsm().clitable.CliTable("index", _template_dir())


def _textfsm() -> Any:
    import textfsm.clitable  # type: ignore[import-untyped]  # noqa: PLC0415

    return textfsm


def _template_dir() -> str:
    """ntc-templates' folder, or ``NTC_TEMPLATES_DIR`` as Netmiko and ntc-templates honour it."""
    configured = os.environ.get("NTC_TEMPLATES_DIR")
    if configured:
        return configured
    import ntc_templates  # type: ignore[import-untyped]  # noqa: PLC0415

    return str(Path(ntc_templates.__file__).parent / "templates")


def _records(header: list[str], rows: Iterable[Iterable[Any]]) -> list[dict[str, Any]]:
    keys = [name.lower() for name in header]
    return [dict(zip(keys, row, strict=True)) for row in rows]


def _no_fit(template: str, exc: Exception) -> str:
    return f"textfsm template {template!r} does not fit the output: {exc}"


# ---- ttp -------------------------------------------------------------------------------------


def _prepare_ttp(
    platform: str | None, command: str, template: Template | None
) -> Callable[[str], Any]:
    """The user's template, compiled (ttp has no index: it needs one)."""
    _require("ttp")
    if template is None:
        raise ParseError("parse: ttp needs a template of your own: parse_template: PATH")
    from ttp import ttp  # type: ignore[import-untyped]  # noqa: PLC0415

    try:
        parser = ttp(template=template.text, log_level="CRITICAL")
    except Exception as exc:  # noqa: BLE001 -- ttp raises what its XML and regex parsers raise
        raise ParseError(f"ttp template {template.path!r} is invalid: {exc}") from None

    def parse(output: str) -> Any:
        # ttp reads a string that names an existing file or folder, or starts with "ttp://",
        # as that file, folder or stored template: a device answering "." must not make it
        # parse the files of the working folder. Text between two newlines never names one;
        # ttp parses by line, so the empty lines add nothing.
        parser.add_input(f"\n{output}\n", template_name="_all_")
        try:
            parser.parse(one=True)
            return parser.result()
        except Exception as exc:  # noqa: BLE001 -- a template's functions may raise anything
            raise ParseError(f"ttp template {template.path!r} failed: {exc}") from None

    return parse


# ---- genie -----------------------------------------------------------------------------------


def _genie_os(platform: str | None, command: str, template: Template | None) -> str:
    """Genie's os for ``platform``."""
    _require("genie")
    if template is not None:
        raise ParseError("parse: genie takes no parse_template: Genie brings its own parsers")
    if not platform:
        raise ParseError(_no_platform("genie", "a parser", command))
    for name in _candidates(platform, {}):
        if name in _GENIE_OS:
            return _GENIE_OS[name]
    raise ParseError(
        f"genie has no parsers for platform {platform!r}"
        + did_you_mean(suggest(platform, _GENIE_OS))
    )


def _prepare_genie(
    platform: str | None, command: str, template: Template | None
) -> Callable[[str], Any]:
    """A Genie device with no connection, as Netmiko builds one to parse text, that has a
    parser for ``command``."""
    os_name = _genie_os(platform, command, template)
    from genie.conf.base import Device  # type: ignore[import-untyped]  # noqa: PLC0415
    from genie.libs.parser.utils import get_parser  # type: ignore[import-untyped]  # noqa: PLC0415
    from genie.libs.parser.utils.common import ParserNotFound  # type: ignore[import-untyped]  # noqa: PLC0415
    from genie.metaparser.util.exceptions import SchemaEmptyParserError  # type: ignore[import-untyped]  # noqa: PLC0415
    from pyats.datastructures import AttrDict  # type: ignore[import-untyped]  # noqa: PLC0415

    device = Device("nrb", os=os_name)
    device.custom.setdefault("abstraction", {})["order"] = ["os"]
    device.cli = AttrDict({"execute": None})
    with _GENIE_LOCK:
        try:
            get_parser(command, device)
        except ParserNotFound:
            raise ParseError(_no_parser(platform, command)) from None
        except Exception as exc:  # noqa: BLE001 -- an ambiguous abbreviation is a bare Exception
            raise ParseError(f"{_no_parser(platform, command)}: {_one_line(exc)}") from None

    def parse(output: str) -> Any:
        with _GENIE_LOCK:
            try:
                return dict(device.parse(command, output=output))
            except SchemaEmptyParserError:
                return {}
            except Exception as exc:  # noqa: BLE001 -- Genie's schema errors share no root
                reason = _one_line(exc)
                raise ParseError(
                    f"genie could not parse the output of {command!r}: {reason}"
                ) from None

    return parse


def _no_parser(platform: str | None, command: str) -> str:
    return f"no genie parser for platform {platform!r} and command {command!r}"


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


# ---- shared ----------------------------------------------------------------------------------


def _candidates(platform: str, aliases: dict[str, str]) -> list[str]:
    """``platform`` and the names it may be filed under: Netmiko's name for a Napalm one, the
    name without a transport (``cisco_ios_telnet``), and ``aliases``."""
    names = [_NAPALM.get(platform, platform)]
    names += [names[0].removesuffix(t) for t in _TRANSPORTS if names[0].endswith(t)]
    names += [aliases[name] for name in names if name in aliases]
    return names


def _require(parser: str) -> None:
    """:class:`ParseError` saying what to install when ``parser``'s packages are missing."""
    packages = _EXTRAS[parser]
    try:
        for package in packages:
            importlib.import_module(package)
    except ImportError:
        what = " and ".join(packages) + (" packages" if len(packages) > 1 else " package")
        raise ParseError(
            f"parse: {parser} needs the {what}: pip install 'nornir-runbook[{parser}]'"
        ) from None


def _no_platform(parser: str, what: str, command: str) -> str:
    return f"the host has no platform: {parser} needs one to find {what} for command {command!r}"


_PREPARE: dict[str, _Prepare] = {
    "textfsm": _prepare_textfsm,
    "ttp": _prepare_ttp,
    "genie": _prepare_genie,
}
