"""Losses: the batch mean of a per-sample loss, and its gradient with respect to the output.

y_pred, y_true: (N, K). Cross-entropy on a softmax output is differentiated fused,
dE/da = (y_pred - y_true) / N, never through the softmax Jacobian (see ``Sequential.backward``).
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


def mean_squared_error(y_pred, y_true) -> float:
    return float(((y_pred - y_true) ** 2).mean())


def mean_squared_error_grad(y_pred, y_true):
    return 2 * (y_pred - y_true) / y_pred.size


def softmax_crossentropy_delta(y_pred, y_true):
    """dE/da for softmax followed by cross-entropy: (y_pred - y_true) / N."""
    return (y_pred - y_true) / y_pred.shape[0]


LOSSES = {
    "categorical_crossentropy": (categorical_crossentropy, categorical_crossentropy_grad),
    "mean_squared_error": (mean_squared_error, mean_squared_error_grad),
}
ALIASES = {"mse": "mean_squared_error", "crossentropy": "categorical_crossentropy"}


def check_loss(name) -> str:
    key = ALIASES.get(name, name) if isinstance(name, str) else name
    if key not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; expected one of {sorted(LOSSES)}")
    return key
