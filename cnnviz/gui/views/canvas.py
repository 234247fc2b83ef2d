"""A 28x28 drawing canvas: draw a digit with the mouse (thick soft brush), in an ink colour for
colour models, clear it."""
from __future__ import annotations

import numpy as np
from PyQt5.QtCore import QRectF, Qt, pyqtSignal
from PyQt5.QtGui import QImage, QPainter
from PyQt5.QtWidgets import QWidget

SIZE = 28
SIDE = 196  # pixels: 7 per cell
BRUSH_RADIUS = 1.6  # in cells: strokes about 3 cells wide, like MNIST pen strokes


class DrawingCanvas(QWidget):
    """``image`` (28, 28) float32 in [0, 1]: how much ink, white on black like MNIST; ``rgb``
    (28, 28, 3): the same strokes in their ink colours (``ink``, white by default), what a colour
    model is given; ``colour`` says whether the canvas shows ``rgb``. ``drawn`` fires after each stroke."""

    drawn = pyqtSignal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.image = np.zeros((SIZE, SIZE), np.float32)
        self.rgb = np.zeros((SIZE, SIZE, 3), np.float32)
        self.ink = np.ones(3, np.float32)
        self.colour = False
        self.setFixedSize(SIDE, SIDE)
        self.setCursor(Qt.CrossCursor)
        self.setToolTip("Draw a digit with the mouse; the prediction updates when you release the button")
        self._rows, self._cols = np.mgrid[0:SIZE, 0:SIZE] + 0.5
        self._last = None

    def clear(self) -> None:
        self.image[:] = 0
        self.rgb[:] = 0
        self.update()

    def is_empty(self) -> bool:
        return not self.image.any()

    def _cell(self, event):
        return event.y() * SIZE / SIDE, event.x() * SIZE / SIDE

    def _dab(self, row, col) -> None:
        distance = np.hypot(self._rows - row, self._cols - col)
        ink = np.clip(1.5 - distance / BRUSH_RADIUS, 0, 1).astype(np.float32)
        np.maximum(self.image, ink, out=self.image)
        np.maximum(self.rgb, ink[:, :, None] * self.ink, out=self.rgb)

    def _stroke_to(self, row, col) -> None:
        """Dabs along the segment from the last point so fast strokes stay continuous."""
        start = self._last or (row, col)
        count = max(1, int(np.hypot(row - start[0], col - start[1]) * 2))
        for t in np.linspace(0, 1, count + 1):
            self._dab(start[0] + t * (row - start[0]), start[1] + t * (col - start[1]))
        self._last = (row, col)
        self.update()

    def mousePressEvent(self, event):
        if event.button() == Qt.LeftButton:
            self._last = None
            self._stroke_to(*self._cell(event))

    def mouseMoveEvent(self, event):
        if event.buttons() & Qt.LeftButton:
            self._stroke_to(*self._cell(event))

    def mouseReleaseEvent(self, event):
        if event.button() == Qt.LeftButton:
            self._last = None
            self.drawn.emit()

    def paintEvent(self, event):
        if self.colour:
            pixels = np.ascontiguousarray((self.rgb * 255).astype(np.uint8))
            image = QImage(pixels.data, SIZE, SIZE, 3 * SIZE, QImage.Format_RGB888)
        else:
            pixels = np.ascontiguousarray((self.image * 255).astype(np.uint8))
            image = QImage(pixels.data, SIZE, SIZE, SIZE, QImage.Format_Grayscale8)
        painter = QPainter(self)
        painter.drawImage(QRectF(0, 0, SIDE, SIDE), image)
        painter.end()
