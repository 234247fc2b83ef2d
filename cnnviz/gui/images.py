"""Images for the model's input: files (decoded with Pillow) and arrays of another size or channel count."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PyQt5.QtCore import Qt
from PyQt5.QtGui import QImage


def _to_array(image: QImage, channels: int) -> np.ndarray:
    """QImage -> float32 (H, W, channels) in [0, 1]."""
    if channels == 1:
        image = image.convertToFormat(QImage.Format_Grayscale8)
        depth = 1
    else:
        image = image.convertToFormat(QImage.Format_RGB888)
        depth = 3
    if image.isNull():  # Qt could not allocate it
        raise ValueError(f"not enough memory to convert a picture to {channels} channels")
    width, height = image.width(), image.height()
    buffer = image.constBits()
    buffer.setsize(image.bytesPerLine() * height)
    rows = np.frombuffer(buffer, np.uint8).reshape(height, image.bytesPerLine())
    pixels = rows[:, : width * depth].reshape(height, width, depth).astype(np.float32) / 255
    return pixels if depth == channels else np.repeat(pixels[..., :1], channels, axis=2)


def _from_array(x: np.ndarray) -> QImage:
    """float (H, W, C) in [0, 1] with C 1 or 3 -> QImage (a copy that owns its pixels)."""
    pixels = np.ascontiguousarray(np.clip(x * 255, 0, 255).astype(np.uint8))
    height, width, depth = pixels.shape
    if depth == 1:
        return QImage(pixels.data, width, height, width, QImage.Format_Grayscale8).copy()
    rgb = np.ascontiguousarray(pixels[..., :3] if depth >= 3 else np.repeat(pixels[..., :1], 3, axis=2))
    return QImage(rgb.data, width, height, width * 3, QImage.Format_RGB888).copy()


def fit_to_input(x: np.ndarray, shape) -> np.ndarray:
    """An image (H, W, C) float in [0, 1] resized and converted to ``shape`` (H', W', C') for the model."""
    x = np.asarray(x, np.float32)
    height, width, channels = shape
    if x.shape == tuple(shape):
        return x
    image = _from_array(x)
    image = image.scaled(width, height, Qt.IgnoreAspectRatio, Qt.SmoothTransformation)
    if image.isNull():
        raise ValueError(f"not enough memory to resize a picture to {width}x{height}")
    return _to_array(image, channels)


def load_image(path, shape) -> tuple[np.ndarray, bool]:
    """An image file -> (float32 array of ``shape`` (H, W, C), inverted).

    Decoded with Pillow by ``cnnviz.data.formats.read_image`` (pixel count checked from the header
    first) and resized with Pillow. MNIST digits are light ink on a dark background; for a grey model
    a mostly light picture (a digit drawn on paper) is inverted to match, and ``inverted`` says so;
    colour images never are. Raises ValueError for unreadable, huge or non-regular files.
    """
    from PIL import Image

    from ..data.formats import read_image

    height, width, channels = shape
    if channels not in (1, 3):
        raise ValueError(f"the model takes {channels} input channels; images can only feed 1 (grey) or 3 (RGB)")
    pixels, _ = read_image(Path(path))
    image = Image.fromarray(pixels).resize((width, height), Image.BILINEAR)
    if channels == 1:
        image = image.convert("L")
    x = np.asarray(image, np.float32).reshape(height, width, channels) / 255
    inverted = channels == 1 and bool(x.mean() > 0.5)  # a photo for a colour model is taken as it is
    return (1 - x if inverted else x), inverted


def mnist_style(plane: np.ndarray, size: int = 28, box: int = 20) -> np.ndarray:
    """A digit (light ink on dark, any size) placed as MNIST places its digits: the ink's bounding
    box scaled to fit ``box`` x ``box`` pixels (aspect kept), in a ``size`` x ``size`` image with
    the centre of mass at its centre. plane: (H, W) float in [0, 1] -> (size, size) float32.
    An empty plane stays empty."""
    from PIL import Image

    plane = np.asarray(plane, np.float32)
    rows, cols = np.nonzero(plane > 0.05)
    if rows.size == 0:
        return np.zeros((size, size), np.float32)
    ink = plane[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    scale = box / max(ink.shape)
    height, width = (max(1, round(n * scale)) for n in ink.shape)
    ink = np.asarray(Image.fromarray(ink).resize((width, height), Image.BILINEAR), np.float32).clip(0, 1)
    out = np.zeros((size, size), np.float32)
    top, left = (size - height) // 2, (size - width) // 2
    out[top:top + height, left:left + width] = ink
    grid_rows, grid_cols = np.mgrid[0:size, 0:size]
    mass = out.sum()
    shift_rows = int(round((size - 1) / 2 - (grid_rows * out).sum() / mass))
    shift_cols = int(round((size - 1) / 2 - (grid_cols * out).sum() / mass))
    return np.roll(out, (shift_rows, shift_cols), axis=(0, 1))
