"""The app starts with a model and a sample, and --screenshot renders a PNG."""
from __future__ import annotations

import gc

from PyQt5.QtCore import QCoreApplication, QEvent
from PyQt5.QtGui import QImage

from cnnviz.gui import app
from cnnviz.gui.app import build_window, preset_model
from tests.gui.helpers import dataset, make_window


def test_window_launches_with_model_sample_and_first_frame(qtbot):
    window = make_window(qtbot)
    assert window.state.model.layers[0].name == "conv2d_1"
    assert window.state.trace.x.shape == (1, 28, 28, 1)
    assert window.state.trace.x.any(), "the first screen shows a real (non-empty) sample"
    assert window.controller.cursor.position == 0
    assert window.tabs.currentWidget() is window.views["conv"]
    assert "Forward: conv2d_1" in window.equation.toPlainText()
    assert window.strip.buttons[0].isChecked()


def test_the_app_state_drives_the_window(qtbot, messages):
    window = make_window(qtbot)
    for name in ("state", "controller", "file_menu", "view_menu", "help_menu"):
        assert hasattr(window, name)
    with qtbot.waitSignal(window.state.model_changed):
        window.state.set_model(app.preset_model("same-padding", None, seed=1))
    assert window.state.trace.model is window.state.model
    assert [b.text().split("\n")[0] for b in window.strip.buttons] == [layer.name for layer in window.state.model.layers]
    window.controller.jump_global(50)
    window.state.model.layers[0].params["kernel"][...] *= 2
    window.state.refresh_trace()
    assert window.controller.cursor.position == 50, "refresh keeps the cursor position"
    assert window.state.trace.records[0].params["kernel"][0, 0, 0, 0] == \
        window.state.model.layers[0].params["kernel"][0, 0, 0, 0]
    x = window.state.dataset.x_test[3]
    with qtbot.waitSignal(window.state.sample_changed):
        window.state.set_sample(x, int(window.state.dataset.y_test[3]))
    assert (window.state.trace.x[0] == x).all()
    with qtbot.waitSignal(window.state.message) as shown:  # one place for messages: a wrong label is refused
        window.input_panel.sample_chosen.emit(x, 99, "drawing")
    assert shown.args[0] == "warning" and "label 99" in shown.args[2]
    assert messages and "label 99" in messages[-1][1], "the window showed it"
    assert (window.state.trace.x[0] == x).all(), "the sample did not change"
    from PyQt5.QtWidgets import QLabel

    panel = QLabel("training")
    window.add_panel(panel, "Training")
    assert window.side_tabs.widget(window.side_tabs.count() - 1) is panel


def test_synthetic_sample_without_dataset(qtbot):
    window = app.build_window(app.preset_model("lecture", None, seed=0), None)
    qtbot.addWidget(window)
    assert window.state.trace.x.any() and window.state.description == "synthetic sample"


def test_screenshot_writes_png(tmp_path):
    path = tmp_path / "shot.png"
    assert app.main(["--screenshot", str(path), "--step", "40", "--view", "pool", "--size", "1100x700"]) == 0
    image = QImage(str(path))
    assert not image.isNull() and (image.width(), image.height()) == (1100, 700)


def test_bad_model_argument_is_an_error(capsys):
    assert app.main(["--model", "no-such-model", "--screenshot", "x.png"]) == 2
    assert "not a preset" in capsys.readouterr().err


def test_a_model_with_another_input_size_gets_the_sample_resized(qtbot, tmp_path, monkeypatch):
    from cnnviz.engine.layers import Conv2D, Dense, Flatten, Input, MaxPooling2D
    from cnnviz.engine.model import Sequential

    model = Sequential([Input(input_shape=(14, 14, 3)), Conv2D(2, 3, padding="same", activation="relu"),
                        MaxPooling2D(2), Flatten(), Dense(3, activation="softmax")], seed=0)
    window = make_window(qtbot)
    window.state.set_model(model)
    assert window.state.trace.x.shape == (1, 14, 14, 3)
    if window.state.dataset.y_test[window.input_panel.index] >= 3:
        assert window.state.label is None, "a label the new model lacks: no label"
        assert window.state.trace.label == window.state.trace.predicted, "the target is then the prediction"
    assert window.views["conv"].input.padding.isVisible(), "'same' padding is drawn as padding"
    messages = []
    monkeypatch.setattr("cnnviz.gui.main_window.QMessageBox.warning", lambda *args: messages.append(args[2]))
    window.input_panel.use_drawing()
    combo = window.input_panel.label_combo
    assert [combo.itemText(k) for k in range(combo.count())] == ["no label", "0", "1", "2"], \
        "only the model's classes can be chosen"


def test_weights_and_sample_arguments(tmp_path, monkeypatch):
    """--weights loads that file into the model; --sample picks the test digit; --view shows that view."""
    from cnnviz.gui import main_window

    model = app.preset_model("lecture", None, seed=5)
    path = tmp_path / "mine.npz"
    model.save_weights(path)
    seen = []  # what the window showed, read while it exists (the screenshot run deletes it)
    original = main_window.MainWindow.show_view

    def show_view(self, name):
        original(self, name)
        seen.append((self.state, self.tabs.currentWidget() is self.views["update"], self.input_panel.index_spin.value()))

    monkeypatch.setattr(main_window.MainWindow, "show_view", show_view)
    assert app.main(["--weights", str(path), "--sample", "12", "--view", "update",
                     "--screenshot", str(tmp_path / "shot.png")]) == 0
    state, update_shown, index = seen[0]
    assert (state.model.layers[0].params["kernel"] == model.layers[0].params["kernel"]).all()
    assert (state.trace.x[0] == state.dataset.x_test[12]).all()
    assert update_shown and index == 12
    assert app.main(["--sample", "100000", "--screenshot", str(tmp_path / "x.png")]) == 2


def test_the_network_strip_shows_every_line_after_a_model_change(qtbot):
    window = make_window(qtbot)
    for name in ("same-padding", "lenet", "allconv-bn"):
        window.model_menu.use_preset(name)
        qtbot.wait(20)
        assert window.strip_scroll.viewport().height() >= window.strip.sizeHint().height(), name
        assert all(button.height() >= button.sizeHint().height() for button in window.strip.buttons)


def run_without_display(*argv):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    root = Path(__file__).resolve().parents[2]
    return subprocess.run([sys.executable, str(root / "main.py"), *argv], capture_output=True, text=True, env=env,
                          cwd=root, timeout=120)


def test_without_a_display_it_says_what_to_do_instead_of_aborting():
    result = run_without_display()
    assert result.returncode == 2, result.stderr
    assert "no display" in result.stderr and "xvfb-run" in result.stderr and "--screenshot" in result.stderr
    assert "Aborted" not in result.stderr and "xcb" not in result.stderr


def test_without_a_display_screenshot_renders_offscreen(tmp_path):
    result = run_without_display("--screenshot", str(tmp_path / "shot.png"), "--size", "1100x700")
    assert result.returncode == 0, result.stderr
    image = QImage(str(tmp_path / "shot.png"))
    assert (image.width(), image.height()) == (1100, 700)


def test_version(capsys):
    import pytest

    from cnnviz import __version__

    with pytest.raises(SystemExit) as exit_info:
        app.main(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out == f"cnnviz {__version__}\n"


def test_the_training_tab_widens_the_side_area_only_while_it_shows(qtbot):
    window = make_window(qtbot)
    qtbot.wait(20)
    before = window.side_dock.width()
    window.side_tabs.setCurrentIndex(1)  # Training
    qtbot.waitUntil(lambda: window.side_dock.width() > before, timeout=2000)
    window.side_tabs.setCurrentIndex(0)  # Input again
    qtbot.waitUntil(lambda: abs(window.side_dock.width() - before) <= 2, timeout=2000)


def test_a_closed_window_is_torn_down_by_the_garbage_collector_without_errors(qtbot):
    # Apps and scripts that open several windows drop them like this; a Qt event filter that ran on
    # a half-collected window raised AttributeError (pytest-qt fails the test on such an exception).
    window = build_window(preset_model("lecture", None, seed=0), dataset())
    window.show()
    qtbot.waitExposed(window)
    window.close()
    del window
    gc.collect()
    QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    QCoreApplication.processEvents()


def test_a_script_that_trains_and_ends_with_its_window_open_exits_without_a_traceback():
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = """
import time
from PyQt5.QtWidgets import QApplication
from cnnviz.data import synthetic
from cnnviz.gui.app import build_window
from tests.gui.test_training import configure, tiny_model
app = QApplication([])
window = build_window(tiny_model(), synthetic("bars", size=8, n_train=96, n_test=32, seed=0))
window.show()
panel = window.training_panel
configure(panel, epochs=100_000)
panel.start()
end = time.perf_counter() + 1
while time.perf_counter() < end:
    app.processEvents()
panel.stop_and_wait()
print("trained")
"""
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=root, timeout=120,
                            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0 and result.stdout.strip() == "trained", result.stderr
    assert "Traceback" not in result.stderr and "Error" not in result.stderr, result.stderr


def test_with_fonts_scaled_the_training_tab_gets_the_room_its_boxes_need(qtbot):
    window = make_window(qtbot)
    window.resize(1920, 1080)
    window.scale_fonts(1.4)  # lecture mode, from the back row
    panel = window.training_panel
    area = panel.parentWidget().parentWidget()
    window.side_tabs.setCurrentWidget(area)
    qtbot.waitUntil(lambda: area.viewport().width() >= panel.minimumSizeHint().width(), timeout=2000)
    metrics = panel.fontMetrics()
    assert panel.lr_spin.width() >= metrics.horizontalAdvance(panel.lr_spin.text()), "0.001000 is not cut"
    for button in (panel.stop_button, panel.png_button):
        assert button.mapTo(area.viewport(), button.rect().topRight()).x() <= area.viewport().width()
    assert panel.x_combo.width() >= metrics.horizontalAdvance("samples seen")
