"""Datasets for cnnviz, as NHWC float32 in [0, 1] with int64 class ids. Never imports Qt (Pillow decodes images).

>>> ds = load_dataset("mnist")   # the 5,000 real MNIST digits cnnviz ships (4,000 train / 1,000 test)
>>> ds.x_train.shape, ds.y_train.shape, ds.class_names[:3]
((4000, 28, 28, 1), (4000,), ['0', '1', '2'])

Names: ``mnist`` (shipped) and the synthetic lecture sets ``bars``, ``edges``, ``crosses``; or a
path: a folder of MNIST/Fashion-MNIST IDX files (raw or .gz), a Keras-style ``mnist.npz`` or any
``.npz`` with ``x`` and ``y``, a CIFAR-10 folder (python or binary batches, read without
unpickling), or a folder of images with one sub-folder per class.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..limits import MAX_CLASSES, MAX_DATASET_VALUES, as_path
from ..paths import DATASETS
from . import cifar, formats
from .dataset import Dataset, images_to_float, labels_to_ids, stratified_split
from .synthetic_sets import CLASS_NAMES as SYNTHETIC_CLASSES
from .synthetic_sets import synthetic

__all__ = ["Dataset", "load_dataset", "synthetic", "DATASET_NAMES", "SHIPPED_MNIST", "keras_cache_datasets"]

SHIPPED_MNIST = DATASETS / "mnist_5k.npz"
DATASET_NAMES = ("mnist", *SYNTHETIC_CLASSES)
# What keras.datasets leaves in its cache folder (Keras 3 first, then Keras 2), and what it is called.
KERAS_CACHE = (("MNIST", ("mnist.npz",)), ("Fashion-MNIST", ("fashion-mnist",)),
               ("CIFAR-10", ("cifar-10-batches-py-target/cifar-10-batches-py", "cifar-10-batches-py")))


def keras_cache_datasets(keras_home=None) -> list[tuple[str, Path]]:
    """(name, path) of the datasets Keras has downloaded before (``$KERAS_HOME`` or ``~/.keras``, in
    ``datasets/``), for ``load_dataset``. Looks only; never downloads."""
    folder = Path(keras_home or os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "datasets"
    found = []
    for name, entries in KERAS_CACHE:
        path = next((folder / entry for entry in entries if (folder / entry).exists()), None)
        if path is not None:
            found.append((name, path))
    return found


def load_dataset(source="mnist", *, seed=0, test_fraction: float = 0.2, size: int = 28) -> Dataset:
    """A ``Dataset`` from a name in ``DATASET_NAMES`` or a path of any supported format.

    ``seed`` makes the synthetic sets and the split of data that has no test part;
    ``test_fraction`` is the share of each class such a split puts in the test part;
    ``size`` is the image size of the synthetic sets (8 to 28).
    """
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)) or not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be a number between 0 and 1 (exclusive), got {test_fraction!r}")
    if isinstance(source, str) and source in SYNTHETIC_CLASSES:
        return synthetic(source, size=size, seed=seed)
    if isinstance(source, str) and source == "mnist":
        if not SHIPPED_MNIST.is_file():
            raise ValueError(f"{SHIPPED_MNIST}: the shipped MNIST subset is missing; "
                             "make it with resources/datasets/make_mnist_5k.py")
        return _from_arrays(formats.read_dataset_npz(SHIPPED_MNIST), "mnist", SHIPPED_MNIST, seed, test_fraction,
                            [str(k) for k in range(10)])
    path = as_path(source, "dataset")
    if not path.exists():
        raise ValueError(f"{path}: no such file or folder; expected a dataset name {list(DATASET_NAMES)} or a path "
                         "(IDX folder, .npz, CIFAR-10 folder, or a folder with one sub-folder of images per class)")
    if path.suffix.lower() in (".pkl", ".pickle", ".pt", ".pth"):
        raise ValueError(f"{path}: pickled files are never loaded; save the arrays with numpy.savez instead")
    if path.is_file() and path.suffix.lower() == ".npz":
        return _from_arrays(formats.read_dataset_npz(path), path.stem, path, seed, test_fraction)
    if path.is_file() and any(path.name.startswith(stem) for stem in formats.IDX_FILES.values()):
        path = path.parent
    if path.is_file() and (path.name.startswith(("data_batch_", "test_batch"))):
        path = path.parent
    if path.is_file():
        raise ValueError(f"{path}: unsupported dataset file; expected .npz, an IDX file, a CIFAR-10 batch or a folder")
    if formats.is_idx_folder(path):
        arrays, names = formats.read_idx_folder(path)
        name = "fashion-mnist" if names == formats.FASHION_CLASSES else path.name
        return _from_arrays(arrays, name, path, seed, test_fraction, names)
    if any((path / name).is_file() for name in ("data_batch_1", "data_batch_1.bin")):
        x_train, y_train, x_test, y_test = cifar.read_cifar10(path)
        return _from_arrays({"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test},
                            "cifar-10", path, seed, test_fraction, list(cifar.CLASS_NAMES))
    return _image_folder(path, seed, test_fraction)


def _from_arrays(arrays: dict, name: str, path, seed, test_fraction, class_names=None) -> Dataset:
    """Arrays in the Keras layout (x_train...) or x, y (split here) -> a checked Dataset."""
    where = str(path)
    images = [arrays[key] for key in ("x", "x_train", "x_test") if key in arrays]
    if sum(np.asarray(x).size for x in images) > MAX_DATASET_VALUES:
        raise ValueError(f"{where}: the images hold {sum(np.asarray(x).size for x in images):,} values, more than "
                         f"the {MAX_DATASET_VALUES:,} cnnviz loads for one dataset")
    if {"x_train", "y_train", "x_test", "y_test"} <= arrays.keys():  # else x and y (a stray x_train is ignored)
        parts = []
        for part in ("train", "test"):
            x = images_to_float(arrays[f"x_{part}"], f"{where} (x_{part})")
            parts += [x, labels_to_ids(arrays[f"y_{part}"], len(x), f"{where} (y_{part})")]
        if parts[0].shape[1:] != parts[2].shape[1:]:
            raise ValueError(f"{where}: training images {parts[0].shape[1:]} and test images {parts[2].shape[1:]} "
                             "differ in shape")
    else:
        x = np.asarray(arrays["x"])
        images_to_float(x[:0] if x.ndim else x, f"{where} (x)")  # shape and dtype, before anything is copied
        y = labels_to_ids(arrays["y"], len(x), f"{where} (y)")
        if not len(x):
            raise ValueError(f"{where}: holds no training images; expected at least one")
        train, test = stratified_split(y, test_fraction, seed)
        # Each part is converted on its own: the whole set is never held as floats twice.
        parts = [images_to_float(x[train], f"{where} (x)"), y[train], images_to_float(x[test], f"{where} (x)"),
                 y[test]]
    if not len(parts[0]):
        raise ValueError(f"{where}: holds no training images; expected at least one")
    highest = max(int(parts[1].max(initial=0)), int(parts[3].max(initial=0)))
    if highest >= MAX_CLASSES:
        raise ValueError(f"{where}: labels go up to {highest:,}; cnnviz expects class ids 0 to {MAX_CLASSES - 1:,}")
    if class_names is None and "class_names" in arrays:
        names = np.asarray(arrays["class_names"])
        if names.dtype.kind not in "US" or names.size > MAX_CLASSES:
            raise ValueError(f"{where}: class_names must be up to {MAX_CLASSES:,} strings, got {names.dtype} "
                             f"{names.shape}")
        class_names = [str(n) for n in names.reshape(-1)]
    if class_names is None:
        class_names = [str(k) for k in range(highest + 1)]
    if highest >= len(class_names):
        raise ValueError(f"{where}: labels go up to {highest} but there are {len(class_names)} class names")
    return Dataset(*parts, class_names=list(class_names), name=name, source=where)


def _image_folder(path: Path, seed, test_fraction) -> Dataset:
    """One sub-folder per class; or train/ and test/ folders that each hold one sub-folder per class."""
    subfolders = {p.name for p in formats.class_folders(path)}
    if subfolders == {"train", "test"}:
        x_train, y_train, names = formats.read_image_folder(path / "train")
        x_test, y_test, test_names = formats.read_image_folder(path / "test")
        if test_names != names:
            raise ValueError(f"{path / 'test'}: class folders {test_names} differ from {path / 'train'}: {names}")
        if x_test.shape[1:] != x_train.shape[1:]:
            raise ValueError(f"{path / 'test'}: images of {x_test.shape[1:]} differ from the training images "
                             f"{x_train.shape[1:]}")
        arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    else:
        x, y, names = formats.read_image_folder(path)
        arrays = {"x": x, "y": y}
    return _from_arrays(arrays, path.name, path, seed, test_fraction, names)
