"""Every keyboard shortcut does what Help > Shortcuts says."""
from __future__ import annotations

import pytest
from PyQt5.QtCore import Qt

from cnnviz.gui.main_window import SHORTCUTS
from tests.gui.helpers import make_window


@pytest.fixture
def window(qtbot):
    window = make_window(qtbot)
    window.activateWindow()
    return window


def test_space_plays_and_pauses(qtbot, window):
    qtbot.keyClick(window, Qt.Key_Space)
    assert window.controller.playing and window.play_button.text() == "Pause"
    qtbot.waitUntil(lambda: window.controller.cursor.position > 0, timeout=2000)
    qtbot.keyClick(window, Qt.Key_Space)
    assert not window.controller.playing and window.play_button.text() == "Play"


def test_arrows_step_frames_and_shift_arrows_step_layers(qtbot, window):
    qtbot.keyClick(window, Qt.Key_Right)
    qtbot.keyClick(window, Qt.Key_Right)
    assert window.controller.cursor.position == 2
    qtbot.keyClick(window, Qt.Key_Left)
    assert window.controller.cursor.position == 1
    qtbot.keyClick(window, Qt.Key_Right, Qt.ShiftModifier)
    assert (window.controller.cursor.step, window.controller.cursor.frame) == (1, 0)
    assert window.strip.buttons[1].isChecked()
    qtbot.keyClick(window, Qt.Key_Right, Qt.ShiftModifier)
    qtbot.keyClick(window, Qt.Key_Left, Qt.ShiftModifier)
    assert window.controller.cursor.step == 1
    qtbot.keyClick(window, Qt.Key_Home)
    assert window.controller.cursor.position == 0
    assert "frame 1/" in window.position_label.text()


def test_plus_and_minus_change_the_speed(qtbot, window):
    fps = window.controller.fps
    qtbot.keyClick(window, Qt.Key_Plus, Qt.ShiftModifier)  # "+" as a keyboard sends it: Shift and '='
    assert window.controller.fps > fps and window.fps_spin.value() == window.controller.fps
    faster = window.controller.fps
    qtbot.keyClick(window, Qt.Key_Plus, Qt.KeypadModifier)  # the keypad's +
    assert window.controller.fps > faster
    for _ in range(3):
        qtbot.keyClick(window, Qt.Key_Minus)
    assert window.controller.fps < fps and window.fps_spin.value() == window.controller.fps


def test_f11_toggles_full_screen(qtbot, window):
    qtbot.keyClick(window, Qt.Key_F11)
    qtbot.waitUntil(window.isFullScreen, timeout=2000)
    qtbot.keyClick(window, Qt.Key_F11)
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=2000)


def test_ctrl_plus_minus_scale_every_font(qtbot, window):
    size = window.equation.font().pointSizeF()
    title = window.views["conv"].input.font_size
    qtbot.keyClick(window, Qt.Key_Equal, Qt.ControlModifier)
    assert window.font_scale > 1
    assert window.equation.font().pointSizeF() > size
    assert window.granularity_combo.font().pointSizeF() > size
    assert window.views["conv"].input.font_size > title
    qtbot.keyClick(window, Qt.Key_Minus, Qt.ControlModifier)
    assert window.font_scale == pytest.approx(1.0)
    assert window.equation.font().pointSizeF() == pytest.approx(size)


def test_help_shortcuts_dialog_lists_them_all(qtbot, window):
    action = next(a for a in window.help_menu.actions() if a.text() == "Shortcuts")
    action.trigger()
    dialog = window.shortcuts_dialog
    qtbot.waitExposed(dialog)
    text = dialog.text.toPlainText()
    for keys, what in SHORTCUTS:
        assert keys in text and what in text
    for needed in ("Space", "Shift+Right", "Home", "F11", "Ctrl+=", "padding", "white is zero", "Notation",
                   "δᵏ = ∂E/∂aᵏ", "the pre-activation of layer k"):
        assert needed in text
    for keys, command in (("Ctrl+O", "File > Open image"), ("F1", "Help > Shortcuts"), ("Ctrl+Q", "File > Quit")):
        assert keys in text and command in text


def test_playing_a_whole_pass_by_steps_ends_on_the_last_update(qtbot, window):
    """The speed controls a lecturer uses: granularity 'step', 2 per tick, 60 fps, then Space."""
    window.granularity_combo.setCurrentText("step")
    window.tick_spin.setValue(2)
    window.fps_spin.setValue(60)
    assert (window.controller.granularity, window.controller.frames_per_tick, window.controller.fps) == ("step", 2, 60)
    qtbot.keyClick(window, Qt.Key_Space)
    with qtbot.waitSignal(window.controller.playing_changed, timeout=5000):
        pass
    assert window.controller.at_end() and window.play_button.text() == "Play"
    assert window.tabs.currentWidget() is window.views["update"]
    last = window.state.trace.steps[-1]
    assert last.title in window.equation.toPlainText()


def test_ctrl_plus_scales_colour_bar_ticks_and_keeps_the_prediction_a_headline(qtbot, window):
    panel = window.views["conv"].input
    before = panel.colorbar.axis.style["tickFont"]
    for _ in range(3):
        qtbot.keyClick(window, Qt.Key_Equal, Qt.ControlModifier)
    after = panel.colorbar.axis.style["tickFont"]
    assert after is not None and (before is None or after.pointSizeF() > before.pointSizeF())
    assert after.pointSizeF() >= 12
    label = window.input_panel.prediction
    assert "x-large" in label.text(), "the headline is sized relative to the (scaled) body font"
