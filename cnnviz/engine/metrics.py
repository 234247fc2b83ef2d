"""Metrics that ``compile(metrics=[...])`` accepts. y_pred, y_onehot: (N, K); labels arrive one-hot
(class ids are turned into one-hot rows first), so every accuracy name means the same thing:
the share of samples whose largest output is the true class (outputs above 0.5 for K = 1)."""
from __future__ import annotations

import numpy as np

ACCURACY_NAMES = ("accuracy", "acc", "categorical_accuracy", "sparse_categorical_accuracy", "binary_accuracy")


def accuracy(y_pred: np.ndarray, y_onehot: np.ndarray) -> float:
    """Fraction of samples whose largest output is the true class (one output: on the right side of 0.5)."""
    if len(y_pred) == 0:
        return 0.0
    if y_pred.shape[-1] == 1:
        return float(((y_pred > 0.5) == (y_onehot > 0.5)).mean())
    return float((y_pred.argmax(axis=1) == y_onehot.argmax(axis=1)).mean())


def check_metrics(metrics) -> list[str]:
    """The metric names, checked; a single name is taken as a list of one."""
    if metrics is None:
        return []
    if isinstance(metrics, str):
        metrics = [metrics]
    names = []
    for metric in metrics:
        name = metric if isinstance(metric, str) else getattr(metric, "name", None) or getattr(metric, "__name__", None)
        if name not in ACCURACY_NAMES:
            raise ValueError(f"unknown metric {metric!r}; cnnviz computes {list(ACCURACY_NAMES)}")
        names.append(name)
    return names
