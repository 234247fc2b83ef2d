"""Feature maps: every channel of every layer as a grid of small images; click one to enlarge it.

Activations use viridis with fixed levels per layer (so maps of a layer compare); deltas and
input gradients use the diverging map centred on zero."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt5.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from .. import colormaps
from .common import wrapped
from .panels import MapPanel, View, ClickableImage

MODES = {"activations z": "z", "deltas δ": "delta", "gradients ∂E/∂x": "input_grad"}
COLUMNS = 8  # small maps per row of a layer


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
        self.follow = True  # switch to deltas in the backward phase
        row.addStretch(1)
        self.layout().insertWidget(0, bar)
        self.grid = self.layout_.addLayout(row=0, col=0)
        self.large = MapPanel(self.layout_, 0, 1, "click a map to enlarge it", colorbar=True)
        self.layout_.layout.setColumnStretchFactor(0, 3)
        self.layout_.layout.setColumnStretchFactor(1, 2)
        self.panels.append(self.large)
        self.images: list[list[pg.ImageItem]] = []
        self.labels: list[pg.LabelItem] = []
        self.selected = None  # (layer, channel)
        self.built_for = None
        self.layer_index = None

    def mode(self) -> str:
        return MODES[self.mode_combo.currentText()]

    def set_trace(self, trace) -> None:
        super().set_trace(trace)
        self._rebuild()

    def _layer_maps(self, record):
        """(maps (count, h, w), signed) of a record in the current mode, or None."""
        array = getattr(record, self.mode())
        if array is None:
            return None
        array = np.asarray(array[0], np.float32)
        if array.ndim == 3:
            return np.moveaxis(array, 2, 0)
        return wrapped(array)[None]

    def _rebuild(self) -> None:
        """Create the small images for this trace and mode (only when those change)."""
        if self.trace is None:
            return
        self.grid.clear()
        self.images, self.labels = [], []
        signed = self.mode() != "z"
        lut = colormaps.DIVERGING_LUT if signed else colormaps.SEQUENTIAL_LUT
        self.large.set_signed(signed)
        row = 0
        for record in self.trace.records:
            maps = self._layer_maps(record)
            if maps is None or record.kind in ("flatten", "dropout"):
                self.images.append([])
                self.labels.append(None)
                continue
            levels = colormaps.symmetric_levels(maps) if signed else colormaps.sequential_levels(maps)
            label = self.grid.addLabel(f"{record.name} {record.z.shape[1:]}", row=row, col=0, colspan=COLUMNS)
            self.labels.append(label)
            row += 1
            items = []
            for c, plane in enumerate(maps):
                view = self.grid.addViewBox(row=row + c // COLUMNS, col=c % COLUMNS, lockAspect=True, invertY=True,
                                            enableMouse=False)
                view.setMenuEnabled(False)
                image = ClickableImage(axisOrder="row-major")
                image.setImage(plane, levels=levels, lut=lut, autoLevels=False)
                image.levels_ = levels
                image.cell_clicked.connect(lambda _r, _c, k=record.index, c=c: self.enlarge(k, c))
                view.addItem(image)
                items.append(image)
            self.images.append(items)
            row += -(-len(maps) // COLUMNS)
        self.built_for = (self.trace, self.mode())
        if self.selected is not None:
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

    def _light(self, layer) -> None:
        for k, label in enumerate(self.labels):
            if label is not None:
                name = self.trace.records[k].name
                text = f"{name} {tuple(self.trace.records[k].z.shape[1:])}"
                label.setText(f"▶ {text}" if k == layer else text, color="#ffc800" if k == layer else "#dddddd",
                              size="10pt")

    def show_frame(self, step, frame) -> None:
        if self.follow and step.phase in ("backward", "forward"):
            wanted = "deltas δ" if step.phase == "backward" else "activations z"
            if self.mode_combo.currentText() != wanted:
                self.mode_combo.setCurrentText(wanted)  # rebuilds
        if step.layer_index != self.layer_index:
            self.layer_index = step.layer_index
            self._light(step.layer_index)
