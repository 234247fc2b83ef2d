"""Synthetic lecture sets made on the fly, deterministic by seed.

Each is a small problem whose solution is an oriented edge or line detector, so the
first-layer filters of a trained network visibly turn into edge detectors:

- ``bars``: one horizontal or one vertical bar (2 classes);
- ``edges``: a step edge running vertically or horizontally, bright on either side (2 classes);
- ``crosses``: an upright cross '+' or a diagonal cross 'x' (2 classes).

Images are (size, size, 1), size 8 to 28, with a little Gaussian noise, in [0, 1].
"""
from __future__ import annotations

import numpy as np

from .dataset import Dataset

CLASS_NAMES = {
    "bars": ["horizontal", "vertical"],
    "edges": ["vertical", "horizontal"],
    "crosses": ["plus", "x"],
}
NOISE = 0.05


def _bars(rng, labels, size):
    n = len(labels)
    rows = np.arange(size)[None, :, None]
    cols = np.arange(size)[None, None, :]
    thickness = rng.integers(1, 3, n)[:, None, None]
    position = rng.integers(1, size - 2, n)[:, None, None]
    length = rng.integers(size // 2, size + 1, n)[:, None, None]
    start = rng.integers(0, size - length[:, 0, 0] + 1)[:, None, None]
    across, along = np.where(labels[:, None, None] == 0, rows, cols), np.where(labels[:, None, None] == 0, cols, rows)
    mask = (across >= position) & (across < position + thickness) & (along >= start) & (along < start + length)
    brightness = rng.uniform(0.6, 1.0, n)[:, None, None]
    return mask * brightness


def _edges(rng, labels, size):
    n = len(labels)
    rows = np.arange(size)[None, :, None]
    cols = np.arange(size)[None, None, :]
    position = rng.integers(size // 4, size - size // 4, n)[:, None, None]
    dark = rng.uniform(0.0, 0.3, n)[:, None, None]
    bright = rng.uniform(0.7, 1.0, n)[:, None, None]
    # Either side may be the bright one, so only the direction of the edge tells the class.
    flip = rng.random(n)[:, None, None] < 0.5
    across = np.where(labels[:, None, None] == 0, cols, rows)
    return np.where((across >= position) ^ flip, bright, dark)


def _crosses(rng, labels, size):
    n = len(labels)
    rows = np.arange(size)[None, :, None]
    cols = np.arange(size)[None, None, :]
    arm = rng.integers(2, max(3, size // 3 + 1), n)
    centre_r = rng.integers(arm, size - arm)[:, None, None]
    centre_c = rng.integers(arm, size - arm)[:, None, None]
    arm = arm[:, None, None]
    dr, dc = np.abs(rows - centre_r), np.abs(cols - centre_c)
    plus = ((dr == 0) & (dc <= arm)) | ((dc == 0) & (dr <= arm))
    cross = (dr == dc) & (dr <= arm)
    mask = np.where(labels[:, None, None] == 0, plus, cross)
    brightness = rng.uniform(0.6, 1.0, n)[:, None, None]
    return mask * brightness


MAKERS = {"bars": _bars, "edges": _edges, "crosses": _crosses}


def synthetic(name: str = "bars", size: int = 28, n_train: int = 1000, n_test: int = 200, seed=0) -> Dataset:
    """A synthetic lecture set: ``name`` in 'bars', 'edges', 'crosses'; images (size, size, 1).

    Classes are balanced (they take turns) and the same seed always gives the same images.
    """
    if name not in MAKERS:
        raise ValueError(f"unknown synthetic set {name!r}; expected one of {sorted(MAKERS)}")
    if not isinstance(size, (int, np.integer)) or not 8 <= size <= 28:
        raise ValueError(f"synthetic images must be 8 to 28 pixels wide, got size {size!r}")
    for label, n in (("n_train", n_train), ("n_test", n_test)):
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"{label} must be a positive int, got {n!r}")
    rng = np.random.default_rng(seed)
    classes = len(CLASS_NAMES[name])
    parts = []
    for n in (n_train, n_test):
        labels = rng.permutation(np.arange(n) % classes)
        clean = MAKERS[name](rng, labels, size)
        noisy = np.clip(clean + rng.normal(0, NOISE, clean.shape), 0, 1)
        parts += [noisy[..., None].astype(np.float32), labels.astype(np.int64)]
    return Dataset(*parts, class_names=list(CLASS_NAMES[name]), name=name,
                   source=f"synthetic {name} {size}x{size}, seed {seed}")
