"""``nrb report --html``: a report of a saved run as one self-contained HTML page.

The page is one file that works where it lands (a mail attachment, a ticket, a phone): its
styles are inline, and it has no script, font, image or link to anything outside it; a
Content-Security-Policy of ``default-src 'none'`` makes the browser refuse any such request all
the same. Outputs are folded in ``<details>`` (no JavaScript), and it prints with its colours.

The template (``report.html.j2``) is rendered by Jinja2 with autoescaping on: every string of
the run, which came from devices, runbooks or the inventory, is text on the page, never markup
(an output holding ``<script>`` or ``</details>`` shows as those characters).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import jinja2

from nornir_runbook.report.page import Page

TEMPLATE = "report.html.j2"


def render_html(page: Page) -> str:
    """The whole page, ending with a newline."""
    return _template().render(page=page).rstrip("\n") + "\n"


@cache
def _template() -> jinja2.Template:
    source = files(__package__).joinpath(TEMPLATE).read_text(encoding="utf-8")
    env = jinja2.Environment(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.from_string(source)
