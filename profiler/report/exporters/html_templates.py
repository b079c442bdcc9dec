"""The HTML report's template engine: Jinja2 with autoescaping always on.

Templates, CSS and JS are package data under ``profiler/report/templates/``. Every value a
template prints is escaped by the engine; the only markup that enters unescaped is the page's
own CSS and JS and the SVG charts from ``profiler.report.svg`` and ``svg_scatter``, which
escape every text they place themselves (see ``chart``).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from markupsafe import Markup

if TYPE_CHECKING:
    import jinja2

TEMPLATE_PACKAGE = "profiler.report"
TEMPLATE_FOLDER = "templates"


@cache
def environment() -> jinja2.Environment:
    """One environment per process: templates are compiled once, on first use."""
    import jinja2  # only when a page is rendered: other exports and analyses skip its import

    return jinja2.Environment(
        loader=jinja2.PackageLoader(TEMPLATE_PACKAGE, TEMPLATE_FOLDER),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
        lstrip_blocks=True, keep_trailing_newline=True)


def render_template(name: str, **context: object) -> Markup:
    return Markup(environment().get_template(name).render(**context))


@cache
def static_text(name: str) -> str:
    """A CSS or JS file of the templates folder, without surrounding whitespace."""
    folder = resources.files(TEMPLATE_PACKAGE).joinpath(TEMPLATE_FOLDER)
    return folder.joinpath(name).read_text(encoding="utf-8").strip()


def chart(svg_text: str) -> Markup:
    """An SVG chart from profiler.report.svg or svg_scatter: trusted, because those builders
    escape every label, tooltip and attribute value they write."""
    return Markup(svg_text)
