"""Losses: the batch mean of a per-sample loss, and its gradient with respect to the output.

y_pred, y_true: (N, K). Cross-entropy on a softmax output is differentiated fused,
dE/da = (y_pred - y_true) / N, never through the softmax Jacobian (see ``Sequential.backward``).
Labels reach the losses as (N, K) arrays: ``Sequential.check_y`` turns class ids into one-hot
rows, so ``sparse_categorical_crossentropy`` is categorical cross-entropy on those rows.
"""
from __future__ import annotations

import numpy as np

EPSILON = 1e-7  # Keras' clip for probabilities in cross-entropy


def categorical_crossentropy(y_pred: np.ndarray, y_true: np.ndarray) -> float:
    p = np.clip(y_pred, EPSILON, 1.0)
    return float(-(y_true * np.log(p)).sum(axis=-1).mean()) + 0.0  # + 0.0: a perfect prediction gives 0, not -0


def categorical_crossentropy_grad(y_pred, y_true):
    """dE/dy_pred, for outputs that are not a softmax."""
    return -y_true / np.clip(y_pred, EPSILON, 1.0) / y_pred.shape[0]


def binary_crossentropy(y_pred, y_true) -> float:
    """Mean over outputs and samples of -(y log p + (1 - y) log(1 - p)); p clipped to [eps, 1 - eps]."""
    p = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
    return float(-(y_true * np.log(p) + (1 - y_true) * np.log(1 - p)).mean()) + 0.0


def binary_crossentropy_grad(y_pred, y_true):
    p = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
    return (p - y_true) / (p * (1 - p)) / y_pred.size


def mean_squared_error(y_pred, y_true) -> float:
    return float(((y_pred - y_true) ** 2).mean())


def mean_squared_error_grad(y_pred, y_true):
    return 2 * (y_pred - y_true) / y_pred.size


def softmax_crossentropy_delta(y_pred, y_true):
    """dE/da for softmax followed by cross-entropy: (y_pred - y_true) / N."""
    return (y_pred - y_true) / y_pred.shape[0]


LOSSES = {
    "categorical_crossentropy": (categorical_crossentropy, categorical_crossentropy_grad),
    "binary_crossentropy": (binary_crossentropy, binary_crossentropy_grad),
    "mean_squared_error": (mean_squared_error, mean_squared_error_grad),
}
ALIASES = {"mse": "mean_squared_error", "crossentropy": "categorical_crossentropy",
           "sparse_categorical_crossentropy": "categorical_crossentropy"}


def check_loss(name) -> str:
    """The loss's key in LOSSES, from its name, an alias, or a Keras-style loss function or object
    (``keras.losses.categorical_crossentropy``, ``keras.losses.CategoricalCrossentropy()``)."""
    if not isinstance(name, str):
        name = getattr(name, "name", None) or getattr(name, "__name__", name)
    key = ALIASES.get(name, name) if isinstance(name, str) else name
    if key not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; expected one of {sorted([*LOSSES, *ALIASES])}")
    return key
