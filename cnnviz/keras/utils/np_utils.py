"""``keras.utils.np_utils`` as older Keras code imports it."""
from __future__ import annotations

import numpy as np


def to_categorical(y, num_classes: int | None = None, dtype="float32") -> np.ndarray:
    """Class ids (N,) (or (N, 1)) -> one-hot rows (N, num_classes), as Keras does."""
    y = np.asarray(y)
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y.reshape(y.shape[:-1])
    if y.size and (not np.issubdtype(y.dtype, np.number) or np.any(y != np.round(y)) or y.min() < 0):
        raise ValueError("to_categorical: labels must be whole numbers >= 0 (class ids)")
    ids = y.astype(np.int64)
    needed = int(ids.max()) + 1 if ids.size else 0
    if num_classes is None:
        num_classes = needed
    elif needed > num_classes:
        raise ValueError(f"to_categorical: label {needed - 1} does not fit num_classes={num_classes}")
    return np.eye(num_classes, dtype=dtype)[ids]
