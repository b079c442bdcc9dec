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
    """Render by the extension of ``path`` and write atomically (temp file + rename): a failure
    leaves no partial file and any previous file intact. Never writes over the model's files."""
    _refuse_model_file(report, path)
    text = render(report, os.path.splitext(path)[1])
    data = text.encode("utf-8", "replace")  # lone surrogates (from a JSON file) become '?'
    directory = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except OSError as error:
        raise UsageError(f"{path}: cannot write the report ({error.strerror or error})") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _refuse_model_file(report: Report, path: str) -> None:
    """``-o`` naming the model (or a link to it) would replace the input: refused."""
    for model_file in report.model.files if report.model else []:
        if same_file(model_file, path):
            raise UsageError(f"-o {path}: that is the model file {model_file}; choose another "
                             "output file")


def same_file(first: str, second: str) -> bool:
    """True when both paths name one file (links included); a missing path is no match."""
    try:
        return os.path.samefile(first, second)
    except (OSError, ValueError):  # either does not exist (yet): not the same file
        return False
