"""Sequential's Keras-style API: names, summary, config round trip, determinism, fit, callbacks."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cnnviz.engine import Callback, Sequential
from cnnviz.engine.layers import (Activation, AveragePooling2D, Conv2D, Dense, Dropout, Flatten, Input,
                                  MaxPooling2D)

ROOT = Path(__file__).resolve().parents[2]


def small_cnn(seed=0, dtype="float32", dropout=0.25):
    model = Sequential(seed=seed, dtype=dtype)
    model.add(Input(input_shape=(8, 8, 1)))
    model.add(Conv2D(4, kernel_size=(3, 3), activation="relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Conv2D(4, 2, padding="same", activation="relu"))
    model.add(AveragePooling2D(1))
    model.add(Dropout(dropout))
    model.add(Flatten())
    model.add(Dense(8, activation="relu"))
    model.add(Dense(2, activation="softmax"))
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def toy_data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 8, 8, 1)).astype(np.float32)
    y = (x[:, :4].mean(axis=(1, 2, 3)) > x[:, 4:].mean(axis=(1, 2, 3))).astype(int)
    return x, y


def test_keras_style_names():
    model = small_cnn()
    assert [layer.name for layer in model.layers] == [
        "conv2d_1", "max_pooling2d_1", "conv2d_2", "average_pooling2d_1", "dropout_1", "flatten_1",
        "dense_1", "dense_2"]
    assert model.get_layer("dense_2") is model.layers[-1]


def test_summary_table():
    text = small_cnn().summary_text()
    lines = text.splitlines()
    assert "Layer (type)" in text and "Output Shape" in text and "Param #" in text
    # conv2d_1: 3*3*1*4 + 4 = 40; conv2d_2: 2*2*4*4 + 4 = 68; dense_1: 36*8 + 8 = 296; dense_2: 8*2 + 2 = 18
    expected_rows = {"conv2d_1 (Conv2D)": ("(None, 6, 6, 4)", "40"),
                     "max_pooling2d_1 (MaxPooling2D)": ("(None, 3, 3, 4)", "0"),
                     "conv2d_2 (Conv2D)": ("(None, 3, 3, 4)", "68"), "flatten_1 (Flatten)": ("(None, 36)", "0"),
                     "dense_1 (Dense)": ("(None, 8)", "296"), "dense_2 (Dense)": ("(None, 2)", "18")}
    for name, (shape, params) in expected_rows.items():
        row = next(line for line in lines if line.startswith(name))
        assert shape in row and row.split()[-1] == params, row
    assert "Total params: 422" in text
    assert "Trainable params: 422" in text
    assert "Non-trainable params: 0" in text


def test_summary_counts_frozen_layers_as_non_trainable():
    model = Sequential(seed=0)
    model.add(Input(input_shape=(4,)))
    model.add(Dense(3, trainable=False))
    model.add(Dense(2, activation="softmax"))
    text = model.summary_text()
    assert "Total params: 23" in text and "Trainable params: 8" in text and "Non-trainable params: 15" in text


def test_config_json_round_trip_gives_same_predictions():
    model = small_cnn(seed=3)
    x, _ = toy_data(5)
    text = model.to_json()
    rebuilt = Sequential.from_config(json.loads(text), seed=99)
    assert rebuilt.get_config() == model.get_config()
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_array_equal(rebuilt.predict(x), model.predict(x))
    assert [type(a) for a in rebuilt.layers] == [type(b) for b in model.layers]
    assert Sequential.from_json(text).layers[0].kernel_size == (3, 3)


def test_config_keeps_every_setting():
    model = Sequential(seed=0, dtype="float64")
    model.add(Input(input_shape=(9, 7, 2)))
    model.add(Conv2D(3, (2, 3), strides=(2, 1), padding=1, activation="tanh", use_bias=False, trainable=False))
    model.add(MaxPooling2D(3, strides=1, padding="same"))
    model.add(Activation("sigmoid"))
    model.add(Flatten())
    model.add(Dropout(0.3))
    model.add(Dense(4, activation="linear"))
    rebuilt = Sequential.from_json(model.to_json())
    assert rebuilt.dtype == np.float64
    conv = rebuilt.layers[0]
    assert (conv.kernel_size, conv.strides, conv.padding, conv.activation, conv.use_bias, conv.trainable) == (
        (2, 3), (2, 1), 1, "tanh", False, False)
    assert rebuilt.layers[1].strides == (1, 1) and rebuilt.layers[1].padding == "same"
    assert rebuilt.layers[4].rate == 0.3
    assert rebuilt.output_shape == model.output_shape == (4,)


def test_same_seed_same_weights_and_history():
    x, y = toy_data()
    runs = []
    for _ in range(2):
        model = small_cnn(seed=7, dropout=0.5)
        weights = model.weights_by_name()
        history = model.fit(x, y, batch_size=5, epochs=2, shuffle=True, verbose=0)
        runs.append((weights, history.history, model.weights_by_name()))
    (w1, h1, end1), (w2, h2, end2) = runs
    for key in w1:
        np.testing.assert_array_equal(w1[key], w2[key])
        np.testing.assert_array_equal(end1[key], end2[key])
    assert h1 == h2
    other = small_cnn(seed=8)
    assert not np.array_equal(other.weights_by_name()["conv2d_1/kernel"], w1["conv2d_1/kernel"])


def test_fit_history_keys_and_values():
    x, y = toy_data()
    model = small_cnn()
    history = model.fit(x, y, batch_size=8, epochs=3, validation_data=(x[:6], y[:6]), verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(values) == 3 for values in history.history.values())
    assert history.epoch == [0, 1, 2]
    loss, acc = model.evaluate(x[:6], y[:6])
    assert history.history["val_loss"][-1] == pytest.approx(loss)
    assert history.history["val_accuracy"][-1] == pytest.approx(acc)


class Recorder(Callback):
    def __init__(self, stop_after=None):
        self.batches, self.epochs, self.stop_after = [], [], stop_after

    def on_batch_end(self, batch, logs=None):
        self.batches.append((batch, dict(logs)))
        if self.stop_after is not None and len(self.batches) >= self.stop_after:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append((epoch, dict(logs)))


def test_callbacks_get_batches_and_epochs():
    x, y = toy_data(20)
    recorder = Recorder()
    small_cnn().fit(x, y, batch_size=8, epochs=2, callbacks=[recorder], verbose=0)
    assert [b for b, _ in recorder.batches] == [0, 1, 2, 0, 1, 2]
    assert [logs["size"] for _, logs in recorder.batches] == [8, 8, 4, 8, 8, 4]
    assert all({"loss", "accuracy"} <= logs.keys() for _, logs in recorder.batches)
    first_epoch = recorder.batches[:3]
    mean_loss = sum(logs["loss"] * logs["size"] for _, logs in first_epoch) / 20
    assert recorder.epochs[0][1]["loss"] == pytest.approx(mean_loss)
    assert [e for e, _ in recorder.epochs] == [0, 1]


def test_callback_stops_training_between_batches():
    x, y = toy_data(20)
    model = small_cnn()
    recorder = Recorder(stop_after=2)
    history = model.fit(x, y, batch_size=4, epochs=5, callbacks=[recorder], verbose=0)
    assert len(recorder.batches) == 2
    assert len(history.history["loss"]) == 1  # the interrupted epoch is still reported
    assert model.stop_training


def test_verbose_2_prints_one_line_per_epoch_and_0_nothing(capsys):
    x, y = toy_data(12)
    small_cnn().fit(x, y, batch_size=6, epochs=3, verbose=2)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert lines[0::2] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    assert all(line.startswith("2/2 - ") and "ms/step - loss: " in line and " - accuracy: " in line
               for line in lines[1::2])
    small_cnn().fit(x, y, batch_size=6, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""


def test_verbose_1_redraws_a_progress_line_after_each_batch_on_a_terminal(capsys, monkeypatch):
    import io

    from cnnviz.engine.callbacks import ProgbarLogger

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr("sys.stdout", terminal)
    monkeypatch.setattr(ProgbarLogger, "INTERVAL", 0.0)
    x, y = toy_data(12)
    small_cnn().fit(x, y, batch_size=5, epochs=1, verbose=1, validation_data=(x, y))
    text = terminal.getvalue()
    assert text.startswith("Epoch 1/1\n")
    draws = text.split("\r")[1:]
    assert [draw.split(" [")[0] for draw in draws] == [" 5/12", "10/12", "12/12", "12/12"]
    assert "ETA: " in draws[0] and "ms/step - loss: " in draws[0] and "- accuracy: " in draws[0]
    assert "ms/step" in draws[-1] and "val_loss: " in draws[-1] and draws[-1].endswith("\n")


def test_integer_and_one_hot_labels_are_equivalent():
    x, y = toy_data()
    a, b = small_cnn(seed=1), small_cnn(seed=1)
    ha = a.fit(x, y, batch_size=6, epochs=2, verbose=0)
    hb = b.fit(x, np.eye(2)[y], batch_size=6, epochs=2, verbose=0)
    assert ha.history == hb.history
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    assert a.evaluate(x, y) == a.evaluate(x, np.eye(2)[y])


def test_float64_model_trains_in_float64():
    x, y = toy_data()
    model = small_cnn(dtype="float64")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert all(p.dtype == np.float64 for layer in model.layers for p in layer.params.values())
    assert model.predict(x).dtype == np.float64


def test_float32_model_stays_float32():
    x, y = toy_data()
    model = small_cnn()
    model.fit(x.astype(np.float64), y, batch_size=8, epochs=1, verbose=0)
    assert all(p.dtype == np.float32 for layer in model.layers for p in layer.params.values())
    assert all(g.dtype == np.float32 for layer in model.layers for g in layer.grads.values())
    model.compile(optimizer="adam")
    model.train_on_batch(x, y)  # no float64 upcast anywhere: every kept tensor is float32
    for layer in model.layers:
        for name in ("inputs", "a", "z", "dz", "delta", "cols", "mask"):
            value = getattr(layer, name, None)
            assert value is None or value.dtype == np.float32, (layer.name, name, value.dtype)
    for state in model.optimizer.states.values():
        assert all(v.dtype == np.float32 for v in state.values() if isinstance(v, np.ndarray))
    assert model.predict(x).dtype == np.float32


def test_predict_in_batches_equals_one_forward():
    x, _ = toy_data(10)
    model = small_cnn()
    np.testing.assert_allclose(model.predict(x, batch_size=3), model.forward(x), rtol=1e-6)


def test_dropout_only_when_training():
    model = Sequential(seed=0)
    model.add(Input(input_shape=(1000,)))
    model.add(Dropout(0.5))
    x = np.ones((2, 1000), dtype=np.float32)
    np.testing.assert_array_equal(model.forward(x), x)
    out = model.forward(x, training=True)
    assert set(np.unique(out)) == {0.0, 2.0}
    assert 0.4 < (out == 0).mean() < 0.6


def test_step_api_returns_input_gradient_and_updates():
    model = small_cnn(dropout=0.0)
    x, y = toy_data(4)
    before = model.weights_by_name()
    probs = model.forward(x, training=True)
    assert probs.shape == (4, 2)
    dx = model.backward(y)
    assert dx.shape == x.shape
    model.update()
    after = model.weights_by_name()
    for key in before:
        expected = before[key] - 0.01 * model.get_layer(key.split("/")[0]).grads[key.split("/")[1]]
        np.testing.assert_allclose(after[key], expected, rtol=1e-6, atol=1e-7)


def test_engine_never_imports_qt():
    # every module of the engine package, trace included
    code = ("import importlib, pkgutil, sys, cnnviz.engine\n"
            "for module in pkgutil.iter_modules(cnnviz.engine.__path__):\n"
            "    importlib.import_module('cnnviz.engine.' + module.name)\n"
            "assert 'cnnviz.engine.trace' in sys.modules\n"
            "bad = [m for m in ('PyQt5', 'pyqtgraph') if m in sys.modules]\n"
            "assert not bad, bad\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_file_formats_sit_below_the_model():
    """weights, importers and exporters know no model class (the model imports them, never the
    other way round, not even inside a function), like Keras' saving code."""
    import ast

    engine = ROOT / "cnnviz" / "engine"
    for name in ("weights.py", "importers.py", "exporters.py", "callbacks.py", "metrics.py", "losses.py"):
        tree = ast.parse((engine / name).read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        assert not {"model", "cnnviz.engine.model"} & imported, name
