"""Settings › Targets: the boards to measure on, edited in the same TOML file the CLI's
``edgeprof-cli targets`` edits (profiler.remote.targets), and checked off the GUI thread.

The dialog keeps the fields it does not show (identity file, cache bound, ssh config) as the
file has them. Every value is validated as the file would be (``check_target``) before it is
kept; a refusal is shown in one line under the form. Saving, or the Refresh button, emits
``devices_requested``: the main window then asks each target for its devices (in the runner)
and hands them to the Profile panel's device list (``merge_devices``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from profiler.errors import ProfilerError
from profiler.remote.targets import (
    DEFAULT_PYTHON,
    Target,
    check_target,
    load_targets,
    save_targets,
)
from profiler.runtime.devices import DeviceInfo, split_target
from ui.runner import Runner

Checker = Callable[[Target], str]
"""Connects to a target and says what it runs (one or a few lines); raises ProfilerError."""
NO_PORT = 0


def check_board(target: Target) -> str:
    """``edgeprof-cli targets check``: the board's tool, protocols, Python and devices."""
    from profiler.remote.devices import board_info

    info = board_info(target)
    devices = ", ".join(d.id for d in info.devices) or "no devices"
    return (f"{target.name}: edge-model-profiler {info.version}, board protocol "
            f"{info.board_protocol}, Python {info.environment.get('python', '?')}; "
            f"{devices}")


def target_devices(_progress: Any, _cancel: threading.Event, _partial: Any
                   ) -> tuple[list[DeviceInfo], list[str]]:
    """Every declared target's devices (runner work): (devices, one line per target that
    did not answer)."""
    from profiler.remote.runner import target_devices as devices_of

    found: list[DeviceInfo] = []
    problems: list[str] = []
    for name in load_targets():
        try:
            found += devices_of(name)
        except ProfilerError as error:
            problems.append(f"{name}: {error}")
    return found, problems


def merge_devices(current: Sequence[DeviceInfo], remote: Sequence[DeviceInfo]
                  ) -> list[DeviceInfo]:
    """This machine's devices as they are, then the targets' (replacing earlier ones)."""
    return [d for d in current if not split_target(d.id)[0]] + list(remote)


class TargetsDialog(QDialog):
    devices_requested = Signal()
    """Saved, or Refresh pressed: the targets' devices should be asked again."""
    checked = Signal(str)
    """The outcome of Check, as shown (for tests and the status bar)."""

    def __init__(self, runner: Runner, path: str | None = None,
                 checker: Checker = check_board, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Targets")
        self.runner, self.path, self.checker = runner, path, checker
        self.targets: dict[str, Target] = {}
        self._build()
        self.reload()

    # layout --------------------------------------------------------------------------------

    def _build(self) -> None:
        self.names = QListWidget()
        self.names.currentTextChanged.connect(self._show)
        self.name, self.destination = QLineEdit(), QLineEdit()
        self.destination.setPlaceholderText("user@host or a ~/.ssh/config alias")
        self.port = QSpinBox()
        self.port.setRange(NO_PORT, 65535)
        self.port.setSpecialValueText("ssh config")
        self.python = QLineEdit(DEFAULT_PYTHON)
        self.accept_new = QCheckBox("Record the board's host key on first connect")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(self.names, 1)
        row.addLayout(self._form(), 2)
        layout.addLayout(row)
        layout.addWidget(self.message)
        layout.addWidget(self._buttons())
        # A fixed minimum (offscreen platforms warn when a shown window's limits change)
        hint = self.minimumSizeHint()
        self.setMinimumSize(max(620, hint.width()), hint.height() + 40)

    def _form(self) -> QVBoxLayout:
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("SSH destination", self.destination)
        form.addRow("Port", self.port)
        form.addRow("Python on the board", self.python)
        form.addRow("", self.accept_new)
        column = QVBoxLayout()
        column.addLayout(form)
        edits = QHBoxLayout()
        self.check_button = QPushButton("Check")
        self.check_button.setToolTip("Connect to the board and show what it runs")
        for text, slot in (("New", self.new_target), ("Keep", self.keep),
                           ("Remove", self.remove)):
            button = QPushButton(text)
            button.clicked.connect(slot)
            edits.addWidget(button)
        self.check_button.clicked.connect(self.check)
        edits.addWidget(self.check_button)
        column.addLayout(edits)
        column.addStretch(1)
        return column

    def _buttons(self) -> QDialogButtonBox:
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                               | QDialogButtonBox.StandardButton.Close)
        self.refresh_button = box.addButton("Refresh devices",
                                            QDialogButtonBox.ButtonRole.ActionRole)
        self.refresh_button.clicked.connect(self.devices_requested.emit)
        box.accepted.connect(self.save)
        box.rejected.connect(self.reject)
        return box

    # data ----------------------------------------------------------------------------------

    def reload(self) -> None:
        try:
            self.targets = load_targets(self.path)
        except ProfilerError as error:
            self.targets = {}
            self._say(str(error))
        self._list()

    def _list(self, current: str = "") -> None:
        self.names.clear()
        self.names.addItems(sorted(self.targets))
        matches = self.names.findItems(current, Qt.MatchFlag.MatchExactly) if current else []
        if matches:
            self.names.setCurrentItem(matches[0])
        elif self.names.count():
            self.names.setCurrentRow(0)
        else:
            self.new_target()

    def _show(self, name: str) -> None:
        target = self.targets.get(name)
        if target is None:
            return
        self.name.setText(target.name)
        self.destination.setText(target.destination)
        self.port.setValue(target.port or NO_PORT)
        self.python.setText(target.python)
        self.accept_new.setChecked(target.accept_new_host_key)

    def new_target(self) -> None:
        self.names.clearSelection()
        for field in (self.name, self.destination):
            field.clear()
        self.port.setValue(NO_PORT)
        self.python.setText(DEFAULT_PYTHON)
        self.accept_new.setChecked(False)
        self.name.setFocus()

    def edited(self) -> Target:
        """The form as a Target (the fields it does not show kept); TargetConfigError."""
        name = self.name.text().strip()
        base = self.targets.get(name) or Target(name=name, destination="")
        target = replace(base, name=name, destination=self.destination.text().strip(),
                         port=self.port.value() or None,
                         python=self.python.text().strip(),
                         accept_new_host_key=self.accept_new.isChecked())
        return check_target(target, where=f"target {name or '(no name)'}")

    def keep(self) -> bool:
        """Validate the form and keep it in the list (not yet in the file)."""
        try:
            target = self.edited()
        except ProfilerError as error:
            self._say(str(error))
            return False
        self.targets[target.name] = target
        self._list(target.name)
        self._say(f"{target.name}: kept; Save writes the targets file")
        return True

    def remove(self) -> None:
        name = self.name.text().strip()
        if self.targets.pop(name, None) is not None:
            self._list()
            self._say(f"{name}: removed; Save writes the targets file")

    def save(self) -> None:
        if self.name.text().strip() and not self.keep():
            return
        try:
            written = save_targets(self.targets, self.path)
        except ProfilerError as error:
            self._say(str(error))
            return
        self._say(f"wrote {written}")
        self.devices_requested.emit()
        self.accept()

    def check(self) -> None:
        """Connect with the form's values, off the GUI thread."""
        try:
            target = self.edited()
        except ProfilerError as error:
            self._say(str(error))
            return
        self._say(f"{target.name}: connecting…")
        self.check_button.setEnabled(False)
        self.runner.start(lambda _p, _c, _s: self.checker(target),
                          on_done=self._checked, on_error=self._checked)

    def _checked(self, text: object) -> None:
        self.check_button.setEnabled(True)
        self._say(str(text))
        self.checked.emit(str(text))

    def _say(self, text: str) -> None:
        self.message.setText(text)
