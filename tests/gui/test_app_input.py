"""Choosing the input: test samples, drawing on the canvas, opening image files (good and bad)."""
from __future__ import annotations

import numpy as np
import pytest
from PyQt5.QtCore import QEvent, QPoint, Qt
from PyQt5.QtGui import QColor, QImage, QMouseEvent, QPainter, QPen
from PyQt5.QtWidgets import QApplication, QFileDialog, QMessageBox

from cnnviz.gui.images import mnist_style
from tests.gui.helpers import make_window


@pytest.fixture
def window(qtbot):
    return make_window(qtbot)


def drag(qtbot, widget, points):
    """Press, move through ``points`` with the left button held, release: a pen stroke."""
    qtbot.mousePress(widget, Qt.LeftButton, pos=QPoint(*points[0]))
    for x, y in points[1:]:
        event = QMouseEvent(QEvent.MouseMove, QPoint(x, y), Qt.NoButton, Qt.LeftButton, Qt.NoModifier)
        QApplication.sendEvent(widget, event)
    qtbot.mouseRelease(widget, Qt.LeftButton, pos=QPoint(*points[-1]))


def test_drawing_a_digit_changes_the_prediction(qtbot, window):
    panel = window.input_panel
    assert window.state.trace.predicted == window.state.trace.label == 0
    before = window.state.trace.y_pred.copy()
    canvas = panel.canvas
    canvas.clear()
    with qtbot.waitSignal(window.state.sample_changed):
        drag(qtbot, canvas, [(40, 20 + 3 * k) for k in range(25)])  # a short vertical stroke, top left: a "1"
    assert canvas.image[4:13, 5].min() > 0.9 and canvas.image[:, 15:].max() == 0
    x = window.state.trace.x[0, :, :, 0]
    np.testing.assert_array_equal(x, mnist_style(canvas.image))
    rows, cols = np.mgrid[0:28, 0:28]
    assert abs((rows * x).sum() / x.sum() - 13.5) <= 1 and abs((cols * x).sum() / x.sum() - 13.5) <= 1, \
        "centred like MNIST"
    assert np.ptp(np.nonzero(x > 0.05)[0]) + 1 in (19, 20, 21), "scaled to a 20-pixel box"
    text = panel.prediction.text().replace("<b>", "").replace("</b>", "")
    assert window.state.label is None and panel.label_combo.currentText() == "no label"
    assert f"prediction {window.state.trace.predicted}" in text and "no label chosen" in text
    assert "wrong" not in text and "right" not in text, "no verdict without a label"
    assert window.state.trace.label == window.state.trace.predicted, "the target is the prediction meanwhile"
    assert not np.allclose(window.state.trace.y_pred, before)
    panel.label_combo.setCurrentText("1")
    assert window.state.label == 1 == window.state.trace.label
    text = panel.prediction.text()
    assert ("right" in text) == (window.state.trace.predicted == 1) and "no label" not in text
    window.show_view("output")
    np.testing.assert_allclose(window.views["output"].bars.opts["height"], window.state.trace.y_pred[0])
    qtbot.mouseClick(panel.clear_button, Qt.LeftButton)
    assert canvas.is_empty()


def test_a_bad_image_file_shows_a_message_and_keeps_the_input(qtbot, window, tmp_path, monkeypatch):
    bad = tmp_path / "digit.png"
    bad.write_bytes(b"this is not a picture")
    messages = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: messages.append(text))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(bad), ""))
    x_before, position = window.state.trace.x.copy(), window.controller.cursor.position
    qtbot.mouseClick(window.input_panel.open_button, Qt.LeftButton)
    assert len(messages) == 1 and "digit.png" in messages[0] and "PNG or JPEG" in messages[0]
    np.testing.assert_array_equal(window.state.trace.x, x_before)
    assert window.controller.cursor.position == position


def test_an_image_file_becomes_the_input_at_the_models_size(qtbot, window, tmp_path, monkeypatch):
    path = tmp_path / "seven.png"
    image = QImage(140, 100, QImage.Format_RGB32)
    image.fill(QColor("white"))  # dark ink on white paper: inverted to MNIST's light-on-dark
    painter = QPainter(image)
    painter.setPen(QPen(QColor("black"), 12))
    painter.drawLine(30, 20, 110, 20)
    painter.drawLine(110, 20, 60, 95)
    painter.end()
    assert image.save(str(path))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(path), ""))
    with qtbot.waitSignal(window.state.sample_changed):
        qtbot.mouseClick(window.input_panel.open_button, Qt.LeftButton)
    x = window.state.trace.x[0]
    assert x.shape == (28, 28, 1)
    assert x[4, 14, 0] > 0.5 and x[26, 2, 0] < 0.1, "ink is light, paper dark"
    assert "inverted" in window.input_panel.status.text()


def test_choose_samples_by_index_class_random_and_misclassified(qtbot, window):
    panel, data = window.input_panel, window.state.dataset
    panel.index_spin.setValue(7)
    np.testing.assert_array_equal(window.state.trace.x[0], data.x_test[7])
    assert window.state.trace.label == data.y_test[7]
    panel.class_combo.setCurrentIndex(4)
    qtbot.mouseClick(panel.class_button, Qt.LeftButton)
    first_four = int(np.flatnonzero((data.y_test == 4) & (np.arange(len(data.y_test)) > 7))[0])
    assert panel.index == first_four and window.state.trace.label == 4
    qtbot.mouseClick(panel.mistake_button, Qt.LeftButton)
    assert window.state.trace.predicted != window.state.trace.label
    assert panel.index_spin.value() == panel.index
    qtbot.mouseClick(panel.random_button, Qt.LeftButton)
    np.testing.assert_array_equal(window.state.trace.x[0], data.x_test[panel.index])


def test_a_colour_model_draws_in_colour(qtbot):
    """For a 3-channel model the canvas shows the sample in colour and draws in the chosen ink."""
    from cnnviz.engine.layers import Conv2D, Dense, Flatten, Input
    from cnnviz.engine.model import Sequential
    from cnnviz.gui.app import build_window

    model = Sequential([Input(input_shape=(28, 28, 3)), Conv2D(2, 3, activation="relu"), Flatten(),
                        Dense(3, activation="softmax")], seed=0)
    window = build_window(model, None)
    qtbot.addWidget(window)
    window.show()
    panel = window.input_panel
    assert panel.ink_combo.isVisible() and panel.canvas.colour
    np.testing.assert_allclose(panel.canvas.rgb, window.state.x, atol=1 / 255)  # the synthetic sample
    panel.canvas.clear()
    panel.ink_combo.setCurrentText("red")
    with qtbot.waitSignal(window.state.sample_changed):
        drag(qtbot, panel.canvas, [(98, 30 + 4 * k) for k in range(35)])
    x = window.state.trace.x[0]
    assert x[10:20, 14, 0].min() > 0.9 and x[..., 1].max() == 0 and x[..., 2].max() == 0, "red strokes"
