"""The Keras tutorials in resources/examples run as written (only their import lines changed):
each for one short epoch here, on a slice of the shipped digits."""
import re
from pathlib import Path

import numpy as np
import pytest

import cnnviz.keras as keras
import cnnviz.keras.datasets.mnist as mnist
from cnnviz.engine import model as engine_model

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def run_for_one_epoch(script: Path, monkeypatch, train=800, test=200) -> dict:
    """Run ``script`` with its ``epochs = N`` line set to 1, on the first ``train``/``test`` digits."""
    source = script.read_text()
    assert len(re.findall(r"^epochs = \d+$", source, flags=re.M)) == 1
    full = mnist.load_data

    def fewer_digits(path=None):
        (x_train, y_train), (x_test, y_test) = full(path)
        return (x_train[:train], y_train[:train]), (x_test[:test], y_test[:test])

    monkeypatch.setattr(mnist, "load_data", fewer_digits)
    monkeypatch.setattr(engine_model, "SEEDS", [None])
    keras.utils.set_random_seed(0)  # the same initial weights, shuffles and dropout masks every run
    namespace = {"__name__": "__main__", "__file__": str(script)}
    exec(compile(re.sub(r"^epochs = \d+$", "epochs = 1", source, flags=re.M), str(script), "exec"), namespace)
    return namespace


def imports(script: Path) -> list[str]:
    return [line for line in script.read_text().splitlines() if re.match(r"(from|import) ", line)]


@pytest.mark.parametrize("name", ["mnist_cnn.py", "mnist_convnet.py"])
def test_every_keras_import_names_cnnviz_keras(name):
    lines = [line for line in imports(EXAMPLES / name) if "keras" in line]
    assert lines and all("cnnviz.keras" in line for line in lines)


def test_mnist_cnn_keras2_example_runs(monkeypatch, capsys):
    namespace = run_for_one_epoch(EXAMPLES / "mnist_cnn.py", monkeypatch)
    out = capsys.readouterr().out
    assert "x_train shape: (800, 28, 28, 1)" in out and "Epoch 1/1" in out and "val_accuracy" in out
    assert f"Test accuracy: {namespace['score'][1]}" in out
    model = namespace["model"]
    assert model.optimizer.name == "adadelta" and model.count_params() == 1_199_882  # as in Keras' summary
    assert len(model.history.history["loss"]) == 1 and np.isfinite(namespace["score"][0])


def test_mnist_convnet_keras_io_example_runs_and_learns(monkeypatch, capsys):
    namespace = run_for_one_epoch(EXAMPLES / "mnist_convnet.py", monkeypatch)
    out = capsys.readouterr().out
    assert "Total params: 34,826" in out  # the figure keras.io's summary shows
    assert "720/720 [" in out and "val_loss" in out  # validation_split=0.1 of 800 digits
    assert namespace["score"][1] > 0.25, "six Adam steps on 720 digits: well above chance (0.1); 0.35 with seed 0"
