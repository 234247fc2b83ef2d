"""The GUI survives every fault of issue 12 with a message, Train usable again, and finite weights on screen."""
from __future__ import annotations

import json
import zlib

import numpy as np
from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QFileDialog

from cnnviz.gui import state as state_module
from cnnviz.gui.worker import Hyperparameters
from tests.gui.test_training import WAIT_MS, configure, tiny_window


def test_an_update_that_makes_weights_infinite_is_rolled_back_and_train_works_again(qtbot, messages, monkeypatch):
    window = tiny_window(qtbot)
    panel = window.training_panel
    configure(panel, batch=32, epochs=2)
    initial = window.state.model.weights_by_name()
    # The first batch's loss is finite, but a step of 1e300 x gradient is infinite in float32.
    monkeypatch.setattr(panel, "settings", lambda: Hyperparameters(optimizer="sgd", learning_rate=1e300,
                                                                   momentum=0.0, batch_size=32, epochs=2))
    panel.start()
    qtbot.waitUntil(lambda: panel.state == "paused", timeout=WAIT_MS)
    title, text = messages[-1]
    assert "diverged" in title and "NaN or infinite" in text and "last finite" in text
    shown = window.state.model.weights_by_name()
    assert all(np.array_equal(initial[key], shown[key]) for key in shown), "the weights from before the bad step"
    assert np.all(np.isfinite(window.state.trace.y_pred))
    panel.stop()
    qtbot.waitUntil(lambda: panel.state == "idle", timeout=WAIT_MS)
    assert panel.start_button.isEnabled() and not messages[-1][0].startswith("Training failed")
    monkeypatch.undo()
    configure(panel, lr=0.05, batch=32, epochs=1)
    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.state == "idle", timeout=WAIT_MS)
    assert panel.status.text().startswith("Training finished")


def test_a_learning_rate_typed_out_of_range_is_clamped_with_a_word(qtbot):
    window = tiny_window(qtbot)
    panel = window.training_panel
    panel.lr_spin.lineEdit().selectAll()
    qtbot.keyClicks(panel.lr_spin.lineEdit(), "1e6")
    qtbot.keyClick(panel.lr_spin.lineEdit(), Qt.Key_Return)
    assert panel.lr_spin.value() == 10
    assert "learning rate 1e+06 is outside 0 to 10; using 10" in panel.status.text()


def test_an_architecture_that_cannot_be_traced_leaves_the_window_as_it_was(qtbot, tmp_path, monkeypatch, messages):
    window = tiny_window(qtbot)
    old_model, old_trace, old_x = window.state.model, window.state.trace, window.state.x.copy()
    config = old_model.get_config()
    config["config"]["layers"][0]["config"]["filters"] = 7
    path = tmp_path / "wide.json"
    path.write_text(json.dumps(config))
    real_trace = state_module.Trace

    def out_of_memory(model, x, label):
        if model is not old_model:
            raise MemoryError
        return real_trace(model, x, label)

    monkeypatch.setattr(state_module, "Trace", out_of_memory)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(path), "")))
    assert not window.model_menu.open_dialog()
    assert "not enough memory" in messages[-1][1] and "Nothing was changed" in messages[-1][1]
    assert window.state.model is old_model and window.state.trace.model is old_model and window.state.trace is not None
    np.testing.assert_array_equal(window.state.x, old_x)
    del old_trace


def test_a_huge_architecture_file_is_refused_before_building(qtbot, tmp_path, monkeypatch, messages):
    window = tiny_window(qtbot)
    config = window.state.model.get_config()
    config["config"]["layers"][0]["config"]["filters"] = 60_000
    config["config"]["layers"].insert(3, {"class_name": "Dense", "config": {"units": 60_000}})
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(config))
    old = window.state.model
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(path), "")))
    assert not window.model_menu.open_dialog()
    assert "50,000,000" in messages[-1][1] and window.state.model is old


def test_images_that_cannot_be_decoded_keep_the_input(qtbot, tmp_path, messages):
    from PIL import Image

    window = tiny_window(qtbot)
    x_before = window.state.trace.x.copy()
    Image.new("L", (8, 8)).save(tmp_path / "ok.png")
    raw = (tmp_path / "ok.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(raw[: len(raw) // 2])
    huge = bytearray(raw)
    huge[16:24] = (65500).to_bytes(4, "big") * 2  # the header now claims 65500 x 65500 pixels
    huge[29:33] = zlib.crc32(bytes(huge[12:29])).to_bytes(4, "big")
    (tmp_path / "huge.png").write_bytes(bytes(huge))
    for name, expected in (("cut.png", "cut.png"), ("huge.png", "up to 50,000,000 pixels")):
        assert not window.input_panel.open_image(tmp_path / name)
        assert expected in messages[-1][1]
        np.testing.assert_array_equal(window.state.trace.x, x_before)
    assert window.input_panel.open_image(tmp_path / "ok.png")


def test_non_finite_weights_are_never_saved_from_the_gui(qtbot, tmp_path, messages):
    window = tiny_window(qtbot)
    path = tmp_path / "good.npz"
    assert window.weights_io.save_to(path)
    good = path.read_bytes()
    window.state.model.layers[0].params["kernel"][0, 0, 0, 0] = np.inf
    assert not window.weights_io.save_to(path)
    assert "never saved" in messages[-1][1] and path.read_bytes() == good


def test_a_picture_qt_cannot_allocate_is_a_value_error(qtbot, monkeypatch):
    from PyQt5.QtGui import QImage

    from cnnviz.gui.images import fit_to_input

    monkeypatch.setattr(QImage, "scaled", lambda self, *args: QImage())
    try:
        fit_to_input(np.zeros((4, 4, 1), np.float32), (8, 8, 1))
    except ValueError as error:
        assert "not enough memory to resize a picture to 8x8" in str(error)
    else:
        raise AssertionError("expected a ValueError")


def test_an_exception_no_slot_caught_becomes_a_message_and_a_logged_traceback(qtbot, messages, monkeypatch, capsys):
    import sys

    from PyQt5.QtCore import QTimer

    from cnnviz.gui import fault_report

    window = tiny_window(qtbot)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    fault_report.install(window.state)

    def bad_input():
        raise ValueError("weights.npz: not a readable .npz weights file")

    def bug():
        raise RuntimeError("a bug")

    for slot in (bad_input, bug):
        QTimer.singleShot(0, slot)
        qtbot.wait(20)
    assert messages[0] == ("Cannot do that", "weights.npz: not a readable .npz weights file\n\nNothing was changed.")
    assert messages[1][0] == "Something went wrong" and "RuntimeError: a bug" in messages[1][1]
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: a bug" in err and "not a readable" not in err
    assert window.isVisible()
