"""The application state: the open documents, the one in front, and what belongs to each (its
report and runs, input settings, Profile and Quantize settings and results, selected layers).

Panels read it and ask it for changes; it announces every change with a signal carrying the
document id, so a result that arrives for a document in the background is kept for it and
shown when its tab comes to the front. It holds plain data (no widgets) and never knows which
views exist; the main window turns documents into tabs.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from profiler.model.input_settings import InputSettings
from ui.runs_data import RunList
from ui.settings import ProfileDefaults, QuantizeDefaults
from ui.workspace_data import HISTORY, REPORT, chart_keys, merged_report

if TYPE_CHECKING:
    from profiler.records.report import Report
    from profiler.records.runs import Run
    from ui.loader import Document


@dataclass
class ProgressRow:
    """One device's line in the Profile panel (or one variant/device in Quantize)."""

    label: str
    percent: int | None
    status: str


@dataclass
class Results:
    """What a panel last showed for one document: rows and a one-line message."""

    rows: list[ProgressRow] = field(default_factory=list)
    message: str = ""
    report: Report | None = None
    """The report the last job returned (with its runs or variants)."""


@dataclass
class DocumentState:
    id: int
    document: Document
    inputs: InputSettings = field(default_factory=InputSettings)
    profile: ProfileDefaults = field(default_factory=ProfileDefaults)
    quantize: QuantizeDefaults = field(default_factory=QuantizeDefaults)
    profile_results: Results = field(default_factory=Results)
    quantize_results: Results = field(default_factory=Results)
    selected_layers: list[int] = field(default_factory=list)
    run_list: RunList = field(default_factory=RunList)
    """Every run measured or reopened for this model (the report's runs are these)."""
    view_generation: int = 0
    """Counts view rebuilds asked for: a rebuild that is no longer the newest is dropped."""
    drawn: tuple[tuple[str, str, str], ...] = ()
    """The runs the document's view data shows (ui.workspace_data.chart_keys)."""
    requested: tuple[tuple[str, str, str], ...] | None = None
    """The runs of the rebuild in flight, if any."""
    when_shown: list[Callable[[], None]] = field(default_factory=list)
    """Called once the view data shows the runs requested."""

    @property
    def report(self) -> Report:
        return self.document.report

    @property
    def runs(self) -> list[Run]:
        return self.document.report.runs

    @property
    def warnings(self) -> list[str]:
        model = self.report.model
        return list(model.warnings) if model else []

    @property
    def name(self) -> str:
        model = self.report.model
        return model.name if model else os.path.basename(self.document.source_path) or "report"

    def model_path(self) -> tuple[str, str]:
        """The model file to run, or '' and why this document cannot be run."""
        model = self.report.model
        path = self.document.source_path if not self.document.read_only else (
            model.path if model else "")
        if not path or not os.path.isfile(path):
            return "", ("This saved report's model file is not on disk "
                        f"({path or 'no path'}); open the model to profile it.")
        return path, ""


class AppState(QObject):
    document_opened = Signal(int)
    document_changed = Signal(int)
    """Its report changed (new runs, variants, re-analysed inputs)."""
    document_closed = Signal(int)
    current_changed = Signal(object)
    """The id in front, or None."""
    selection_changed = Signal(int)
    settings_changed = Signal(int)
    """Inputs, Profile or Quantize settings of one document."""
    results_changed = Signal(int)
    """Profile or Quantize rows and messages of one document."""
    history_changed = Signal()
    runs_changed = Signal(int)
    """The document's run list changed (runs added, a batch ended, a run shown or hidden)."""

    def __init__(self, profile: ProfileDefaults | None = None,
                 quantize: QuantizeDefaults | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.documents: dict[int, DocumentState] = {}
        self.current_id: int | None = None
        self.profile_defaults = profile or ProfileDefaults()
        self.quantize_defaults = quantize or QuantizeDefaults()
        self._ids = itertools.count(1)

    # Reading
    def current(self) -> DocumentState | None:
        return self.documents.get(self.current_id) if self.current_id is not None else None

    def get(self, doc_id: int) -> DocumentState | None:
        return self.documents.get(doc_id)

    def find_source(self, source_path: str) -> DocumentState | None:
        return next((d for d in self.documents.values()
                     if source_path and d.document.source_path == source_path), None)

    def find_model(self, model_path: str) -> DocumentState | None:
        """The editable document of this model (a saved report is not one)."""
        return next((d for d in self.documents.values() if not d.document.read_only
                     and d.report.model is not None and d.report.model.path == model_path),
                    None)

    def find_sha256(self, sha256: str) -> DocumentState | None:
        """The editable document of the model with this content (history runs join it)."""
        return next((d for d in self.documents.values() if sha256 and not d.document.read_only
                     and d.report.model is not None and d.report.model.sha256 == sha256), None)

    # Requests
    def open(self, document: Document, source: str = REPORT) -> int:
        """A new document, or the one already showing this file gets the new content (its
        runs kept). ``source``: where the report's runs come from ('report', 'history')."""
        existing = self.find_source(document.source_path)
        if existing is not None:
            existing.run_list.add_report(document.report, source)
            merged = merged_report(existing.report, document.report, existing.run_list)
            self.update_document(existing.id, replace(document, report=merged))
            self.runs_changed.emit(existing.id)
            return existing.id
        doc_id = next(self._ids)
        state = DocumentState(doc_id, document, profile=replace(self.profile_defaults),
                              quantize=replace(self.quantize_defaults))
        state.run_list.add_report(document.report, source)
        state.drawn = chart_keys(state.run_list)  # its view data was built from these runs
        self.documents[doc_id] = state
        self.document_opened.emit(doc_id)
        return doc_id

    def close(self, doc_id: int) -> None:
        if self.documents.pop(doc_id, None) is None:
            return
        self.document_closed.emit(doc_id)
        if self.current_id == doc_id:
            self.set_current(next(iter(self.documents), None))

    def set_current(self, doc_id: int | None) -> None:
        if doc_id is not None and doc_id not in self.documents:
            return
        if doc_id != self.current_id:
            self.current_id = doc_id
            self.current_changed.emit(doc_id)

    def update_document(self, doc_id: int, document: Document) -> None:
        state = self.documents.get(doc_id)
        if state is not None:
            state.document = replace(document, source_path=state.document.source_path
                                     or document.source_path)
            self.document_changed.emit(doc_id)

    def add_runs(self, doc_id: int, report: Report, batch: int | None = None,
                 runs: list[Run] | None = None, source: str = HISTORY) -> list[str]:
        """Runs came back: merged into the run list (nothing replaced); the document's report
        becomes the newest one with every run. ``batch``: the Profile or Quantize press they
        belong to (``runs``: just the new ones); without, the report's runs join as
        ``source``. The view data follows with ui.workspace.refresh_view. The notes."""
        state = self.documents.get(doc_id)
        if state is None:
            return []
        if batch is None:
            notes = state.run_list.add_report(report, source)
        else:
            notes = [note for run in (report.runs if runs is None else runs)
                     for note in state.run_list.finish_run(batch, run, report.model,
                                                           report.created)]
        state.document = replace(state.document, report=merged_report(
            state.report, report, state.run_list))
        self.runs_changed.emit(doc_id)
        return notes

    def start_batch(self, doc_id: int, pairs: list[tuple[str, str]], source: str) -> int:
        state = self.documents.get(doc_id)
        if state is None:
            return 0
        batch = state.run_list.start_batch(pairs, source)
        self.runs_changed.emit(doc_id)
        return batch

    def mark_running(self, doc_id: int, batch: int, device: str, variant: str) -> None:
        state = self.documents.get(doc_id)
        if state is not None:
            state.run_list.mark_running(batch, device, variant)
            self.runs_changed.emit(doc_id)

    def end_batch(self, doc_id: int, batch: int,
                  reasons: dict[tuple[str, str], str] | None = None,
                  cancelled: bool = False) -> None:
        """Pairs never measured: skipped with the reason given (pairs the batch never
        queued, such as a variant on a device it does not run on, are listed too)."""
        state = self.documents.get(doc_id)
        if state is None:
            return
        state.run_list.end_batch(batch, reasons, cancelled)
        source = next((e.source for e in state.run_list.entries if e.key.batch == batch), "")
        for (device, variant), reason in (reasons or {}).items():
            state.run_list.add_skipped(batch, device, variant, reason, source)
        self.runs_changed.emit(doc_id)

    def set_visible_runs(self, doc_id: int) -> None:
        """The Runs pane changed which runs the charts show (the list is already updated)."""
        if doc_id in self.documents:
            self.runs_changed.emit(doc_id)

    def select_layers(self, doc_id: int, layers: list[int]) -> None:
        state = self.documents.get(doc_id)
        if state is not None and state.selected_layers != layers:
            state.selected_layers = list(layers)
            self.selection_changed.emit(doc_id)

    def set_inputs(self, doc_id: int, inputs: InputSettings) -> None:
        state = self.documents.get(doc_id)
        if state is not None and state.inputs != inputs:
            state.inputs = inputs
            self.settings_changed.emit(doc_id)

    def set_profile_settings(self, doc_id: int, profile: ProfileDefaults) -> None:
        state = self.documents.get(doc_id)
        if state is not None and state.profile != profile:
            state.profile = profile
            self.settings_changed.emit(doc_id)

    def set_quantize_settings(self, doc_id: int, quantize: QuantizeDefaults) -> None:
        state = self.documents.get(doc_id)
        if state is not None and state.quantize != quantize:
            state.quantize = quantize
            self.settings_changed.emit(doc_id)

    def set_results(self, doc_id: int, results: Results, quantize: bool = False) -> None:
        state = self.documents.get(doc_id)
        if state is None:
            return
        if quantize:
            state.quantize_results = results
        else:
            state.profile_results = results
        self.results_changed.emit(doc_id)

    def set_row(self, doc_id: int, row: ProgressRow, quantize: bool = False) -> None:
        """Add or replace the row with this label."""
        state = self.documents.get(doc_id)
        if state is None:
            return
        results = state.quantize_results if quantize else state.profile_results
        index = next((i for i, r in enumerate(results.rows) if r.label == row.label), None)
        if index is None:
            results.rows.append(row)
        else:
            old = results.rows[index]
            results.rows[index] = ProgressRow(row.label, row.percent if row.percent is not None
                                              else old.percent, row.status)
        self.results_changed.emit(doc_id)

    def set_message(self, doc_id: int, message: str, quantize: bool = False) -> None:
        state = self.documents.get(doc_id)
        if state is not None:
            (state.quantize_results if quantize else state.profile_results).message = message
            self.results_changed.emit(doc_id)
