"""Building blocks shared by the views: a titled image with highlight boxes and cell numbers."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt5 import sip
from PyQt5.QtCore import QRectF, Qt, pyqtSignal
from PyQt5.QtGui import QBrush, QColor, QFont, QPen
from PyQt5.QtWidgets import (QGraphicsRectItem, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout,
                             QWidget)

from .. import colormaps
from .common import fmt

HIGHLIGHT = QColor(255, 200, 0)    # the current window / cell
SECOND = QColor(255, 60, 60)       # a second mark: the max-pool winner, the output cell
PADDING = QColor(150, 150, 160)   # padding cells: plain grey, unlike any colour of the maps
BACKGROUND = QColor(55, 55, 68)
MAX_NUMBERS = 49                    # cells with their value written on them (7x7)
MIN_NUMBER_POINTS = 8.0             # smaller numbers are not written on cells (hover shows them)


class ClickableImage(pg.ImageItem):
    """An ImageItem that reports the (row, col) in array coordinates of a click or of the cell under the mouse."""

    cell_clicked = pyqtSignal(int, int)
    cell_hovered = pyqtSignal(int, int)

    def _cell(self, point):
        row, col = int(np.floor(point.y())), int(np.floor(point.x()))
        if self.image is not None and 0 <= row < self.image.shape[0] and 0 <= col < self.image.shape[1]:
            return row, col
        return None

    def mouseClickEvent(self, event):
        cell = self._cell(event.pos()) if event.button() == Qt.LeftButton else None
        if cell is not None:
            event.accept()
            self.cell_clicked.emit(*cell)

    hint = ""  # added to the tooltip, e.g. what a click does

    def hoverEvent(self, event):
        """The cell under the mouse, its value in a tooltip (numbers too small to write on their cells
        are read this way): hovering never changes anything else."""
        cell = None if event.isExit() else self._cell(event.pos())
        if cell is not None:
            self.setToolTip(f"row {cell[0]}, column {cell[1]}: {fmt(self.image[cell])}{self.hint}")
            self.cell_hovered.emit(*cell)


class Outline(QGraphicsRectItem):
    """A highlight rectangle readable on any colour: a coloured line over a wider black one."""

    def __init__(self, color, width=3.0, z=10):
        super().__init__()
        self.setPen(self._pen(QColor(0, 0, 0), width + 3))
        self.line = QGraphicsRectItem(self)
        self.line.setPen(self._pen(color, width))
        self.setZValue(z)
        self.setVisible(False)

    @staticmethod
    def _pen(color, width) -> QPen:
        pen = QPen(color)
        pen.setWidthF(width)
        pen.setCosmetic(True)  # width in screen pixels whatever the zoom
        return pen

    def setRect(self, rect) -> None:
        super().setRect(rect)
        self.line.setRect(rect)


def rect_item(color, width=3.0, z=10) -> Outline:
    return Outline(color, width, z)


class MapPanel:
    """A title, an image (row-major, explicit levels and lookup table) and overlays, in a GraphicsLayout.

    The image may be placed at an offset (``origin``) so that padded inputs keep input coordinates:
    cell (row, col) of the input is always the unit square at x=col, y=row; padding cells have
    negative or too-large coordinates and show grey padding.
    """

    def __init__(self, layout: pg.GraphicsLayout, row: int, col: int, title: str = "", signed: bool = False,
                 colorbar: bool = False, numbers: bool = False, colspan: int = 1, rowspan: int = 1):
        self.signed = signed
        self.lut = colormaps.DIVERGING_LUT if signed else colormaps.SEQUENTIAL_LUT
        self.label = layout.addLabel(title, row=row, col=col, colspan=colspan + (1 if colorbar else 0))
        self.label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
        layout.layout.setRowStretchFactor(row + 1, 1)  # the image row takes the height, not the title
        self.view = layout.addViewBox(row=row + 1, col=col, colspan=colspan, rowspan=rowspan, lockAspect=True,
                                      invertY=True, enableMouse=False, defaultPadding=0.02)
        self.view.setMenuEnabled(False)
        self.background = QGraphicsRectItem()  # shows through NaN cells: not computed yet
        self.background.setBrush(QBrush(BACKGROUND))
        self.background.setPen(QPen(Qt.NoPen))
        self.background.setZValue(-2)
        self.view.addItem(self.background)
        self.padding = QGraphicsRectItem()  # grey: the padding cells around an input (NaN cells show it)
        self.padding.setBrush(QBrush(PADDING))
        self.padding.setPen(QPen(Qt.NoPen))
        self.padding.setZValue(-1)
        self.padding.setVisible(False)
        self.view.addItem(self.padding)
        self.image = ClickableImage(axisOrder="row-major")
        self.view.addItem(self.image)
        self.box = rect_item(HIGHLIGHT)
        self.mark = rect_item(SECOND, width=3, z=11)
        self.view.addItem(self.box)
        self.view.addItem(self.mark)
        self.more_boxes: list[Outline] = []  # the same window in every tile of a mosaic
        self.colorbar = None
        self.colorbar_levels = None
        if colorbar:
            cmap = colormaps.DIVERGING if signed else colormaps.SEQUENTIAL
            self.colorbar = pg.ColorBarItem(values=(-1, 1), colorMap=cmap, interactive=False, width=14)
            layout.addItem(self.colorbar, row=row + 1, col=col + colspan, rowspan=rowspan)
        self.numbers_enabled = numbers
        self.texts: list[pg.TextItem] = []
        self.numbers_written: list[bool] = []  # which texts hold a number (finite cells)
        self.decimals = 2
        self.view.sigResized.connect(self._fit_numbers)
        self._fitting_title = False
        self.label.geometryChanged.connect(self._fit_title)
        self.view.sigRangeChanged.connect(self._fit_numbers)
        self.text_shape = None
        self.font_size = self.text_size = 8
        self.shape = None
        self.origin = (0, 0)
        self.title_text = title
        self.set_title(title)

    # ------------------------------------------------------------------ content
    def set_title(self, text: str) -> None:
        """The title in its column, smaller when it would not fit (never cut, never widening the
        column: a title's width changes with every frame's numbers and would move the pictures)."""
        self.title_text = text
        self._fit_title()

    def _fit_title(self, *_) -> None:
        # setText changes the label's geometry, which calls this again; and while Python exits, Qt tears
        # the label down and moves it once more.
        if self._fitting_title or sip.isdeleted(self.label):
            return
        self._fitting_title = True
        size = self.font_size + 1
        self.label.setText(self.title_text, size=f"{size}pt")
        available, needed = self.label.geometry().width(), self.label.item.boundingRect().width()
        if 0 < available < needed:
            self.label.setText(self.title_text, size=f"{max(5.0, size * available / needed * 0.93):.1f}pt")
        self.label.setMinimumWidth(0)
        self._fitting_title = False

    def set_image(self, array, levels, origin=(0, 0)) -> None:
        """array: (H, W); NaN cells are transparent. origin: (row, col) of the array's top-left cell."""
        array = np.asarray(array, dtype=np.float32)
        self.image.setImage(array, levels=levels, lut=self.lut, autoLevels=False)
        if array.shape != self.shape or tuple(origin) != self.origin:
            self.shape, self.origin = array.shape, tuple(origin)
            rect = QRectF(origin[1], origin[0], array.shape[1], array.shape[0])
            self.image.setRect(rect)
            self.padding.setRect(rect)
            self.background.setRect(rect)
            self.view.setRange(rect, padding=0.02)
        if self.colorbar is not None:
            if tuple(levels) != self.colorbar_levels:  # re-laying the bar's axis costs more than a frame's picture
                self.colorbar.setLevels(levels)
                self.colorbar_levels = tuple(levels)
            self.colorbar.setVisible(True)
        if self.numbers_enabled:
            self._write_numbers(array, levels)

    def set_signed(self, signed: bool) -> None:
        """Diverging map centred on zero for signed values, viridis otherwise."""
        if signed == self.signed:
            return
        self.signed = signed
        self.lut = colormaps.DIVERGING_LUT if signed else colormaps.SEQUENTIAL_LUT
        if self.colorbar is not None:
            self.colorbar.setColorMap(colormaps.DIVERGING if signed else colormaps.SEQUENTIAL)

    def clear(self, title: str = "") -> None:
        self.set_title(title)
        self.image.clear()
        self.background.setRect(QRectF())
        if self.colorbar is not None:
            self.colorbar.setVisible(False)
        self.shape = None
        self.hide_marks()
        self.show_padding(False)
        for text in self.texts:
            text.setVisible(False)
        self.numbers_written = [False] * len(self.texts)

    def show_padding(self, visible: bool) -> None:
        self.padding.setVisible(visible)

    def set_box(self, row, col, height=1, width=1, visible=True) -> None:
        self.set_boxes([(row, col, height, width)] if visible else [])

    def set_boxes(self, boxes) -> None:
        """Outline each ``(row, col, height, width)``; the first with ``box``, then as many more as needed."""
        while len(self.more_boxes) < len(boxes) - 1:
            self.more_boxes.append(rect_item(HIGHLIGHT))
            self.view.addItem(self.more_boxes[-1])
        for outline, box in zip([self.box, *self.more_boxes], boxes):
            row, col, height, width = box
            outline.setRect(QRectF(col, row, width, height))
            outline.setVisible(True)
        for outline in [self.box, *self.more_boxes][len(boxes):]:
            outline.setVisible(False)

    def set_mark(self, row, col, height=1, width=1, visible=True) -> None:
        self.mark.setRect(QRectF(col, row, width, height))
        self.mark.setVisible(visible)

    def hide_marks(self) -> None:
        self.set_boxes([])
        self.mark.setVisible(False)

    # ------------------------------------------------------------------ numbers on cells
    def _write_numbers(self, array, levels) -> None:
        if array.size > MAX_NUMBERS:
            for text in self.texts:
                text.setVisible(False)
            self.numbers_written = [False] * len(self.texts)
            return
        if array.shape != self.text_shape:
            for text in self.texts:
                self.view.removeItem(text)
            self.texts = []
            for r in range(array.shape[0]):
                for c in range(array.shape[1]):
                    text = pg.TextItem(anchor=(0.5, 0.5), color="w")
                    text.setZValue(12)
                    text.setPos(self.origin[1] + c + 0.5, self.origin[0] + r + 0.5)
                    self._font(text, self.text_size)
                    self.view.addItem(text)
                    self.texts.append(text)
            self.text_shape = array.shape
        low, high = levels
        # two decimals, more for small values (0.0056) so that they do not all read 0.00
        top = max(abs(low), abs(high))
        decimals = int(np.clip(2 - np.floor(np.log10(top)), 2, 4)) if top > 0 else 2
        self.decimals = decimals
        for text, value in zip(self.texts, array.reshape(-1)):
            text.setVisible(bool(np.isfinite(value)))
            if np.isfinite(value):
                # dark text on light cells, white on dark ones
                shade = self.lut[int(np.clip((value - low) / (high - low) * 255, 0, 255))]
                light = 0.299 * shade[0] + 0.587 * shade[1] + 0.114 * shade[2] > 140
                text.setColor("k" if light else "w")
                text.setText(f"{value + 0.0:.{decimals}f}")
        self.numbers_written = [text.isVisible() for text in self.texts]
        self._fit_numbers()

    def _fit_numbers(self, *_) -> None:
        """Smaller type when a cell is too narrow for its number ("-0.0056" is 7 characters), never
        below MIN_NUMBER_POINTS; a number that still does not fit is not written (hover shows it).
        Again whenever the panel changes size."""
        if not self.texts or self.view.width() <= 0:
            return
        cell_pixels = 1 / max(self.view.viewPixelSize()[0], 1e-6)
        size = float(np.clip(cell_pixels / (1.1 * (self.decimals + 3)), MIN_NUMBER_POINTS, self.font_size))
        if abs(size - self.text_size) > 0.25:
            self.text_size = size
            for text in self.texts:
                self._font(text, size)
        for text, written in zip(self.texts, self.numbers_written):
            text.setVisible(written and text.textItem.boundingRect().width() <= 0.95 * cell_pixels)

    def _font(self, text, size) -> None:
        font = text.textItem.font()
        font.setPointSizeF(size)
        font.setBold(True)
        text.setFont(font)

    def set_font_size(self, size: float) -> None:
        self.font_size = self.text_size = size
        self.set_title(self.title_text)
        if self.colorbar is not None:  # its ticks follow the lecture's font size too
            font = QFont()
            font.setPointSizeF(size)
            self.colorbar.axis.setStyle(tickFont=font)
            self.colorbar.axis.setWidth(int(size * 5))
        for text in self.texts:
            self._font(text, size)
        self._fit_numbers()


class View(QWidget):
    """Base of the big views: a GraphicsLayoutWidget, its panels, and ``show_frame``."""

    name = "view"
    title = "View"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground((25, 25, 30))
        self.layout_ = self.graphics.ci
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        self.notice = QWidget()  # says so when the current step is not one this view draws
        notice_row = QHBoxLayout(self.notice)
        notice_row.setContentsMargins(6, 2, 6, 2)
        self.notice_text = QLabel()
        self.notice_text.setWordWrap(True)
        self.notice_button = QPushButton()
        self.notice_button.clicked.connect(self._go_to_notice_step)
        notice_row.addWidget(self.notice_text, 1)
        notice_row.addWidget(self.notice_button)
        self.notice.setStyleSheet("background: #fff3c4; color: #222;")
        self.notice.hide()
        self.notice_step = None
        box.addWidget(self.notice)
        box.addWidget(self.graphics)
        self.panels: list[MapPanel] = []
        self.trace = None
        self.controller = None
        self.last = None  # (step, frame) last shown, for views that redraw or jump from it
        self.levels = {}  # colour levels by key, fixed for a trace so that its frames compare

    def panel(self, *args, **kwargs) -> MapPanel:
        panel = MapPanel(self.layout_, *args, **kwargs)
        self.panels.append(panel)
        return panel

    def show_notice(self, text: str | None, step=None) -> None:
        """A line above the pictures (None hides it): the step shown is not one of this view's,
        with a button to go to ``step``, the nearest step this view draws."""
        self.notice.setVisible(text is not None)
        if text is not None:
            self.notice_text.setText(text)
            self.notice_step = step
            self.notice_button.setVisible(step is not None)
            if step is not None:
                self.notice_button.setText(f"Go to {step.title}")

    def _go_to_notice_step(self) -> None:
        if self.notice_step is not None and self.controller is not None:
            self.controller.jump(self.notice_step.index, 0)

    def set_controller(self, controller) -> None:
        self.controller = controller

    def set_trace(self, trace) -> None:
        """A new trace (new sample or weights): forget anything cached from the old one."""
        self.trace = trace
        self.levels = {}

    def cached_levels(self, key, array, signed: bool) -> tuple[float, float]:
        """Levels of ``array`` (centred on zero when ``signed``), computed once per trace and key."""
        if key not in self.levels:
            self.levels[key] = colormaps.symmetric_levels(array) if signed else colormaps.sequential_levels(array)
        return self.levels[key]

    def show_frame(self, step, frame: dict) -> None:
        raise NotImplementedError

    def redraw(self) -> None:
        """Show the last frame again (after a display option changed)."""
        if self.last is not None:
            self.show_frame(*self.last)

    # ------------------------------------------------------------------ click an output to see it computed
    def jump_from_clicks(self, panel: MapPanel) -> None:
        """Clicking a cell of ``panel`` jumps to the frame that computes that cell, as
        ``frame_for_cell`` names it. Hovering only says so (a tooltip): it never moves the
        lecture's place."""
        panel.image.cell_clicked.connect(self._jump_to_cell)
        panel.image.hint = " (click to see how it is computed)"

    def frame_for_cell(self, step, frame, row: int, col: int) -> int | None:
        """The frame of ``step`` that computes cell (row, col) of the clickable panel, or None."""
        return None

    def _jump_to_cell(self, row: int, col: int) -> None:
        if self.last is None or self.controller is None:
            return
        step, frame = self.last
        target = self.frame_for_cell(step, frame, row, col)
        if target is not None and target != frame.index:
            self.controller.jump(step.index, target)

    def set_font_scale(self, scale: float) -> None:
        for panel in self.panels:
            panel.set_font_size(9 * scale)  # titles, and cell numbers when their cells have room
