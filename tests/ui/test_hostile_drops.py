"""Every file of the hostile-input corpus dropped on the main window: an input the command line
refuses shows one message in the banner naming the problem (no tab, no traceback); an input
it accepts opens a tab. Either way the window stays usable: a good model opens afterwards.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.hostile_corpus import CASES, ERROR, SECRET_MARKER
from tests.ui.test_main_window import SQUEEZENET, drop_and_wait


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_drop_shows_a_message_and_the_window_stays_usable(qtbot, make_window,
                                                                  tmp_path: Path,
                                                                  name: str) -> None:
    case = CASES[name]
    path, expected = case.make(tmp_path)
    window = make_window()
    drop_and_wait(qtbot, window, [Path(path)])
    banner = window.banner.text()
    assert "Traceback" not in banner and SECRET_MARKER not in banner
    if case.outcome == ERROR:
        assert not window.banner.isHidden()
        assert expected in banner, banner
        assert window.tabs.count() == 0
    else:
        assert window.tabs.count() == 1, banner
    drop_and_wait(qtbot, window, [SQUEEZENET])
    assert window.banner.isHidden()
    assert window.tabs.tabText(window.tabs.count() - 1) == "light_squeezenet.onnx"
