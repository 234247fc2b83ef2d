"""``keras.losses``: Keras-order functions ``loss(y_true, y_pred)`` giving per-sample losses, and
loss classes; ``compile(loss=...)`` takes either, or their names."""
from __future__ import annotations

import numpy as np

from ..engine.losses import EPSILON
from ..engine.model import refuse_unsupported


def categorical_crossentropy(y_true, y_pred):
    """Per-sample -sum(y_true * log(y_pred)); y: (N, K)."""
    return -(np.asarray(y_true) * np.log(np.clip(y_pred, EPSILON, 1.0))).sum(axis=-1)


def sparse_categorical_crossentropy(y_true, y_pred):
    """Per-sample -log(y_pred[true class]); y_true: (N,) class ids."""
    y_pred = np.asarray(y_pred)
    ids = np.asarray(y_true).reshape(-1).astype(np.int64)
    return -np.log(np.clip(y_pred[np.arange(len(ids)), ids], EPSILON, 1.0))


def binary_crossentropy(y_true, y_pred):
    """Per-sample mean over the outputs of -(y log p + (1 - y) log(1 - p))."""
    p, y = np.clip(y_pred, EPSILON, 1.0 - EPSILON), np.asarray(y_true)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(axis=-1)


def mean_squared_error(y_true, y_pred):
    return ((np.asarray(y_pred) - np.asarray(y_true)) ** 2).mean(axis=-1)


mse = MSE = mean_squared_error


class _Loss:
    name = ""

    def __init__(self, from_logits: bool = False, reduction="sum_over_batch_size", name=None, **unsupported):
        if from_logits:
            unsupported["from_logits=True"] = True
        if reduction not in ("sum_over_batch_size", "auto"):
            unsupported[f"reduction={reduction!r}"] = reduction
        refuse_unsupported(type(self).__name__, unsupported, ("from_logits=False (a softmax/sigmoid output)",
                                                              "reduction='sum_over_batch_size'"))

    def __call__(self, y_true, y_pred):
        return float(np.mean(FUNCTIONS[self.name](y_true, y_pred)))


class CategoricalCrossentropy(_Loss):
    name = "categorical_crossentropy"


class SparseCategoricalCrossentropy(_Loss):
    name = "sparse_categorical_crossentropy"


class BinaryCrossentropy(_Loss):
    name = "binary_crossentropy"


class MeanSquaredError(_Loss):
    name = "mean_squared_error"


FUNCTIONS = {function.__name__: function for function in (categorical_crossentropy, sparse_categorical_crossentropy,
                                                           binary_crossentropy, mean_squared_error)}
