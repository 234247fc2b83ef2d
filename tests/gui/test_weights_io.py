"""File > Open/Save weights: round trips, recent files, other architectures, Keras/PyTorch files,
and every kind of bad file showing a message while nothing changes."""
from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PyQt5.QtWidgets import QFileDialog, QMessageBox

from cnnviz.engine.model import load_model
from cnnviz.engine.weights import ARCHITECTURE_KEY
from cnnviz.gui import weights_io
from cnnviz.runs import Run
from tests.gui.test_training import endless_training, tiny_model, tiny_window


def predictions(window):
    return window.state.model.predict(window.state.dataset.x_test)


def scramble(window, seed=1):
    rng = np.random.default_rng(seed)
    window.state.model.set_weights({k: rng.normal(0, 0.5, v.shape) for k, v in window.state.model.weights_by_name().items()})


def test_save_then_open_gives_identical_predictions_and_a_recent_entry(qtbot, tmp_path, messages):
    window = tiny_window(qtbot)
    scramble(window, seed=3)
    expected = predictions(window)
    path = tmp_path / "saved.npz"
    assert window.weights_io.save_to(path)
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".npz") == ["saved.npz"], "no temporary left"
    scramble(window, seed=4)
    assert not np.allclose(predictions(window), expected)
    assert window.weights_io.open(path)
    assert np.array_equal(predictions(window), expected)
    assert np.array_equal(window.state.trace.records[0].params["kernel"], window.state.model.layers[0].params["kernel"])
    assert weights_io.recent_files()[0] == str(path.resolve())
    window.weights_io._fill_recent()
    assert [a.data() for a in window.weights_io.recent_menu.actions()] == [str(path.resolve())]
    assert not messages


def test_menu_actions_use_the_file_dialogs(qtbot, tmp_path, monkeypatch, messages):
    window = tiny_window(qtbot)
    target = tmp_path / "chosen"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))
    window.weights_io.save_action.trigger()
    assert (tmp_path / "chosen.npz").is_file(), "the .npz suffix is added"
    assert window.weights_io.path == str(tmp_path / "chosen.npz")
    scramble(window)
    window.weights_io.save_action.trigger()  # Save: the same file again, no dialog needed
    assert np.array_equal(load_model(tmp_path / "chosen.npz").layers[0].params["kernel"],
                          window.state.model.layers[0].params["kernel"])
    expected = predictions(window)
    scramble(window, seed=9)
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (str(tmp_path / "chosen.npz"), "")))
    window.weights_io.open_action.trigger()
    assert np.array_equal(predictions(window), expected)
    names = [a.text() for a in window.file_menu.actions()]
    assert names.index("Open weights…") < names.index("Quit")
    assert not messages


def _valid_file(window, path):
    window.state.model.save_weights(path)
    return dict(np.load(path, allow_pickle=False))


def _write_npz(path, arrays):
    with open(path, "wb") as stream:
        np.savez(stream, **arrays)


def make_bad_file(kind, window, tmp_path):
    path = tmp_path / f"{kind}.npz"
    good = _valid_file(window, tmp_path / "good.npz")
    if kind == "truncated":
        data = (tmp_path / "good.npz").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "not_npz":
        path.write_text("these are not weights\n")
    elif kind == "wrong_shapes":
        arrays = {k: v for k, v in good.items() if k != ARCHITECTURE_KEY}
        arrays["conv2d_1/kernel"] = np.zeros((5, 5, 1, 2), np.float32)
        _write_npz(path, arrays)
    elif kind == "non_finite":
        good["dense_1/kernel"] = good["dense_1/kernel"].copy()
        good["dense_1/kernel"][0, 0] = np.inf
        _write_npz(path, good)
    elif kind == "pickled":
        arrays = dict(good)
        arrays["dense_1/kernel"] = np.array([{"evil": "object"}], dtype=object)
        _write_npz(path, arrays)
    elif kind == "bad_architecture":
        good[ARCHITECTURE_KEY] = np.array("{not json")
        _write_npz(path, good)
    elif kind == "impossible_architecture":
        good[ARCHITECTURE_KEY] = np.array('{"input_shape": [8, 8, 1], "layers": [{"class_name": "Conv2D", '
                                          '"config": {"filters": 2, "kernel_size": [9, 9]}}]}')
        _write_npz(path, good)
    elif kind == "zip_of_other_things":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("readme.txt", "hello")
        path.write_bytes(buffer.getvalue())
    elif kind == "missing":
        path = tmp_path / "nothing-here.npz"
    return path


BAD_KINDS = ("truncated", "not_npz", "wrong_shapes", "non_finite", "pickled", "bad_architecture",
             "impossible_architecture", "zip_of_other_things", "missing")


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_a_bad_file_shows_a_message_and_changes_nothing(qtbot, tmp_path, messages, monkeypatch, kind):
    window = tiny_window(qtbot)
    panel = window.training_panel
    panel.add_run(Run("kept", "tiny", "", {}))  # something in the plots that must stay
    path = make_bad_file(kind, window, tmp_path)
    model, trace, weights = window.state.model, window.state.trace, window.state.model.weights_by_name()
    position = window.controller.cursor.position
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: pytest.fail("no question expected")))
    assert not window.weights_io.open(path)
    assert len(messages) == 1 and messages[0][0] == "Cannot open weights"
    assert "Nothing was changed" in messages[0][1] and str(path.name) in messages[0][1]
    assert window.state.model is model and window.state.trace is trace and window.controller.cursor.position == position
    assert all(np.array_equal(weights[k], v) for k, v in window.state.model.weights_by_name().items())
    assert [run.label for run in panel.runs] == ["kept"]
    assert weights_io.recent_files() == []


def test_pickled_file_is_never_unpickled(qtbot, tmp_path, messages):
    window = tiny_window(qtbot)
    path = make_bad_file("pickled", window, tmp_path)
    window.weights_io.open(path)
    assert "pickle" in messages[0][1].lower()


def test_other_architecture_says_which_layers_differ_and_can_switch(qtbot, tmp_path, monkeypatch, messages):
    window = tiny_window(qtbot)
    other = tiny_model(filters=3, seed=5, name="wider")
    path = tmp_path / "wider.npz"
    other.save_weights(path)
    questions = []

    def answer(reply):
        def question(parent, title, text, *args):
            questions.append(text)
            return reply
        return question

    monkeypatch.setattr(QMessageBox, "question", staticmethod(answer(QMessageBox.No)))
    model, weights = window.state.model, window.state.model.weights_by_name()
    assert not window.weights_io.open(path)
    assert window.state.model is model and all(np.array_equal(weights[k], v) for k, v in model.weights_by_name().items())
    text = questions[-1]
    assert "conv2d_1" in text and "dense_1" in text and "max_pooling2d_1" not in text
    assert "(6, 6, 2)" in text and "(6, 6, 3)" in text
    monkeypatch.setattr(QMessageBox, "question", staticmethod(answer(QMessageBox.Yes)))
    with qtbot.waitSignal(window.state.model_changed):
        assert window.weights_io.open(path)
    assert window.state.model is not model and window.state.model.name == "wider"
    assert np.array_equal(window.state.model.predict(window.state.dataset.x_test), other.predict(window.state.dataset.x_test))
    assert not messages


def test_safetensors_from_pytorch_layout_gives_identical_predictions(qtbot, tmp_path, messages):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    window = tiny_window(qtbot)
    source = tiny_model(seed=7)
    w = source.weights_by_name()
    dense = w["dense_1/kernel"].reshape(3, 3, 2, 2).transpose(2, 0, 1, 3).reshape(18, 2)  # HWC rows -> CHW rows
    state = {"conv.weight": w["conv2d_1/kernel"].transpose(3, 2, 0, 1).copy(), "conv.bias": w["conv2d_1/bias"],
             "fc.weight": dense.T.copy(), "fc.bias": w["dense_1/bias"]}
    path = tmp_path / "torch.safetensors"
    safetensors_numpy.save_file(state, str(path))
    assert window.weights_io.open(path)
    assert np.allclose(predictions(window), source.predict(window.state.dataset.x_test), atol=1e-6)
    state["fc.weight"] = np.zeros((2, 5), np.float32)
    safetensors_numpy.save_file(state, str(path))
    weights = window.state.model.weights_by_name()
    assert not window.weights_io.open(path)
    assert messages and all(np.array_equal(weights[k], v) for k, v in window.state.model.weights_by_name().items())


def test_save_while_training_writes_a_complete_file(qtbot, tmp_path, messages):
    window, panel = endless_training(qtbot)
    path = tmp_path / "during.npz"
    assert window.weights_io.save_to(path)
    saved = load_model(path)
    assert [layer.name for layer in saved.layers] == [layer.name for layer in window.state.model.layers]
    assert all(np.all(np.isfinite(v)) for v in saved.weights_by_name().values())
    assert not window.weights_io.open(path) and "Pause or stop training" in messages[-1][1]
    panel.stop_and_wait()


def test_save_to_an_unwritable_place_shows_a_message(qtbot, tmp_path, messages):
    window = tiny_window(qtbot)
    assert not window.weights_io.save_to(tmp_path / "no-such-folder" / "w.npz")
    assert messages[-1][0] == "Cannot save weights"
    assert window.weights_io.path is None


def test_keras_h5_with_its_own_architecture_offers_to_switch(qtbot, tmp_path, monkeypatch, messages):
    pytest.importorskip("h5py")
    from tests.data.test_importers import LECTURE_KERAS_CONFIG, keras_forward_in_numpy, lecture_keras_weights, \
        write_keras_h5

    window = tiny_window(qtbot)
    weights = lecture_keras_weights(np.random.default_rng(2))
    path = tmp_path / "myCNN1.h5"
    write_keras_h5(path, weights, LECTURE_KERAS_CONFIG)
    questions = []
    monkeypatch.setattr(QMessageBox, "question",
                        staticmethod(lambda parent, title, text, *a: questions.append(text) or QMessageBox.Yes))
    assert window.weights_io.open(path)
    assert "input: (8, 8, 1) now, (28, 28, 1) in the file" in questions[0]
    x = np.random.default_rng(1).random((3, 28, 28, 1)).astype(np.float32)
    assert np.allclose(window.state.model.predict(x), keras_forward_in_numpy(x, weights), atol=1e-5)
    assert window.state.trace.x.shape == (1, 28, 28, 1) and not messages


def test_help_lists_the_weights_shortcuts_the_menus_offer(qtbot):
    window = tiny_window(qtbot)
    text = window.show_shortcuts().text.toPlainText()
    for keys, command in (("Ctrl+S", "File > Save weights"), ("Ctrl+Alt+O", "File > Open weights"),
                          ("Ctrl+Alt+S", "File > Save weights as")):
        assert keys in text and command in text
