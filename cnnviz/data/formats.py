"""Readers for the dataset formats people have: IDX (MNIST, Fashion-MNIST), ``.npz`` and
folders of images. Each returns raw arrays; ``cnnviz.data.load_dataset`` turns them into a
``Dataset``. Errors name the file and what was expected.
"""
from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import numpy as np

IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".pgm", ".ppm"}


# ---------------------------------------------------------------- IDX
def read_idx(path, dims: int) -> np.ndarray:
    """An IDX file of unsigned bytes (raw or .gz) with ``dims`` dimensions, e.g. 3 for images (N, H, W)."""
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as stream:
            data = stream.read()
    except (OSError, EOFError) as error:
        raise ValueError(f"{path}: cannot read the IDX file ({error})") from None
    if len(data) < 4 + 4 * dims:
        raise ValueError(f"{path}: truncated: {len(data)} bytes, too short for an IDX header")
    zero, kind, ndim = int.from_bytes(data[:2], "big"), data[2], data[3]
    if zero != 0 or kind != 0x08 or ndim != dims:
        raise ValueError(f"{path}: expected an IDX file of unsigned bytes with {dims} dimensions (magic "
                         f"0x0000080{dims}), got magic 0x{data[:4].hex()}")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    body = data[4 + 4 * dims :]
    expected = int(np.prod(shape))
    if len(body) != expected:
        what = "truncated" if len(body) < expected else "too long"
        raise ValueError(f"{path}: {what}: the header says {' x '.join(map(str, shape))} = {expected} bytes, "
                         f"the file holds {len(body)}")
    return np.frombuffer(body, dtype=np.uint8).reshape(shape)


def find_idx(folder: Path, stem: str) -> Path:
    for name in (stem, f"{stem}.gz"):
        if (folder / name).is_file():
            return folder / name
    raise ValueError(f"{folder / stem}: missing (also looked for {stem}.gz)")


def is_idx_folder(folder: Path) -> bool:
    return any((folder / f"{IDX_FILES['x_train']}{ext}").is_file() for ext in ("", ".gz"))


def read_idx_folder(folder) -> tuple[dict[str, np.ndarray], list[str]]:
    """The four MNIST-layout IDX files of a folder -> arrays and class names (Fashion-MNIST if the path says so)."""
    folder = Path(folder)
    arrays, paths = {}, {}
    for key, stem in IDX_FILES.items():
        paths[key] = find_idx(folder, stem)
        arrays[key] = read_idx(paths[key], 3 if key.startswith("x") else 1)
    for part in ("train", "test"):
        n_images, n_labels = len(arrays[f"x_{part}"]), len(arrays[f"y_{part}"])
        if n_images != n_labels:
            raise ValueError(f"{paths[f'y_{part}']}: holds {n_labels} labels but {paths[f'x_{part}']} holds "
                             f"{n_images} images")
    if "fashion" in str(folder.resolve()).lower():
        names = list(FASHION_CLASSES)
    else:
        highest = max(int(arrays["y_train"].max(initial=0)), int(arrays["y_test"].max(initial=0)))
        names = [str(k) for k in range(highest + 1)]
    return arrays, names


# ---------------------------------------------------------------- npz
def read_dataset_npz(path) -> dict[str, np.ndarray]:
    """The arrays of a dataset ``.npz``: Keras' layout (x_train, y_train, x_test, y_test) or x and y.

    An optional ``class_names`` string array names the classes. Never unpickles.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except ValueError as error:
        if "pickle" in str(error).lower():
            raise ValueError(f"{path}: holds pickled Python objects, which cnnviz never loads") from None
        raise ValueError(f"{path}: not a readable .npz file ({error})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path}: not a readable .npz file ({error or type(error).__name__})") from None
    keras = {"x_train", "y_train", "x_test", "y_test"}
    if not keras <= arrays.keys() and not {"x", "y"} <= arrays.keys():
        raise ValueError(f"{path}: expected arrays x_train, y_train, x_test, y_test (Keras mnist.npz layout) "
                         f"or x and y; found {sorted(arrays)}")
    return arrays


# ---------------------------------------------------------------- image folders
def class_folders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def read_image(path: Path):
    """One image file -> (uint8 (H, W, 3) RGB, is it grayscale). Decoded with Qt's QImage (no Qt app needed)."""
    from PyQt5.QtGui import QImage

    image = QImage(str(path))
    if image.isNull():
        raise ValueError(f"{path}: not a readable image")
    grayscale = image.isGrayscale()
    image = image.convertToFormat(QImage.Format_RGB888)
    width, height = image.width(), image.height()
    buffer = image.constBits()
    buffer.setsize(image.bytesPerLine() * height)
    rows = np.frombuffer(buffer, np.uint8).reshape(height, image.bytesPerLine())
    return rows[:, : width * 3].reshape(height, width, 3).copy(), grayscale


def read_image_folder(folder) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """A folder with one sub-folder per class -> uint8 images (N, H, W, 1 or 3), labels, class names.

    Images must all have the same size; they are kept grayscale (C = 1) when every one is.
    """
    folder = Path(folder)
    classes = class_folders(folder)
    if not classes:
        raise ValueError(f"{folder}: expected one sub-folder of images per class, found none")
    images, labels, gray, first = [], [], True, None
    for label, class_folder in enumerate(classes):
        files = sorted(p for p in class_folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ValueError(f"{class_folder}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in this class folder")
        for path in files:
            pixels, is_gray = read_image(path)
            if first is None:
                first = (path, pixels.shape)
            elif pixels.shape != first[1]:
                raise ValueError(f"{path}: is {pixels.shape[1]}x{pixels.shape[0]} pixels, expected "
                                 f"{first[1][1]}x{first[1][0]} like {first[0]}; all images must have one size")
            images.append(pixels)
            labels.append(label)
            gray = gray and is_gray
    stacked = np.stack(images)
    if gray:
        stacked = stacked[..., :1]
    return stacked, np.asarray(labels, np.int64), [p.name for p in classes]
