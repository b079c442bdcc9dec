"""The summary card at the top of a report tab: the model, its totals, inputs/outputs, runs and
what could not be counted. Every name from the file is escaped before it reaches rich text."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from profiler.records.model import TensorSpec, values_text
from profiler.records.report import Report
from profiler.report.views import run_summary
from profiler.units import milliseconds, shape_text, si, size_bytes
from ui.elided_label import ElidedLabel
from ui.inputs_editor import app_text
from ui.theme import LIGHT, Theme

MAX_TENSORS = 4
TILES_ONE_ROW_PX = 860
"""Below this card width the six tiles go in two rows of three."""
MAX_LISTED = 6
BREAK_AFTER = "/_.,:;×x]"
"""Characters after which a long token may wrap (rich text breaks only at spaces otherwise)."""
LONG_TOKEN_CHARS = 24
ZERO_WIDTH_SPACE = "\u200b"


def breakable(text: str) -> str:
    """``text`` with wrap points inside tokens longer than LONG_TOKEN_CHARS (long tensor names,
    symbolic dims), so they wrap inside the card instead of running past it."""
    words = []
    for word in text.split(" "):
        if len(word) > LONG_TOKEN_CHARS:
            word = "".join(c + ZERO_WIDTH_SPACE if c in BREAK_AFTER else c for c in word)
        words.append(word)
    return " ".join(words)


def _e(value: object) -> str:
    return escape(breakable(str(value)), quote=True)


def _tile(key: str) -> tuple[QFrame, QLabel]:
    frame = QFrame()
    frame.setObjectName("tile")
    value = QLabel("-")
    value.setObjectName("tileValue")
    caption = QLabel(key)
    caption.setObjectName("tileKey")
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(10, 6, 10, 6)
    layout.setSpacing(0)
    layout.addWidget(caption)
    layout.addWidget(value)
    return frame, value


def _rich_label() -> QLabel:
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def subtitle_text(report: Report) -> str:
    model = report.model
    assert model is not None
    opsets = ", ".join(f"{domain or 'ai.onnx'} {version}"
                       for domain, version in sorted(model.opsets.items()))
    parts = [model.format.upper(), f"opset {opsets}" if opsets else "",
             f"IR {model.ir_version}" if model.ir_version else "",
             size_bytes(model.file_bytes), model.producer,
             f"sha256 {model.sha256[:12]}…" if model.sha256 else ""]
    return " · ".join(part for part in parts if part)


def _tensor_line(spec: TensorSpec) -> str:
    where = {"default": "dynamic dims set by default",
             "override": "shape set by override"}.get(spec.shape_source, "")
    declared = (f" (declared {_e(shape_text(spec.declared_shape))})"
                if spec.declared_shape is not None and spec.declared_shape != spec.shape else "")
    note = f" <i>{where}{declared}</i>" if where else declared
    values = f" · values {_e(values_text(spec))}" if spec.value_source else ""
    return f"<b>{_e(spec.name)}</b> {_e(spec.dtype)} {_e(shape_text(spec.shape))}{note}{values}"


def io_html(report: Report) -> str:
    model = report.model
    assert model is not None
    lines = []
    for kind, specs in (("in", model.inputs), ("out", model.outputs)):
        shown = [f"{kind} {_tensor_line(spec)}" for spec in specs[:MAX_TENSORS]]
        if len(specs) > MAX_TENSORS:
            shown.append(f"… {len(specs) - MAX_TENSORS} more {kind}puts")
        lines += shown
    return "<br>".join(lines)


def runs_html(report: Report, theme: Theme) -> str:
    lines = []
    for summary in map(run_summary, report.runs):
        if summary.error:
            lines.append(f"<b>{_e(summary.label)}</b> <span style='color:{theme.bad}'>failed "
                         f"({_e(summary.error)})</span>")
            continue
        fps = "" if summary.throughput_fps is None else f" · {summary.throughput_fps:.1f} fps"
        rss = "" if summary.peak_rss_bytes is None else (
            f" · peak RSS {size_bytes(summary.peak_rss_bytes)}")
        lines.append(f"<b>{_e(summary.label)}</b> p50 {milliseconds(summary.p50_ms)} · "
                     f"p99 {milliseconds(summary.p99_ms)}{fps}{rss}")
    return "<br>".join(lines)


def problems_html(report: Report, theme: Theme) -> str:
    analysis = report.analysis
    lines = []
    if analysis and analysis.unsupported_ops:
        ops = ", ".join(f"{_e(op)} ×{count}" for op, count in analysis.unsupported_ops.items())
        total = sum(analysis.unsupported_ops.values())
        lines.append(f"<span style='color:{theme.warn}'><b>{total} unsupported</b> (cost not "
                     f"counted): {ops}</span>")
    if analysis and analysis.unknown_shape_nodes:
        nodes = analysis.unknown_shape_nodes
        listed = ", ".join(_e(n) for n in nodes[:MAX_LISTED]) + (" …" if len(nodes) > 6 else "")
        lines.append(f"<span style='color:{theme.warn}'><b>{len(nodes)} with unknown shapes"
                     f"</b>: {listed}</span>")
    warnings = [*(report.model.warnings if report.model else []), *report.errors]
    lines += [f"<span style='color:{theme.warn}'>{_e(app_text(w))}</span>" for w in warnings]
    return "<br>".join(lines)


class SummaryCard(QFrame):
    TILES = ("MACs", "FLOPs", "Params", "Weights", "Peak activations", "Layers")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.report: Report | None = None
        self.theme = LIGHT
        # one-line labels elide (full text as tooltip): a long producer string or file name
        # must not widen the card past the window
        self.title = ElidedLabel(mode=Qt.TextElideMode.ElideMiddle)
        self.title.setObjectName("title")
        self.subtitle = ElidedLabel()
        self.subtitle.setObjectName("muted")
        self.origin = QLabel()
        self.origin.setObjectName("muted")
        self.values: dict[str, QLabel] = {}
        self.io, self.runs, self.problems = _rich_label(), _rich_label(), _rich_label()
        self._layout()

    def _layout(self) -> None:
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addWidget(self.subtitle, 1)
        header.addWidget(self.origin)
        self.tiles = tiles = QGridLayout()
        tiles.setHorizontalSpacing(8)
        tiles.setVerticalSpacing(6)
        self.tile_frames = []
        for column, key in enumerate(self.TILES):
            frame, self.values[key] = _tile(key)
            self.tile_frames.append(frame)
            tiles.addWidget(frame, 0, column)
        details = QHBoxLayout()
        details.addWidget(self.io, 3)
        details.addWidget(self.runs, 3)
        details.addWidget(self.problems, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(6)
        layout.addLayout(header)
        layout.addLayout(tiles)
        layout.addLayout(details)

    def resizeEvent(self, event: QResizeEvent) -> None:  # Qt override
        super().resizeEvent(event)
        self._arrange_tiles(len(self.TILES) if event.size().width() >= TILES_ONE_ROW_PX
                            else len(self.TILES) // 2)

    def _arrange_tiles(self, per_row: int) -> None:
        """One row of tiles when they fit, else two: values are never cut."""
        if self.tiles.columnCount() == per_row and self.tiles.rowCount() == (
                len(self.TILES) + per_row - 1) // per_row:
            return
        for index, frame in enumerate(self.tile_frames):
            self.tiles.removeWidget(frame)
            self.tiles.addWidget(frame, index // per_row, index % per_row)

    def set_report(self, report: Report) -> None:
        self.report = report
        model, analysis = report.model, report.analysis
        self.title.setText(model.name if model else "(no model)")
        self.subtitle.setText(subtitle_text(report) if model else "")
        if model:
            self.subtitle.setToolTip(f"{model.path}\n{self.subtitle.text()}")
        if analysis is not None:
            totals = analysis.totals
            figures = {"MACs": (si(totals.macs), f"{totals.macs:,}"),
                       "FLOPs": (si(totals.flops), f"{totals.flops:,}"),
                       "Params": (si(totals.params), f"{totals.params:,}"),
                       "Weights": (size_bytes(totals.weight_bytes), f"{totals.weight_bytes:,} B"),
                       "Peak activations": (size_bytes(totals.peak_activation_bytes),
                                            f"{totals.peak_activation_bytes:,} B"),
                       "Layers": (f"{totals.layer_count:,}", f"{totals.node_count:,} nodes")}
            for key, (text, exact) in figures.items():
                self.values[key].setText(text)
                self.values[key].setToolTip(exact)
        self._render_rich()

    def set_origin(self, text: str) -> None:
        self.origin.setText(text)

    def _render_rich(self) -> None:
        report = self.report
        if report is None:
            return
        self.io.setText(io_html(report) if report.model else "")
        self.runs.setText(runs_html(report, self.theme))
        self.problems.setText(problems_html(report, self.theme))
        self.runs.setVisible(bool(report.runs))
        self.problems.setVisible(bool(self.problems.text()))

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self._render_rich()
