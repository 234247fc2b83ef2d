"""``keras.datasets.cifar10``: ``(x_train, y_train), (x_test, y_test) = cifar10.load_data()`` from a local
copy of CIFAR-10 (Keras' ``~/.keras/datasets/cifar-10-batches-py``, or ``path=``); nothing is downloaded.
Images (N, 32, 32, 3) uint8, labels (N, 1) uint8, as Keras returns them."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...data.cifar import read_cifar10

DEFAULT = Path.home() / ".keras" / "datasets" / "cifar-10-batches-py"


def load_data(path=None):
    folder = Path(path).expanduser() if path is not None else DEFAULT
    if not folder.is_dir():
        raise ValueError(f"cifar10.load_data: no CIFAR-10 folder at {folder}; cnnviz downloads nothing: unpack "
                         "cifar-10-python.tar.gz (from www.cs.toronto.edu/~kriz/cifar.html) so that "
                         f"{DEFAULT}/data_batch_1 exists, or pass load_data(path=folder)")
    x_train, y_train, x_test, y_test = read_cifar10(folder)
    return ((x_train.astype(np.uint8), y_train.astype(np.uint8).reshape(-1, 1)),
            (x_test.astype(np.uint8), y_test.astype(np.uint8).reshape(-1, 1)))
