"""File > Export model…: .keras, .h5, .onnx and .npz from the app, and a message when it cannot."""
from __future__ import annotations

import numpy as np
import pytest
from PyQt5.QtWidgets import QFileDialog

from cnnviz.engine.model import load_model
from tests.gui.test_training import endless_training, tiny_window


def export_through_the_menu(window, monkeypatch, path, chosen_filter=""):
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(path), chosen_filter)))
    window.weights_io.export_action.trigger()


@pytest.mark.parametrize("suffix", [".keras", ".h5", ".npz"])
def test_export_writes_a_model_that_loads_with_the_same_predictions(qtbot, tmp_path, monkeypatch, messages, suffix):
    pytest.importorskip("h5py")
    window = tiny_window(qtbot)
    names = [action.text() for action in window.file_menu.actions()]
    assert "Export model…" in names and names.index("Export model…") < names.index("Quit")
    export_through_the_menu(window, monkeypatch, tmp_path / f"m{suffix}")
    x = window.state.dataset.x_test
    assert np.array_equal(load_model(tmp_path / f"m{suffix}").predict(x), window.state.model.predict(x))
    assert not messages and "Exported the model" in window.statusBar().currentMessage()


def test_export_onnx_and_the_chosen_filter_gives_the_suffix(qtbot, tmp_path, monkeypatch, messages):
    onnxruntime = pytest.importorskip("onnxruntime")
    window = tiny_window(qtbot)
    export_through_the_menu(window, monkeypatch, tmp_path / "m", "ONNX (*.onnx)")
    x = window.state.dataset.x_test.astype(np.float32)
    predicted = onnxruntime.InferenceSession(str(tmp_path / "m.onnx")).run(None, {"input": x})[0]
    assert np.allclose(predicted, window.state.model.predict(x), atol=1e-5) and not messages


def test_export_problems_show_a_message(qtbot, tmp_path, monkeypatch, messages):
    window = tiny_window(qtbot)
    assert not window.weights_io.export(tmp_path / "no-such-folder" / "m.keras")
    assert messages[-1][0] == "Cannot export the model" and "does not exist" in messages[-1][1]
    window, panel = endless_training(qtbot)
    assert not window.weights_io.export(tmp_path / "m.keras")
    assert "Pause or stop training" in messages[-1][1] and not (tmp_path / "m.keras").exists()
    panel.stop_and_wait()
