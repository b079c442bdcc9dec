"""Light and dark themes: one set of colours for the Qt palette, the banners and the charts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

SERIES = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
          "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")
"""Categorical colours shared with the HTML report's charts (profiler/report/svg.py)."""
ICONS = Path(__file__).resolve().parent / "icons"
INDICATORS = ("QCheckBox::indicator", "QAbstractItemView::indicator", "QGroupBox::indicator")


@dataclass(frozen=True)
class Theme:
    name: str
    window: str
    base: str
    alternate: str
    text: str
    muted: str
    line: str
    accent: str
    warn: str
    bad: str
    card: str
    error_bg: str
    error_fg: str
    error_line: str
    info_bg: str
    info_fg: str
    info_line: str
    control_line: str
    """Borders of check boxes and other controls: >= 3:1 against window, base and card."""
    series: tuple[str, ...] = SERIES


LIGHT = Theme(
    name="light", window="#f3f4f6", base="#ffffff", alternate="#f6f8fa", text="#1f2328",
    muted="#59636e", line="#d1d9e0", accent="#0969da", warn="#9a6700",
    bad="#cf222e", card="#ffffff", error_bg="#fdecea", error_fg="#8a1c13",
    error_line="#f5c2bd", info_bg="#ddf4ff", info_fg="#0a3069", info_line="#9cd0f5",
    control_line="#818b98",
)
DARK = Theme(
    name="dark", window="#1e2227", base="#16191d", alternate="#1c2025", text="#e6edf3",
    muted="#9aa4ae", line="#3a414a", accent="#4493f8", warn="#d29922",
    bad="#f85149", card="#23282e", error_bg="#3d1c1c", error_fg="#ffc9c4",
    error_line="#7a2f2a", info_bg="#13304d", info_fg="#cde6ff", info_line="#2a5a8a",
    control_line="#8b949e",
)
THEMES = {LIGHT.name: LIGHT, DARK.name: DARK}


def theme_named(name: str) -> Theme:
    return THEMES.get(name, LIGHT)


def _palette(theme: Theme) -> QPalette:
    palette = QPalette()
    role = QPalette.ColorRole
    colours = {
        role.Window: theme.window, role.WindowText: theme.text, role.Base: theme.base,
        role.AlternateBase: theme.alternate, role.Text: theme.text, role.Button: theme.card,
        role.ButtonText: theme.text, role.ToolTipBase: theme.card, role.ToolTipText: theme.text,
        role.Highlight: theme.accent, role.HighlightedText: "#ffffff", role.Link: theme.accent,
        role.PlaceholderText: theme.muted, role.Mid: theme.line, role.Midlight: theme.line,
        role.Dark: theme.line, role.BrightText: "#ffffff",
    }
    for colour_role, colour in colours.items():
        palette.setColor(colour_role, QColor(colour))
    disabled = QPalette.ColorGroup.Disabled
    for colour_role in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(disabled, colour_role, QColor(theme.muted))
    return palette


def apply_theme(app: QApplication, theme: Theme) -> None:
    """Fusion style with the theme's palette: looks the same on every platform and in both
    themes (native styles ignore parts of a dark palette)."""
    app.setStyle("Fusion")
    app.setPalette(_palette(theme))
    app.setStyleSheet(_style_sheet(theme))


def _indicator_rules(theme: Theme) -> str:
    """Check box indicators drawn by the sheet: Fusion outlines them in a darker shade of the
    window colour, which vanishes on a dark window."""
    def rule(state: str, body: str) -> str:
        return ", ".join(f"{selector}{state}" for selector in INDICATORS) + f" {{ {body} }}"

    check, partial = (ICONS / "check.svg").as_posix(), (ICONS / "partial.svg").as_posix()
    return (
        rule("", f"width: 13px; height: 13px; border: 1px solid {theme.control_line}; "
                 f"border-radius: 3px; background: {theme.base};")
        + rule(":hover", f"border-color: {theme.accent};")
        + rule(":checked", f"background: {theme.accent}; border-color: {theme.accent}; "
                           f'image: url("{check}");')
        + rule(":indeterminate", f"background: {theme.accent}; border-color: {theme.accent}; "
                                 f'image: url("{partial}");')
        + rule(":disabled", f"border-color: {theme.line}; background: {theme.window};")
    )


def _style_sheet(theme: Theme) -> str:
    return _indicator_rules(theme) + (
        f"QToolTip {{ color: {theme.text}; background: {theme.card}; "
        f"border: 1px solid {theme.line}; padding: 4px; }}"
        f"QFrame#card {{ background: {theme.card}; border: 1px solid {theme.line}; "
        f"border-radius: 6px; }}"
        f"QFrame#tile {{ background: {theme.alternate}; border: 1px solid {theme.line}; "
        f"border-radius: 6px; }}"
        f"QLabel#tileValue {{ font-size: 17px; font-weight: 600; }}"
        f"QLabel#tileKey, QLabel#muted {{ color: {theme.muted}; }}"
        f"QLabel#title {{ font-size: 16px; font-weight: 600; }}"
    )
