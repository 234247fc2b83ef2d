"""Confusion matrix, per-class accuracy, the samples of a cell, and live snapshots of a network."""
import numpy as np
import pytest

from cnnviz.engine.evaluation import (cell_samples, confusion_matrix, evaluate_predictions, live_snapshot,
                                      per_class_accuracy)
from cnnviz.engine.layers import Conv2D, Dense, Flatten, Input
from cnnviz.engine.model import Sequential


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    y_true = np.array([0, 0, 1, 1, 1, 2])
    y_pred = np.array([0, 1, 1, 1, 0, 1])
    matrix = confusion_matrix(y_true, y_pred, 4)
    expected = np.zeros((4, 4), int)
    for t, p in zip(y_true, y_pred):
        expected[t, p] += 1
    assert np.array_equal(matrix, expected)
    accuracy = per_class_accuracy(matrix)
    assert accuracy[:3] == pytest.approx([0.5, 2 / 3, 0.0]) and np.isnan(accuracy[3])
    assert list(cell_samples(y_true, y_pred, 1, 0)) == [4]
    assert list(cell_samples(y_true, y_pred, 1, 1)) == [2, 3]
    result = evaluate_predictions(y_true, y_pred, 4)
    assert (result["right"], result["total"]) == (3, 6) and result["overall"] == pytest.approx(0.5)
    assert result["shares"][1] == pytest.approx([1 / 3, 2 / 3, 0, 0]) and not result["shares"][3].any()
    with pytest.raises(ValueError, match="0 to 3"):
        confusion_matrix(y_true, y_pred + 3, 4)


def test_live_snapshot_copies_the_first_kernels_and_the_network_on_one_sample():
    conv = Sequential([Input(input_shape=(6, 6, 3)), Conv2D(2, (3, 3), activation="relu"), Flatten(),
                       Dense(4, activation="softmax")], seed=0)
    x = np.random.default_rng(0).random((6, 6, 3), dtype=np.float32)
    snapshot = live_snapshot(conv, x)
    assert snapshot["kernels"].shape == (3, 3, 3, 2) and snapshot["kernel_layer"] == conv.layers[0].name
    assert not np.shares_memory(snapshot["kernels"], conv.layers[0].params["kernel"])
    assert np.allclose(snapshot["maps"], conv.layers[0].forward(x[None])[0])
    assert np.allclose(snapshot["probabilities"], conv.predict(x[None])[0])
    assert snapshot["predicted"] == int(np.argmax(snapshot["probabilities"]))
    dense = Sequential([Input(input_shape=(4, 4, 1)), Flatten(), Dense(3, activation="softmax")], seed=0)
    snapshot = live_snapshot(dense, x[:4, :4, :1])
    assert snapshot["kernels"].shape == (4, 4, 1, 3) and snapshot["maps"] is None
    assert np.array_equal(snapshot["kernels"][..., 2].reshape(-1), dense.layers[1].params["kernel"][:, 2])
