"""A document's workspace: the warnings strip above its table, the Runs pane beside it, and the
view data kept in step with the run list.

The run list (ui.state DocumentState.run_list) is the truth; the view draws
``workspace_data.chart_report``. ``refresh_view`` rebuilds the view data off the GUI thread
whenever the runs drawn are not the runs shown, and drops a rebuild a newer one overtook. The
strip's buttons lead to the control that addresses each warning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer

from ui.runs_pane import RunsPane
from ui.state import AppState
from ui.warnings_data import (
    LONGER_RUN,
    PIN_CPUS,
    REPROFILE,
    SET_INPUTS,
    document_warnings,
    note_warnings,
)
from ui.warnings_strip import WarningsStrip
from ui.workspace_data import chart_keys, chart_report

if TYPE_CHECKING:
    from ui.loader import Document
    from ui.main_window import MainWindow
    from ui.model_view import ReportView
    from ui.runner import Runner



def refresh_view(state: AppState, runner: Runner, doc_id: int,
                 when_shown: Callable[[], None] | None = None,
                 on_error: Callable[[str], None] | None = None) -> None:
    """Rebuild the document's view data from its run list unless it shows those runs already
    (or a rebuild for them is under way); ``when_shown`` once it does."""
    doc = state.get(doc_id)
    if doc is None:
        return
    keys = chart_keys(doc.run_list)
    if keys == doc.drawn and doc.requested is None:
        if when_shown is not None:
            when_shown()
        return
    if when_shown is not None:
        doc.when_shown.append(when_shown)
    if keys == doc.requested:
        return
    doc.view_generation += 1
    doc.requested = keys
    _rebuild(state, runner, doc_id, doc.view_generation, keys, on_error)


def _rebuild(state: AppState, runner: Runner, doc_id: int, generation: int,
             keys: tuple[tuple[str, str, str], ...],
             on_error: Callable[[str], None] | None) -> None:
    from ui.loader import prepare_document

    doc = state.get(doc_id)
    assert doc is not None
    shown = chart_report(doc.run_list, doc.report)
    source, read_only = doc.document.source_path, doc.document.read_only

    def apply(document: Document) -> None:
        current = state.get(doc_id)
        if current is None or current.view_generation != generation:
            return  # closed, or overtaken by a newer rebuild
        current.drawn, current.requested = keys, None
        # the full report (every run) goes with the data: runs may have joined meanwhile
        state.update_document(doc_id, replace(document, report=current.report))
        waiting, current.when_shown = current.when_shown, []
        for callback in waiting:
            callback()

    def failed(message: str) -> None:
        current = state.get(doc_id)
        if current is not None and current.view_generation == generation:
            current.requested = None
            waiting, current.when_shown = current.when_shown, []
            for callback in waiting:
                callback()
        if on_error is not None:
            on_error(f"Cannot show the runs: {message}")

    runner.start(lambda _p, _c, _r: prepare_document(shown, source, read_only),
                 on_done=apply, on_error=failed)


class Workspace(QObject):
    """The window's side of every document's strip and Runs pane."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.state = window.state
        self.strips: dict[int, WarningsStrip] = {}
        self.panes: dict[int, RunsPane] = {}
        self.state.runs_changed.connect(self._runs_changed)
        self.state.document_closed.connect(self._closed)

    def furnish(self, view: ReportView) -> None:
        """Give a view its warnings strip and Runs pane, not yet tied to a document (the
        window prepares its next tab this way while a file is being analysed)."""
        if view.strip is not None:
            return
        strip, pane = WarningsStrip(), RunsPane()
        strip.apply_theme(self.window.theme)
        pane.apply_theme(self.window.theme)
        view.add_strip(strip)
        view.add_side_pane(pane)

    def attach(self, view: ReportView, doc_id: int) -> None:
        self.furnish(view)
        strip, pane = view.strip, view.side_pane
        assert isinstance(strip, WarningsStrip) and isinstance(pane, RunsPane)
        strip.action_requested.connect(lambda action, payload: self.act(doc_id, action, payload))
        pane.visibility_changed.connect(lambda _keys: self.state.set_visible_runs(doc_id))
        self.strips[doc_id], self.panes[doc_id] = strip, pane
        self._fill(doc_id)

    def strip(self, doc_id: int) -> WarningsStrip | None:
        return self.strips.get(doc_id)

    def pane(self, doc_id: int) -> RunsPane | None:
        return self.panes.get(doc_id)

    def apply_theme(self) -> None:
        for strip in self.strips.values():
            strip.apply_theme(self.window.theme)
        for pane in self.panes.values():
            pane.apply_theme(self.window.theme)

    # following the run list ---------------------------------------------------------------

    def _runs_changed(self, doc_id: int) -> None:
        self._fill(doc_id)
        view = self.window.view_of(doc_id)
        if view is not None:  # new or hidden runs: the Runs tab says what changed
            view.show_side_pane()
        refresh_view(self.state, self.window.runner, doc_id,
                     on_error=self.window.banner.add_error)

    def _fill(self, doc_id: int) -> None:
        doc, strip, pane = self.state.get(doc_id), self.strips.get(doc_id), self.panes.get(doc_id)
        if doc is None or strip is None or pane is None:
            return
        runs = doc.run_list
        pane.set_runs(runs)
        view = self.window.view_of(doc_id)
        if view is not None:
            count = len(runs.entries)
            view.set_side_pane_title(f"Runs ({count})" if count else "Runs")
        strip.set_warnings(document_warnings(doc.report, runs=runs.visible_runs(),
                                             extra=note_warnings(runs.notes)))

    def _closed(self, doc_id: int) -> None:
        self.strips.pop(doc_id, None)
        self.panes.pop(doc_id, None)

    # the pane's width, remembered -------------------------------------------------------

    # the strip's actions ------------------------------------------------------------------

    def act(self, doc_id: int, action: str, payload: str) -> None:
        """A warning's button: bring the control that addresses it to the user."""
        self.state.set_current(doc_id)
        panel = self.window.profile_panel
        self.window.show_panel(panel)
        if action == SET_INPUTS:
            panel.focus_input(payload)
        elif action == PIN_CPUS:
            panel.focus_cpus()
        elif action == LONGER_RUN:
            panel.focus_max_time()
        elif action == REPROFILE and payload:
            panel.check_devices([payload])
            QTimer.singleShot(0, panel.run)  # once the panel shows the document in front


def show_now(state: AppState, doc_id: int) -> None:
    """Rebuild the view data here, on the calling thread (for a report handed over in code);
    any rebuild under way is overtaken."""
    from ui.loader import prepare_document

    doc = state.get(doc_id)
    if doc is None:
        return
    shown = chart_report(doc.run_list, doc.report)
    document = prepare_document(shown, doc.document.source_path, doc.document.read_only)
    doc.view_generation += 1
    doc.drawn, doc.requested = chart_keys(doc.run_list), None
    state.update_document(doc_id, replace(document, report=doc.report))
    waiting, doc.when_shown = doc.when_shown, []
    for callback in waiting:
        callback()
