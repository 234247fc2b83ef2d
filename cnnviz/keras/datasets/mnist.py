"""``keras.datasets.mnist``: ``(x_train, y_train), (x_test, y_test) = mnist.load_data()``.

Without ``path``: the 5,000 real MNIST digits cnnviz ships, split as the app splits them (4,000
training, 1,000 test), as Keras returns MNIST: uint8 images (N, 28, 28) in 0..255, uint8 labels.
``path``: a Keras ``mnist.npz`` (the full 60,000 + 10,000), as given or in ~/.keras/datasets/.
Nothing is downloaded.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...data import SHIPPED_MNIST
from ...data.formats import read_dataset_npz

KERAS_DATASETS = Path.home() / ".keras" / "datasets"


def load_data(path=None):
    """((x_train, y_train), (x_test, y_test)); see the module docstring."""
    if path is None:
        file = SHIPPED_MNIST
    else:
        candidates = [Path(path).expanduser(), KERAS_DATASETS / path]
        file = next((c for c in candidates if c.is_file()), None)
        if file is None:
            raise ValueError(f"mnist.load_data: no file {path!r} (looked at {', '.join(map(str, candidates))}); "
                             "cnnviz downloads nothing: put Keras' mnist.npz there, or call load_data() "
                             "for the 5,000 digits cnnviz ships")
    arrays = read_dataset_npz(file)
    if not {"x_train", "y_train", "x_test", "y_test"} <= arrays.keys():
        raise ValueError(f"{file}: expected Keras' mnist.npz arrays x_train, y_train, x_test, y_test")
    parts = [arrays[key] for key in ("x_train", "y_train", "x_test", "y_test")]
    if parts[0].ndim != 3 or parts[2].ndim != 3 or len(parts[0]) != len(parts[1]) or len(parts[2]) != len(parts[3]):
        raise ValueError(f"{file}: expected images (N, 28, 28) and one label per image")
    x_train, y_train, x_test, y_test = (np.asarray(part, np.uint8) for part in parts)
    return (x_train, y_train), (x_test, y_test)
