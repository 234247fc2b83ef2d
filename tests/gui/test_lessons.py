"""Make a lesson in the app, save it, reopen it after a restart, present it with PageDown only."""
from __future__ import annotations

import json

import numpy as np
import pytest

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QApplication, QFileDialog, QMessageBox

from cnnviz.gui.lessons.presentation import font_scale_for
from tests.gui.helpers import make_window


@pytest.fixture(autouse=True)
def unsaved_lessons_are_discarded(monkeypatch):
    """A window closed at the end of a test with an unsaved lesson asks nothing (here: Discard)."""
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.Discard))


def lesson_window(qtbot):
    """The window as app.main builds it, with its Lesson panel (and presentation mode)."""
    window = make_window(qtbot)
    panel = window.lesson_panel
    window.activateWindow()  # shortcuts go to the active window
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    return window, panel


def press(qtbot, window, key, modifiers=Qt.NoModifier):
    qtbot.keyClick(window, key, modifiers)


def test_make_save_reopen_and_present_a_lesson_with_pagedown_only(qtbot, tmp_path, monkeypatch, messages):
    path = tmp_path / "my"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path) + ".cnnviz-lesson.json", ""))

    window, panel = lesson_window(qtbot)
    for _ in range(3):
        press(qtbot, window, Qt.Key_Right)              # three conv windows in
    press(qtbot, window, Qt.Key_B, Qt.ControlModifier)  # slide 1: from here to the end of the step
    assert panel.list.count() == 1 and panel.list.item(0).text().startswith("Forward: conv2d_1")
    slide = panel.lesson.slides[0]
    assert (slide.start, slide.view, slide.weights, slide.input) == (3, "conv", "preset", {"test_index": 0})
    window.controller.jump_global(3 + 5)                # five frames further on ...
    qtbot.mouseClick(panel.to_button, Qt.LeftButton)    # ... "to here"
    assert (slide.start, slide.end) == (3, 8)
    panel.note.setPlainText("Point at the yellow window.")

    window.show_view("pool")
    window.controller.jump_global(2704)
    window.state.model.optimizer.momentum = 0.5         # an optimizer setting the slide keeps
    window.state.model.layers[0].params["kernel"][0, 0, 0, 0] += 1.0  # weights that are in no file yet
    press(qtbot, window, Qt.Key_B, Qt.ControlModifier)  # slide 2
    assert panel.list.count() == 2
    window.controller.jump_global(2704 + 4)
    qtbot.mouseClick(panel.to_button, Qt.LeftButton)
    press(qtbot, window, Qt.Key_S, Qt.ControlModifier | Qt.ShiftModifier)
    saved = path.with_name("my.cnnviz-lesson.json")
    data = json.loads(saved.read_text())
    assert data["title"] == "my"                          # a new lesson takes its file's name
    assert [s["view"] for s in data["slides"]] == ["conv", "pool"]
    assert data["slides"][0]["note"] == "Point at the yellow window."
    weights = data["slides"][1]["weights"]
    assert weights.startswith("my-02-forward-max-pooling2d-1") and (tmp_path / weights).is_file()
    assert data["slides"][1]["optimizer"]["momentum"] == 0.5
    window.close()
    from cnnviz.gui.lessons import export                # the lesson made in the app exports too

    assert export.main([str(saved), "--out", str(tmp_path / "out"), "--format", "gif", "--size", "480x320"]) == 0
    assert len(list((tmp_path / "out").glob("*.gif"))) == 2

    window, panel = lesson_window(qtbot)                # after a restart
    press(qtbot, window, Qt.Key_O, Qt.ControlModifier | Qt.ShiftModifier)
    assert [panel.list.item(k).text().split(" (")[0] for k in range(2)] == ["Forward: conv2d_1",
                                                                            "Forward: max_pooling2d_1"]
    assert not messages
    assert window.controller.cursor.position == 3 and window.tabs.currentWidget().name == "conv"

    press(qtbot, window, Qt.Key_F5)
    assert panel.presentation.active and not window.side_dock.isVisible() and not window.menuBar().isVisible()
    press(qtbot, window, Qt.Key_PageDown)                # plays the range 3..8
    qtbot.waitUntil(lambda: window.controller.cursor.position == 8, timeout=5000)
    assert not panel.timer.isActive()
    press(qtbot, window, Qt.Key_PageDown)                # the next slide, with its own weights and momentum
    assert window.controller.cursor.position == 2704 and window.tabs.currentWidget().name == "pool"
    assert window.state.model.optimizer.momentum == 0.5
    assert window.state.model.layers[0].params["kernel"][0, 0, 0, 0] == panel.prepared.model.layers[0].params[
        "kernel"][0, 0, 0, 0]
    assert panel.presenter.title.text().startswith("Forward: max_pooling2d_1")
    assert panel.presenter.next_title.text() == "Next: (end of the lesson)"
    press(qtbot, window, Qt.Key_B)                       # blank the screen, and back
    assert panel.presentation.blank.isVisible()
    press(qtbot, window, Qt.Key_B)
    press(qtbot, window, Qt.Key_PageUp)                  # back to the first slide
    assert window.controller.cursor.position == 3 and window.tabs.currentWidget().name == "conv"
    press(qtbot, window, Qt.Key_Escape)
    assert not panel.presentation.active and window.side_dock.isVisible() and window.menuBar().isVisible()
    assert window.actions_["forward"].isEnabled()


def test_a_lesson_with_broken_slides_opens_and_presents_the_rest(qtbot, tmp_path, messages):
    good = {"title": "Conv", "note": "", "model": "lecture", "weights": "preset", "input": {"test_index": 0},
            "optimizer": {"name": "sgd", "learning_rate": 0.01}, "view": "conv", "from": 0, "to": 2,
            "granularity": "frame", "fps": 1}  # slow: Right finishes the range before a tick
    path = tmp_path / "b.cnnviz-lesson.json"
    path.write_text(json.dumps({"format": "cnnviz-lesson", "version": 1, "slides": [
        good, {**good, "title": "Gone", "weights": "gone.npz"}, {**good, "title": "Hologram", "view": "hologram"},
        {**good, "title": "Pool", "view": "pool", "from": 2704, "to": 2704, "input": {"test_index": 5}}]}))
    window, panel = lesson_window(qtbot)
    assert panel.open(path)
    (title, text), = messages
    assert 'slide 2 "Gone": weights file \'gone.npz\' not found' in text
    assert 'slide 3 "Hologram": unknown view \'hologram\'' in text
    panel.present_action.trigger()                       # Lesson > Present
    press(qtbot, window, Qt.Key_Space)                   # play slide 1 (a clicker's PageDown, or Space) ...
    press(qtbot, window, Qt.Key_Right)                   # ... and Right finishes it at once
    assert window.controller.cursor.position == 2 and not panel.timer.isActive()
    press(qtbot, window, Qt.Key_PageDown)                # slides 2 and 3 are skipped
    assert panel.index == 3 and window.controller.cursor.position == 2704
    assert window.tabs.currentWidget().name == "pool"
    assert window.input_panel.index == 5 and window.state.description == "test sample 5"  # the Input tab agrees


def test_presentation_without_a_lesson_is_the_plain_layout(qtbot):
    window, panel = lesson_window(qtbot)
    press(qtbot, window, Qt.Key_F5)
    assert panel.presentation.active and panel.presentation.presenting is None
    height = window.screen().geometry().height()
    assert window.font_scale == pytest.approx(font_scale_for(height)) and not window.controls.isVisible()
    assert (font_scale_for(1080), font_scale_for(800), font_scale_for(1440), font_scale_for(2160)) == \
        pytest.approx((1.6, 1.2, 1.6 * 1440 / 1080, 2.4))
    press(qtbot, window, Qt.Key_PageDown)                # a clicker steps through the trace
    press(qtbot, window, Qt.Key_Right)                   # and the arrows still work
    assert window.controller.cursor.position == 2
    press(qtbot, window, Qt.Key_Escape)
    assert window.font_scale == 1.0 and window.controls.isVisible()


def test_slides_can_be_renamed_reordered_and_deleted(qtbot):
    window, panel = lesson_window(qtbot)
    press(qtbot, window, Qt.Key_B, Qt.ControlModifier)
    window.controller.jump_global(2704)
    press(qtbot, window, Qt.Key_B, Qt.ControlModifier)
    panel.list.item(0).setText("First")                  # what editing the item in place does
    assert panel.lesson.slides[0].title == "First"
    model = panel.list.model()
    model.moveRow(model.index(1, 0).parent(), 1, model.index(0, 0).parent(), 0)  # a drag of row 2 above row 1
    assert [s.title.split(" (")[0] for s in panel.lesson.slides] == ["Forward: max_pooling2d_1", "First"]
    panel.list.setCurrentRow(0)
    qtbot.mouseClick(panel.delete_button, Qt.LeftButton)
    assert [s.title for s in panel.lesson.slides] == ["First"]


def test_file_menu_exports_the_view_as_png_and_svg_and_the_step_as_gif_and_mp4(qtbot, tmp_path, monkeypatch,
                                                                                  messages):
    from PIL import Image
    from PyQt5.QtWidgets import QInputDialog

    window, panel = lesson_window(qtbot)
    actions = window.export_actions
    window.controller.jump_global(2704)                  # the first max-pooling step: 676 frames
    window.controller.set_granularity("row")             # 13 windows a row: 52 rows, and the last frame
    targets = iter([str(tmp_path / "view.png"), str(tmp_path / "view.svg"), str(tmp_path / "step.gif"),
                    str(tmp_path / "step.mp4")])
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (next(targets), ""))
    monkeypatch.setattr(QInputDialog, "getInt", lambda *a, **k: (1600, True))
    answers = iter(["this step", "plays once", "this step"])
    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: (next(answers), True))
    actions.image_action.trigger()
    with Image.open(tmp_path / "view.png") as image:
        assert image.width == 1600 and np.asarray(image).std() > 10
    actions.image_action.trigger()
    assert "<svg" in (tmp_path / "view.svg").read_text()[:2000]
    actions.animation_action.trigger()
    with Image.open(tmp_path / "step.gif") as gif:
        assert gif.n_frames == 53 and "loop" not in gif.info
    actions.animation_action.trigger()
    import imageio.v2 as imageio

    with imageio.get_reader(tmp_path / "step.mp4", format="FFMPEG") as video:
        assert sum(1 for _ in video) == 53
    assert window.controller.cursor.position == 2704 and not messages


def test_the_app_opens_a_lesson_given_on_the_command_line(tmp_path):
    from PyQt5.QtGui import QImage

    from cnnviz.gui import app
    from tests.gui.test_lesson_files import SHIPPED

    shot = tmp_path / "shot.png"
    assert app.main(["--lesson", str(SHIPPED[0]), "--screenshot", str(shot)]) == 0
    assert not QImage(str(shot)).isNull()


def test_the_presenter_view_goes_to_the_laptop_screen_when_there_are_two(qtbot, monkeypatch):
    window, panel = lesson_window(qtbot)
    press(qtbot, window, Qt.Key_B, Qt.ControlModifier)
    panel.note.setPlainText("Ask what a bigger kernel would do.")
    panel.note.setFocus()                                # the lecturer was typing the note
    press(qtbot, window, Qt.Key_F5)                      # one screen: no presenter view
    assert panel.presentation.active and not panel.presenter.isVisible()
    press(qtbot, QApplication.focusWidget() or window, Qt.Key_PageDown)  # the clicker plays the slide
    assert panel.timer.isActive() and panel.note.toPlainText() == "Ask what a bigger kernel would do."
    press(qtbot, window, Qt.Key_Escape)
    screen = QApplication.primaryScreen()
    monkeypatch.setattr(QApplication, "screens", staticmethod(lambda: [screen, screen]))
    press(qtbot, window, Qt.Key_F5)
    assert panel.presenter.isVisible() and panel.presenter.note.text() == "Ask what a bigger kernel would do."
    assert panel.presenter.next_title.text() == "Next: (end of the lesson)"
    press(qtbot, window, Qt.Key_Escape)
    assert not panel.presenter.isVisible()


def test_closing_with_an_unsaved_lesson_asks_first(qtbot, tmp_path, monkeypatch):
    window, panel = lesson_window(qtbot)
    press(qtbot, window, Qt.Key_B, Qt.ControlModifier)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: asked.append(a[2]) or QMessageBox.Cancel))
    assert not window.close() and window.isVisible() and asked == ["The lesson has changes that are not saved."]
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.Save))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "kept"), ""))
    assert window.close()
    assert (tmp_path / "kept.cnnviz-lesson.json").is_file()


def test_a_file_that_is_no_lesson_on_the_command_line_is_an_error(tmp_path, capsys):
    from cnnviz.gui import app

    path = tmp_path / "x.cnnviz-lesson.json"
    path.write_text("{}")
    assert app.main(["--lesson", str(path), "--screenshot", str(tmp_path / "s.png")]) == 2
    assert "not a cnnviz lesson" in capsys.readouterr().err and not (tmp_path / "s.png").exists()
