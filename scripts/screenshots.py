"""Screenshots of the app at 1024x700, 1280x800 and 1920x1080, light and dark, for the docs.

For each size this starts an X server (Xvfb) with a screen of that size and runs the app in a
child process that opens the bundled sample model and a saved report with runs, fills the
screen with the window and grabs it (QWidget.grab) into docs/screenshots/. At 1280x800 and
1920x1080 it also profiles the sample twice on ov:CPU from the Profile panel (adaptive, a
short time cap) and grabs the workspace: the Runs pane with both runs, the note that FP32
was measured again and the warnings strip. Needs Xvfb (apt-get install xvfb). Usage:

    python scripts/screenshots.py [--report RUNS.json] [--out docs/screenshots]

Make the report with `edgeprof-cli profile resources/sample/mobilenetv2.onnx --device ov:CPU
--iterations 20 --no-history -o /tmp/runs.json`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "resources" / "sample" / "mobilenetv2.onnx"
SIZES = ((1024, 700), (1280, 800), (1920, 1080))
THEMES = ("light", "dark")
WORKSPACE_SIZES = ((1280, 800), (1920, 1080))
WORKSPACE_MAX_TIME_S = 2
"""A short cap: on a busy machine the run stops at it, and the strip says so."""
DISPLAY_NUMBER = 91


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", default="/tmp/runs.json", help="a saved report with runs")
    parser.add_argument("--out", default=str(REPO / "docs" / "screenshots"))
    parser.add_argument("--driver", nargs=3, metavar=("WIDTH", "HEIGHT", "OUT"),
                        help=argparse.SUPPRESS)  # the child: runs inside the X server
    return parser.parse_args()


def _start_xvfb(width: int, height: int) -> tuple[subprocess.Popen[bytes], str]:
    if shutil.which("Xvfb") is None:
        sys.exit("Xvfb is not installed: apt-get install xvfb")
    display = f":{DISPLAY_NUMBER}"
    server = subprocess.Popen(["Xvfb", display, "-screen", "0", f"{width}x{height}x24",
                               "-nolisten", "tcp"], stderr=subprocess.DEVNULL)
    socket = Path(f"/tmp/.X11-unix/X{DISPLAY_NUMBER}")
    for _ in range(100):  # the server is ready once its socket exists
        if socket.exists():
            return server, display
        time.sleep(0.05)
    server.kill()
    sys.exit(f"Xvfb did not start on {display}")


def capture_size(width: int, height: int, report: str, out: str) -> None:
    server, display = _start_xvfb(width, height)
    try:
        history = tempfile.mkdtemp()  # the workspace's runs stay out of the user's history
        env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb",
               "EDGEPROF_DATA_DIR": history}
        subprocess.run([sys.executable, __file__, "--report", report,
                        "--driver", str(width), str(height), out], env=env, check=True,
                       cwd=REPO, timeout=300)
    finally:
        server.terminate()
        server.wait()


def drive(width: int, height: int, report: str, out: str) -> None:
    """Inside the X server: open each document in each theme and grab the window."""
    sys.path.insert(0, str(REPO))
    from PySide6.QtWidgets import QApplication

    import ui.qt_compat  # noqa: F401 - before any signal is emitted
    from ui.main_window import MainWindow
    from ui.settings import AppSettings

    app = QApplication([sys.argv[0]])
    folder = tempfile.mkdtemp()
    window = MainWindow(AppSettings(os.path.join(folder, "screens.ini")))
    window.setGeometry(0, 0, width, height)
    window.show()
    documents = [("model", str(SAMPLE))] + ([("runs", report)] if os.path.exists(report) else [])
    for name, path in documents:
        window.open_paths([path])
        _wait(app, lambda: window.tabs.count() > 0 and window.loader.pending == 0)
        view = window.current_view()
        if view is not None and name == "runs":
            view.select_layer(max(range(len(view.document.data.layers)),
                                  key=lambda i: view.document.data.layers[i].macs or 0))
        for theme in THEMES:
            window.set_theme(theme)
            _wait(app, lambda: False, seconds=0.6)  # layouts and charts settle
            target = Path(out) / f"{name}-{width}x{height}-{theme}.png"
            window.grab().save(str(target))
            print(f"wrote {target}")
        window.close_current_tab()
    if (width, height) in WORKSPACE_SIZES:
        capture_workspace(app, window, f"{width}x{height}", out)
    window.close()


def capture_workspace(app: object, window: object, size: str, out: str) -> None:
    """Profile the sample twice on ov:CPU, then grab the window in each theme."""
    window.open_paths([str(SAMPLE)])  # type: ignore[attr-defined]
    _wait(app, lambda: window.tabs.count() > 0 and window.loader.pending == 0)  # type: ignore
    panel = window.profile_panel  # type: ignore[attr-defined]
    _wait(app, lambda: bool(panel.devices))
    panel.check_devices(["ov:CPU"])
    panel.stop_rule.setCurrentText("adaptive")
    panel.max_time.setValue(WORKSPACE_MAX_TIME_S)
    finished: list[object] = []
    panel.run_finished.connect(finished.append)
    for count in (1, 2):
        panel.run()
        _wait(app, lambda: len(finished) >= count, seconds=240.0)  # noqa: B023 - waits here
    doc = window.state.current()  # type: ignore[attr-defined]
    strip = window.workspace.strip(doc.id) if doc else None  # type: ignore[attr-defined]
    if strip is not None:  # the full list where the screen has room for it
        strip.set_expanded(size.endswith("1080"))
    for theme in THEMES:
        window.set_theme(theme)  # type: ignore[attr-defined]
        _wait(app, lambda: False, seconds=0.6)
        target = Path(out) / f"workspace-{size}-{theme}.png"
        window.grab().save(str(target))  # type: ignore[attr-defined]
        print(f"wrote {target}")


def _wait(app: object, done: object, seconds: float = 60.0) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end and not done():  # type: ignore[operator]
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.02)


def main() -> None:
    args = _parse_args()
    if args.driver:
        drive(int(args.driver[0]), int(args.driver[1]), args.report, args.driver[2])
        return
    if not SAMPLE.exists():
        sys.exit(f"{SAMPLE} is missing: make {SAMPLE.relative_to(REPO)}")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    for width, height in SIZES:
        capture_size(width, height, args.report, args.out)


if __name__ == "__main__":
    main()
