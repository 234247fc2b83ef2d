"""Small array helpers shared by the views (display only: slicing, padding with NaN, filling in)."""
from __future__ import annotations

import numpy as np
from PyQt5.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget


def fmt(value) -> str:
    """The one number format of the panel (tests use it too)."""
    if value is None:
        return "—"
    value = float(value)
    if not np.isfinite(value):
        return "−∞" if value < 0 else ("∞" if value > 0 else "NaN")
    return f"{value + 0.0:.4g}"  # + 0.0 turns -0.0 into 0


def channel(array, c: int) -> np.ndarray:
    """(1, H, W, C) or (H, W, C) -> (H, W) of channel c; (1, n) or (n,) -> (1, n)."""
    array = np.asarray(array)
    if array.ndim >= 3 and array.shape[0] == 1 and array.ndim == 4:
        array = array[0]
    if array.ndim == 3:
        return array[:, :, c]
    return array.reshape(1, -1)


def padded(plane, pads):
    """(H, W) -> (H+top+bottom, W+left+right) with NaN on padding; returns it and its origin (row, col)."""
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return plane, (0, 0)
    return np.pad(np.asarray(plane, np.float32), ((top, bottom), (left, right)), constant_values=np.nan), (-top, -left)


def filled(plane, upto: int) -> np.ndarray:
    """A copy of ``plane`` with the cells after flat index ``upto`` (C order) blanked (NaN): filling in."""
    out = np.array(plane, dtype=np.float32)
    out.reshape(-1)[upto + 1:] = np.nan
    return out


def wrapped(vector, width: int | None = None) -> np.ndarray:
    """(n,) -> (rows, width) with NaN after the end, so long vectors show as a compact grid."""
    vector = np.ravel(np.asarray(vector, np.float32))
    width = width or max(1, int(np.ceil(np.sqrt(vector.size))))
    rows = -(-vector.size // width)
    out = np.full(rows * width, np.nan, np.float32)
    out[: vector.size] = vector
    return out.reshape(rows, width)


ONE_ROW = 16  # vectors up to this long (10 classes, 16 units) show as one row; longer ones wrap


def row_width(length: int) -> int | None:
    """The ``wrapped`` width for a layer's output vector: one row when short, else square-ish."""
    return length if length <= ONE_ROW else None


def wrapped_cell(index: int, length: int, width: int | None = None) -> tuple[int, int]:
    """(row, col) of element ``index`` in ``wrapped`` of a vector of ``length``."""
    width = width or max(1, int(np.ceil(np.sqrt(length))))
    return index // width, index % width


def unwrapped(row: int, col: int, width: int) -> int:
    """Inverse of ``wrapped_cell``: the vector index shown at (row, col) of a grid ``width`` wide."""
    return row * width + col


def tiles(planes, gap: int = 1, box=None, origin=(0, 0)):
    """(C, h, w) -> a mosaic of the C planes in a near-square grid, NaN between them, and where
    each plane starts in it (row, col); with ``box`` (row, col, height, width) in the planes'
    coordinates (whose cell (0, 0) sits at ``origin`` in a plane), that box placed in every
    plane instead: display layout only."""
    planes = np.asarray(planes, np.float32)
    count, h, w = planes.shape
    columns = max(1, int(np.ceil(np.sqrt(count))))
    rows = -(-count // columns)
    mosaic = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap), np.nan, np.float32)
    origins = [((k // columns) * (h + gap), (k % columns) * (w + gap)) for k in range(count)]
    for plane, (top, left) in zip(planes, origins):
        mosaic[top : top + h, left : left + w] = plane
    if box is None:
        return mosaic, origins
    row, col, height, width = box
    return mosaic, [(top + row - origin[0], left + col - origin[1], height, width) for top, left in origins]


ALL = "all"


class ChannelChooser(QWidget):
    """'label: [combo]' for picking one channel of a layer (or, with ``all_option``, all of them)."""

    def __init__(self, label: str, parent=None, all_option: bool = False):
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 0, 4, 0)
        row.addWidget(QLabel(label))
        self.combo = QComboBox()
        self.combo.currentTextChanged.connect(self._chosen)
        row.addWidget(self.combo)
        row.addStretch(1)
        self.all_option = all_option
        self.preferred = "0"  # the user's last choice, kept across layers that lack it

    def _chosen(self, text: str) -> None:
        if not self.combo.signalsBlocked():
            self.preferred = text

    def set_count(self, count: int) -> None:
        items = [str(c) for c in range(count)] + ([ALL] if self.all_option and count > 1 else [])
        if [self.combo.itemText(k) for k in range(self.combo.count())] == items:
            return
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItems(items)
        if self.preferred in items:
            self.combo.setCurrentIndex(items.index(self.preferred))
        else:  # a channel past the new count: the last one; "all" where there is one channel: 0
            self.combo.setCurrentIndex(count - 1 if self.preferred.isdigit() else 0)
        self.combo.blockSignals(False)

    def value(self) -> int | None:
        """The channel chosen, or None for all channels."""
        if self.combo.currentText() == ALL:
            return None
        return max(0, self.combo.currentIndex())


class DrawnWhenShown:
    """For a tab fed while training runs: ``draw_when_shown(data)`` draws ``data`` now if the tab shows,
    else when it is next shown (drawing a hidden tab would take the GIL from the training thread).
    The subclass (a QWidget) implements ``_draw(data)``."""

    _pending = None  # the latest data not drawn yet

    def draw_when_shown(self, data) -> None:
        if self.isVisible():
            self._pending = None
            self._draw(data)
        else:
            self._pending = data

    def showEvent(self, event):
        super().showEvent(event)
        if self._pending is not None:
            data, self._pending = self._pending, None
            self._draw(data)
