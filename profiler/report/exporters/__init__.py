"""Exporters: each renders a Report to one format. The output format follows the extension."""

from __future__ import annotations

import importlib
import os
import secrets
import stat
from collections.abc import Callable

from profiler.errors import UsageError
from profiler.records.report import Report

Renderer = Callable[[Report], str]


EXPORTER_MODULES = {".json": "json_export", ".csv": "csv_export", ".md": "markdown_export",
                    ".html": "html_export"}


def _renderers() -> dict[str, Renderer]:
    """Each exporter is imported when its format is written: JSON never loads the templates."""
    return {extension: _imported_on_call(module) for extension, module in EXPORTER_MODULES.items()}


def _imported_on_call(module: str) -> Renderer:
    def renderer(report: Report) -> str:
        return str(importlib.import_module(f"{__name__}.{module}").render(report))

    return renderer


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
    """Render by the extension of ``path`` and write it with write_text. Never writes over
    the model's files."""
    _refuse_model_file(report, path)
    check_output_path(path)
    write_text(render(report, os.path.splitext(path)[1]), path)


def write_text(text: str, path: str) -> None:
    """Write atomically (temp file + rename): a failure leaves no partial file and any
    previous file intact. Never over a pipe, device, socket or folder (a rename would
    replace it with a file)."""
    check_output_path(path)
    data = text.encode("utf-8", "replace")  # lone surrogates (from a JSON file) become '?'
    directory = os.path.dirname(os.path.abspath(path))
    # A short name of our own: any legal output name still leaves room for it.
    temporary = os.path.join(directory, f".edgeprof-{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "xb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except OSError as error:
        raise UsageError(f"{path}: cannot write ({error.strerror or error})") from None
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)


SPECIAL_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"),
                 (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"),
                 (stat.S_ISBLK, "a device"))


def check_output_path(path: str) -> None:
    """Refuse an output that exists and is not a regular file (links are followed)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):  # not there yet (or unreachable: the write will say why)
        return
    for test, kind in SPECIAL_KINDS:
        if test(mode):
            raise UsageError(f"-o {path}: is {kind}, not a file; give a regular file name")


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
