"""Readers for the dataset formats people have: IDX (MNIST, Fashion-MNIST), ``.npz`` and
folders of images. Each returns raw arrays; ``cnnviz.data.load_dataset`` turns them into a
``Dataset``. Errors name the file and what was expected.
"""
from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from ..limits import MAX_DATASET_VALUES, MAX_IMAGE_PIXELS, read_capped, read_npz, readable_file

IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]
GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")
# What Pillow's decoders raise on broken data (besides OSError, their usual complaint).
DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, KeyError, TypeError, struct.error,
                 ZeroDivisionError)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".pgm", ".ppm"}


# ---------------------------------------------------------------- IDX
def read_idx(path, dims: int) -> np.ndarray:
    """An IDX file of unsigned bytes (raw or .gz) with ``dims`` dimensions, e.g. 3 for images (N, H, W).

    The sizes in the header are checked before the body is read, and never more bytes than they
    announce are decompressed (a gzip bomb is refused unread).
    """
    path = readable_file(path, "IDX file")
    header_size = 4 + 4 * dims
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as stream:
            header = stream.read(header_size)
            if len(header) < header_size:
                raise ValueError(f"{path}: truncated: {len(header)} bytes, too short for an IDX header")
            zero, kind, ndim = int.from_bytes(header[:2], "big"), header[2], header[3]
            if zero != 0 or kind != 0x08 or ndim != dims:
                raise ValueError(f"{path}: expected an IDX file of unsigned bytes with {dims} dimensions (magic "
                                 f"0x0000080{dims}), got magic 0x{header[:4].hex()}")
            shape = tuple(int.from_bytes(header[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
            expected = math.prod(shape)
            if expected > MAX_DATASET_VALUES:
                raise ValueError(f"{path}: the header says {' x '.join(map(str, shape))} = {expected:,} bytes, "
                                 f"more than the {MAX_DATASET_VALUES:,} values cnnviz reads for one dataset")
            body = read_capped(stream, expected, path, "the body")
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"{path}: cannot read the IDX file ({error})") from None
    if len(body) != expected:
        raise ValueError(f"{path}: truncated: the header says {' x '.join(map(str, shape))} = {expected:,} bytes, "
                         f"the file holds {len(body):,}")
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
    arrays = read_npz(path, "dataset .npz file")
    keras = {"x_train", "y_train", "x_test", "y_test"}
    if not keras <= arrays.keys() and not {"x", "y"} <= arrays.keys():
        raise ValueError(f"{path}: expected arrays x_train, y_train, x_test, y_test (Keras mnist.npz layout) "
                         f"or x and y; found {sorted(arrays)}")
    return arrays


# ---------------------------------------------------------------- image folders
def class_folders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def read_image(path: Path):
    """One image file -> (uint8 (H, W, 3) RGB, is it grayscale), decoded with Pillow.

    The pixel count is read from the header and checked (MAX_IMAGE_PIXELS) before decoding;
    FIFOs and other non-files are refused before they are opened.
    """
    from PIL import Image, UnidentifiedImageError

    path = readable_file(path, "image file")
    expected = "expected a PNG or JPEG picture (or BMP, GIF, PGM, PPM)"
    try:
        image = Image.open(path)  # reads the header only
    except Image.DecompressionBombError as error:  # Pillow's own, larger limit, checked while opening
        raise ValueError(f"{path}: {error} cnnviz decodes images of up to {MAX_IMAGE_PIXELS:,} pixels; scale it "
                         "down first") from None
    except UnidentifiedImageError:
        raise ValueError(f"{path}: cannot read this file as an image (an unknown format); {expected}") from None
    except DECODE_ERRORS as error:
        raise ValueError(f"{path}: cannot read this file as an image ({error}); {expected}") from None
    with image:
        width, height = image.size
        if width * height > MAX_IMAGE_PIXELS:
            raise ValueError(f"{path}: is {width}x{height} pixels; cnnviz decodes images of up to "
                             f"{MAX_IMAGE_PIXELS:,} pixels; scale it down first")
        grayscale = image.mode in GRAY_MODES
        try:
            pixels = np.asarray(image.convert("RGB"), np.uint8)
        except DECODE_ERRORS as error:
            raise ValueError(f"{path}: the image data is broken ({type(error).__name__}: {error}); "
                             f"{expected}") from None
    if pixels.shape != (height, width, 3):
        raise ValueError(f"{path}: decoded to {pixels.shape}, expected {height}x{width} RGB pixels")
    return pixels, grayscale


def read_image_folder(folder) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """A folder with one sub-folder per class -> uint8 images (N, H, W, 1 or 3), labels, class names.

    Images must all have the same size; they are kept grayscale (C = 1) when every one is.
    """
    folder = Path(folder)
    classes = class_folders(folder)
    if not classes:
        raise ValueError(f"{folder}: expected one sub-folder of images per class, found none")
    images, labels, gray, first, values = [], [], True, None, 0
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
            values += pixels.size
            if values > MAX_DATASET_VALUES:
                raise ValueError(f"{folder}: the images hold more than the {MAX_DATASET_VALUES:,} pixel values "
                                 "cnnviz reads for one dataset")
            images.append(pixels)
            labels.append(label)
            gray = gray and is_gray
    stacked = np.stack(images)
    if gray:
        stacked = stacked[..., :1]
    return stacked, np.asarray(labels, np.int64), [p.name for p in classes]
