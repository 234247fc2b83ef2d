"""Feature maps: every channel of every layer as a mosaic of small images; click one to enlarge it.

Activations use viridis with fixed levels per layer (so the maps of a layer compare); deltas and
input gradients use the diverging map centred on zero. All tiles live in one ViewBox, each map
scaled to the same tile size, so small late maps stay as visible as the large early ones."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import QRectF
from PyQt5.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from ...engine.layers import Dropout, Flatten
from .. import colormaps
from .common import row_width, wrapped
from .panels import HIGHLIGHT, SECOND, ClickableImage, MapPanel, View, rect_item

MODES = {"activations z": "z", "deltas δ": "delta", "gradients ∂E/∂x": "input_grad"}
TILE = 10.0      # scene units per map
GAP = 1.0
LABEL = 4.0      # room above each layer for its name
MAX_COLUMNS = 16  # maps per row of the mosaic
SAME_NUMBERS = (Flatten, Dropout)
CURRENT_LAYER, ALL_LAYERS = "the current layer", "all layers"  # layers whose maps only repeat their input's (at inference)


class FeatureMapsView(View):
    name = "maps"
    title = "Feature maps"

    def __init__(self, parent=None):
        super().__init__(parent)
        bar = QWidget()
        row = QHBoxLayout(bar)
        row.setContentsMargins(4, 0, 4, 0)
        row.addWidget(QLabel("show:"))
        self.mode_combo = QComboBox()
        self.mode_combo.addItems(list(MODES))
        self.mode_combo.currentIndexChanged.connect(self._rebuild)
        row.addWidget(self.mode_combo)
        row.addWidget(QLabel("  layers:"))
        self.layers_combo = QComboBox()  # the step's layer alone, in large tiles, or every layer
        self.layers_combo.addItems([CURRENT_LAYER, ALL_LAYERS])
        self.layers_combo.setToolTip("Large layers need the room: show the current step's layer alone, "
                                     "or every layer of the network at once")
        self.layers_combo.currentIndexChanged.connect(self._rebuild)
        row.addWidget(self.layers_combo)
        row.addWidget(QLabel("  click a map to enlarge it"))
        row.addStretch(1)
        self.layout().insertWidget(0, bar)
        self.follow = True  # deltas in the backward phase, activations in the forward phase
        self.mosaic = self.layout_.addViewBox(row=0, col=0, lockAspect=True, invertY=True, enableMouse=False)
        self.mosaic.setMenuEnabled(False)
        self.large = MapPanel(self.layout_.addLayout(row=0, col=1), 0, 0, "", colorbar=True)
        self.panels.append(self.large)
        self.layout_.layout.setColumnStretchFactor(0, 3)
        self.layout_.layout.setColumnStretchFactor(1, 2)
        self.layer_box = rect_item(HIGHLIGHT, width=2)
        self.selected_box = rect_item(SECOND, width=2, z=11)
        self.images: list[list[ClickableImage]] = []
        self.labels: list[pg.TextItem] = []
        self.layer_rects: dict[int, QRectF] = {}
        self.selected = None  # (layer, channel)
        self.layer_index = None
        self.text_size = 9

    def mode(self) -> str:
        return MODES[self.mode_combo.currentText()]

    def set_trace(self, trace) -> None:
        super().set_trace(trace)
        self._rebuild()

    def _has_maps(self, record) -> bool:
        return getattr(record, self.mode()) is not None and not isinstance(record.layer, SAME_NUMBERS)

    def _single_layer(self) -> int:
        """The layer shown alone: the current step's, or the nearest one before it with maps."""
        records = self.trace.records
        start = len(records) - 1 if self.layer_index is None else self.layer_index
        order = [*range(start, -1, -1), *range(start + 1, len(records))]
        return next((k for k in order if self._has_maps(records[k])), start)

    def _layer_maps(self, record):
        """Maps (count, h, w) of a record in the current mode, or None when it has none or is not shown."""
        if not self._has_maps(record) or (self.layers_combo.currentText() == CURRENT_LAYER
                                          and record.index != self._single_layer()):
            return None
        array = getattr(record, self.mode())
        array = np.asarray(array[0], np.float32)
        if array.ndim == 3:
            return np.moveaxis(array, 2, 0)
        return wrapped(array, row_width(array.size))[None]

    def _rebuild(self) -> None:
        """Create the tiles for this trace and mode (only when those change)."""
        if self.trace is None:
            return
        self.mosaic.clear()
        self.mosaic.addItem(self.layer_box)
        self.mosaic.addItem(self.selected_box)
        self.images, self.labels, self.layer_rects = [], [], {}
        signed = self.mode() != "z"
        lut = colormaps.DIVERGING_LUT if signed else colormaps.SEQUENTIAL_LUT
        self.large.set_signed(signed)
        y = 0.0
        counts = [len(m) for m in map(self._layer_maps, self.trace.records) if m is not None]
        if self.layers_combo.currentText() == CURRENT_LAYER:  # one layer: a near-square grid of large tiles
            columns = max(1, int(np.ceil(np.sqrt(counts[0]))))
        else:
            columns = min(MAX_COLUMNS, max(counts))
        for record in self.trace.records:
            maps = self._layer_maps(record)
            if maps is None:
                self.images.append([])
                continue
            levels = colormaps.symmetric_levels(maps) if signed else colormaps.sequential_levels(maps)
            label = pg.TextItem(f"{record.name} {tuple(record.z.shape[1:])}", anchor=(0, 1), color="#dddddd")
            label.setPos(0, y + LABEL - 0.5)
            self.mosaic.addItem(label)
            self.labels.append(label)
            y += LABEL
            scale = TILE / max(maps.shape[1:])
            items = []
            for c, plane in enumerate(maps):
                image = ClickableImage(axisOrder="row-major")
                image.setImage(plane, levels=levels, lut=lut, autoLevels=False)
                image.setRect(QRectF((c % columns) * (TILE + GAP), y + (c // columns) * (TILE + GAP),
                                     plane.shape[1] * scale, plane.shape[0] * scale))
                image.levels_ = levels
                image.cell_clicked.connect(lambda _r, _c, k=record.index, c=c: self.enlarge(k, c))
                self.mosaic.addItem(image)
                items.append(image)
            self.images.append(items)
            rows = -(-len(maps) // columns)
            width = min(len(maps), columns) * (TILE + GAP) - GAP
            self.layer_rects[record.index] = QRectF(-0.5, y - 0.5, width + 1, rows * (TILE + GAP))
            y += rows * (TILE + GAP) + GAP
        self.mosaic.setRange(QRectF(0, 0, columns * (TILE + GAP), y), padding=0.02)
        self._set_text_size(self.text_size)
        if self.selected is None or self.selected[0] >= len(self.images) or not self.images[self.selected[0]]:
            first = next(k for k, items in enumerate(self.images) if items)
            self.selected = (first, 0)
        self.enlarge(*self.selected)
        self._light(self.layer_index)

    def enlarge(self, layer: int, c: int) -> None:
        if layer >= len(self.images) or c >= len(self.images[layer]):
            return
        self.selected = (layer, c)
        image = self.images[layer][c]
        record = self.trace.records[layer]
        self.large.set_title(f"{record.name}, channel {c}")
        self.large.set_image(image.image, image.levels_)
        self.selected_box.setRect(image.mapRectToParent(image.boundingRect()))
        self.selected_box.setVisible(True)

    def _light(self, layer) -> None:
        rect = self.layer_rects.get(layer)
        self.layer_box.setVisible(rect is not None)
        if rect is not None:
            self.layer_box.setRect(rect)

    def show_frame(self, step, frame) -> None:
        if self.follow and step.phase in ("backward", "forward"):
            wanted = "deltas δ" if step.phase == "backward" else "activations z"
            if self.mode_combo.currentText() != wanted:
                self.mode_combo.setCurrentText(wanted)  # rebuilds
        if step.layer_index != self.layer_index:
            self.layer_index = step.layer_index
            if self.layers_combo.currentText() == CURRENT_LAYER:
                self._rebuild()
            self._light(step.layer_index)
        self.large.set_box(0, 0, visible=False)  # a cell-by-cell kind boxes its cell (gui.kinds)

    def _set_text_size(self, size) -> None:
        self.text_size = size
        for label in self.labels:
            font = label.textItem.font()
            font.setPointSizeF(size)
            label.setFont(font)

    def set_font_scale(self, scale: float) -> None:
        super().set_font_scale(scale)
        self._set_text_size(9 * scale)
