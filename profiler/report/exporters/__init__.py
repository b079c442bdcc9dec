"""Exporters: each renders a Report to one format. The output format follows the extension."""

from __future__ import annotations

import os
from collections.abc import Callable

from profiler.errors import UsageError
from profiler.report.model import Report

Renderer = Callable[[Report], str]


def _renderers() -> dict[str, Renderer]:
    from profiler.report.exporters import csv_export, html_export, json_export, markdown_export

    return {
        ".json": json_export.render,
        ".csv": csv_export.render,
        ".md": markdown_export.render,
        ".html": html_export.render,
    }


EXPORT_EXTENSIONS = (".json", ".csv", ".md", ".html")


def render(report: Report, extension: str) -> str:
    renderer = _renderers().get(extension.lower())
    if renderer is None:
        raise UsageError(
            f"cannot write {extension or 'a file without extension'!r}; "
            f"use one of {', '.join(EXPORT_EXTENSIONS)}"
        )
    return renderer(report)


def write_report(report: Report, path: str) -> None:
    """Render by the extension of ``path`` and write atomically (temp file + rename)."""
    text = render(report, os.path.splitext(path)[1])
    directory = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except OSError as error:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise UsageError(f"{path}: cannot write the report ({error.strerror or error})") from None
