"""What the evaluation and live views show, computed here so the views only draw.

- ``confusion_matrix`` and ``per_class_accuracy`` of predictions on a test set, and
  ``cell_samples``: the samples of one cell (true class i predicted as j);
- ``live_snapshot``: the first layer's kernels, its output and the class probabilities of the
  network on one sample, as copies (taken by the training thread, drawn by the GUI thread).
"""
from __future__ import annotations

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, classes: int) -> np.ndarray:
    """y_true, y_pred: (N,) class ids -> (classes, classes) int64 counts: row = true, column = predicted."""
    y_true, y_pred = np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"expected two (N,) arrays of class ids, got {y_true.shape} and {y_pred.shape}")
    if y_true.size and (min(y_true.min(), y_pred.min()) < 0 or max(y_true.max(), y_pred.max()) >= classes):
        raise ValueError(f"class ids must be 0 to {classes - 1}")
    return np.bincount(y_true * classes + y_pred, minlength=classes * classes).reshape(classes, classes)


def per_class_accuracy(matrix: np.ndarray) -> np.ndarray:
    """(K, K) confusion matrix -> (K,) share of each true class predicted right (NaN for a class with no samples)."""
    totals = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(matrix) / np.maximum(totals, 1), np.nan)


def row_shares(matrix: np.ndarray) -> np.ndarray:
    """(K, K) counts -> the share of each cell in its row (its true class); 0 for an empty row."""
    totals = matrix.sum(axis=1, keepdims=True)
    return matrix / np.maximum(totals, 1)


def evaluate_predictions(labels: np.ndarray, predicted: np.ndarray, classes: int) -> dict:
    """What an evaluation view shows of predictions on a test set. labels, predicted: (N,) class ids.

    ``matrix`` (classes, classes) counts, ``shares`` of each cell in its row, ``accuracy`` (classes,) per
    class, ``right`` and ``total`` counts and ``overall`` accuracy; ``labels`` and ``predicted`` as given.
    """
    matrix = confusion_matrix(labels, predicted, classes)
    right, total = int(np.trace(matrix)), int(matrix.sum())
    return {"matrix": matrix, "shares": row_shares(matrix), "accuracy": per_class_accuracy(matrix), "right": right,
            "total": total, "overall": right / total if total else float("nan"), "labels": np.asarray(labels),
            "predicted": np.asarray(predicted)}


def cell_samples(y_true: np.ndarray, y_pred: np.ndarray, true_class: int, predicted_class: int) -> np.ndarray:
    """Indices (ascending) of the samples of class ``true_class`` predicted as ``predicted_class``."""
    return np.flatnonzero((np.asarray(y_true) == true_class) & (np.asarray(y_pred) == predicted_class))


def first_weighted_layer(model):
    """Index of the first layer with a kernel (Conv2D or Dense), or None."""
    return next((i for i, layer in enumerate(model.layers) if "kernel" in layer.params), None)


def live_snapshot(model, x: np.ndarray) -> dict:
    """The network on one sample x: (H, W, C), as copies.

    ``kernels``: (kh, kw, C_in, K) of the first Conv2D, or a first Dense layer's (n_in, K) kernel
    reshaped to the input's (H, W, C, K) when only a Flatten comes before it (its weight images);
    ``maps``: that layer's output for x, (H', W', K) for a conv layer, None for a dense one;
    ``probabilities``: (classes,) the network's output and ``predicted`` its most probable class;
    ``kernel_layer``: the name of the layer whose kernels these are.
    """
    index = first_weighted_layer(model)
    out = model.check_x(x[None])
    maps = None
    for i, layer in enumerate(model.layers):
        out = layer.forward(out, training=False)
        if i == index and out.ndim == 4:
            maps = out[0].copy()
    kernels = name = None
    if index is not None:
        layer = model.layers[index]
        name = layer.name
        kernels = layer.params["kernel"].copy()
        if kernels.ndim == 2 and kernels.shape[0] == int(np.prod(model.input_shape)):
            kernels = kernels.reshape(*model.input_shape, kernels.shape[1])
        elif kernels.ndim != 4:
            kernels = None
    return {"kernels": kernels, "maps": maps, "probabilities": out[0].copy(), "predicted": int(np.argmax(out[0])),
            "kernel_layer": name}
