"""``Dataset``: images and labels split into training and test parts, ready for the engine."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..limits import MAX_CLASSES


@dataclass
class Dataset:
    """x_train: (N, H, W, C) float32 in [0, 1]; y_train: (N,) int64 class ids; same for the test part.

    ``class_names[k]`` names class k; ``name`` is a short label and ``source`` says where the
    data came from (a path or a description).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    name: str
    source: str = field(default="")

    def __post_init__(self):
        for part in ("train", "test"):
            x, y = getattr(self, f"x_{part}"), getattr(self, f"y_{part}")
            if x.ndim != 4 or x.dtype != np.float32:
                raise ValueError(f"{self.name}: x_{part} must be float32 (N, H, W, C), got {x.dtype} {x.shape}")
            if y.shape != (len(x),) or y.dtype != np.int64:
                raise ValueError(f"{self.name}: y_{part} must be int64 ({len(x)},), got {y.dtype} {y.shape}")
            if y.size and (y.min() < 0 or y.max() >= len(self.class_names)):
                raise ValueError(f"{self.name}: y_{part} has class ids outside [0, {len(self.class_names) - 1}]")
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ValueError(f"{self.name}: training images {self.x_train.shape[1:]} and test images "
                             f"{self.x_test.shape[1:]} differ in shape")

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(H, W, C) of one image."""
        return tuple(self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def subset(self, n_train: int | None = None, n_test: int | None = None) -> "Dataset":
        """The first ``n_train`` training and ``n_test`` test samples (None keeps all)."""
        for label, n in (("n_train", n_train), ("n_test", n_test)):
            if n is not None and (not isinstance(n, (int, np.integer)) or n < 1):
                raise ValueError(f"{label} must be a positive int, got {n!r}")
        return Dataset(self.x_train[:n_train], self.y_train[:n_train], self.x_test[:n_test], self.y_test[:n_test],
                       list(self.class_names), self.name, self.source)

    def describe(self) -> str:
        h, w, c = self.input_shape
        return (f"{self.name}: {len(self.x_train)} training and {len(self.x_test)} test images of "
                f"{h}x{w}x{c}, {self.num_classes} classes")


def images_to_float(images: np.ndarray, where: str) -> np.ndarray:
    """uint8 (N, H, W) or (N, H, W, C) images, or floats in [0, 1] -> float32 (N, H, W, C) in [0, 1]."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4:
        raise ValueError(f"{where}: expected images of shape (N, H, W) or (N, H, W, C), got {images.shape}")
    if images.dtype == np.uint8:
        scaled = images.astype(np.float32)
        scaled /= 255  # in place: a dataset near the size limit must not be held as floats twice
        return scaled
    if not np.issubdtype(images.dtype, np.floating) and not np.issubdtype(images.dtype, np.integer):
        raise ValueError(f"{where}: expected uint8 or float images, got dtype {images.dtype}")
    images = images.astype(np.float32)
    if images.size and (not np.all(np.isfinite(images)) or images.min() < 0 or images.max() > 1):
        raise ValueError(f"{where}: expected uint8 pixels 0-255 or floats in [0, 1], got values in "
                         f"[{np.nanmin(images):g}, {np.nanmax(images):g}]")
    return images


def labels_to_ids(labels: np.ndarray, n: int, where: str) -> np.ndarray:
    """Class ids (N,) or one-hot (N, K) -> int64 (N,); checks the count against ``n`` images."""
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] > 1:
        labels = labels.argmax(axis=1)
    labels = labels.reshape(-1) if labels.ndim == 2 else labels
    if labels.ndim != 1:
        raise ValueError(f"{where}: expected labels of shape (N,) or one-hot (N, K), got {labels.shape}")
    if len(labels) != n:
        raise ValueError(f"{where}: {n} images but {len(labels)} labels")
    if labels.dtype.kind not in "iuf" or not np.all(labels == np.round(labels)) or (
            labels.size and (labels.min() < 0 or labels.max() >= MAX_CLASSES)):
        raise ValueError(f"{where}: labels must be whole numbers from 0 to {MAX_CLASSES - 1:,} (class ids)")
    return labels.astype(np.int64)


def stratified_split(y: np.ndarray, test_fraction: float, seed) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test): about ``test_fraction`` of every class goes to the test part."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction!r}")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        n_test = int(round(len(members) * test_fraction)) if len(members) > 1 else 0
        test.append(members[:n_test])
        train.append(members[n_test:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))
