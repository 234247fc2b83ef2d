"""Images for the model's input: files (PNG/JPEG via QImage) and arrays of another size or channel count."""
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
    return _to_array(image, channels)


def load_image(path, shape) -> tuple[np.ndarray, bool]:
    """An image file -> (float32 array of ``shape`` (H, W, C), inverted).

    MNIST digits are light ink on a dark background; for a grey model a mostly light picture (a digit
    drawn on paper) is inverted to match, and ``inverted`` says so; colour images never are. Raises
    ValueError for unreadable files.
    """
    path = Path(path)
    image = QImage(str(path))
    if image.isNull():
        raise ValueError(f"{path.name}: cannot read this file as an image; expected a PNG or JPEG picture")
    height, width, channels = shape
    if channels not in (1, 3):
        raise ValueError(f"the model takes {channels} input channels; images can only feed 1 (grey) or 3 (RGB)")
    image = image.scaled(width, height, Qt.IgnoreAspectRatio, Qt.SmoothTransformation)
    x = _to_array(image, channels)
    inverted = channels == 1 and bool(x.mean() > 0.5)  # a photo for a colour model is taken as it is
    return (1 - x if inverted else x), inverted
