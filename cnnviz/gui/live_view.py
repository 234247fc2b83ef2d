"""The Live tab: the current network on the current sample, redrawn from the training worker's snapshots
(one per redraw of the training panel, every 0.2 to 1 s, while training runs) and after every change of
model, weights or sample.

It shows the input as the network sees it (in colour for 3 channels, with its R, G, B planes beside
it), the kernels of the first layer as a grid (in colour when they read a colour image; a dense
layer's weights as images of the input), that layer's feature maps on this input, and the class
probabilities named by the dataset's classes. Every number comes from
``engine.evaluation.live_snapshot``; this module only lays the pictures out.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt5.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from ..engine.evaluation import live_snapshot
from .colormaps import DIVERGING_LUT, SEQUENTIAL_LUT, sequential_levels, symmetric_levels
from .views.common import DrawnWhenShown


def tiles(images: np.ndarray, gap_value=np.nan, columns: int | None = None) -> np.ndarray:
    """(H, W, [C,] K) -> one mosaic (rows*(H+1)-1, cols*(W+1)-1[, C]) of the K images, with one-pixel gaps."""
    images = np.asarray(images, np.float32)
    height, width, count = images.shape[0], images.shape[1], images.shape[-1]
    columns = columns or max(1, int(np.ceil(np.sqrt(count))))
    rows = -(-count // columns)
    extra = images.shape[2:-1]
    out = np.full((rows * (height + 1) - 1, columns * (width + 1) - 1, *extra), gap_value, np.float32)
    for k in range(count):
        row, col = divmod(k, columns)
        out[row * (height + 1):row * (height + 1) + height, col * (width + 1):col * (width + 1) + width] = \
            images[..., k]
    return out


def _image_box(title: str):
    """A titled, aspect-locked picture: (widget, ImageItem)."""
    widget = pg.GraphicsLayoutWidget()
    widget.setFixedHeight(190)
    view = widget.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
    item = pg.ImageItem(axisOrder="row-major")
    view.addItem(item)
    box = QWidget()
    column = QVBoxLayout(box)
    column.setContentsMargins(0, 0, 0, 0)
    label = QLabel(title)
    label.setWordWrap(True)
    column.addWidget(label)
    column.addWidget(widget, 1)
    box.label = label
    return box, item


class LiveNetworkView(DrawnWhenShown, QWidget):
    """The Live tab for the application state's model and sample, fed by
    ``training_panel.snapshot_ready`` while training runs."""

    def __init__(self, app_state, training_panel, parent=None):
        super().__init__(parent)
        self.app_state = app_state
        self.training_panel = training_panel
        self.snapshot = None
        self.input_box, self.input_item = _image_box("input")
        self.channels_box, self.channels_item = _image_box("its channels (R, G, B)")
        self.kernels_box, self.kernels_item = _image_box("kernels of the first layer")
        self.maps_box, self.maps_item = _image_box("feature maps of the first layer")
        self.probabilities = pg.PlotWidget()
        self.probabilities.setFixedHeight(170)
        self.probabilities.setYRange(0, 1)
        self.probabilities.setMouseEnabled(False, False)
        self.probabilities.setLabel("left", "probability")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7, brush=(80, 140, 255))
        self.probabilities.addItem(self.bars)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        grid = QGridLayout(self)
        grid.setContentsMargins(2, 2, 2, 2)
        grid.addWidget(self.caption, 0, 0, 1, 2)
        grid.addWidget(self.input_box, 1, 0)
        grid.addWidget(self.channels_box, 1, 1)
        grid.addWidget(self.kernels_box, 2, 0)
        grid.addWidget(self.maps_box, 2, 1)
        grid.addWidget(self.probabilities, 3, 0, 1, 2)
        grid.setRowStretch(4, 1)
        for col in (0, 1):
            grid.setColumnStretch(col, 1)
        training_panel.snapshot_ready.connect(self.show_snapshot)
        training_panel.state_changed.connect(lambda state: state == "idle" and self.show_current())
        app_state.model_changed.connect(self.show_current)
        app_state.sample_changed.connect(self.show_current)
        self.show_current()

    def show_current(self) -> None:
        """The live model on the current sample (when not training, or for a new sample)."""
        if self.training_panel.state == "idle" and self.app_state.x is not None:
            self.show_snapshot(live_snapshot(self.app_state.model, self.app_state.x))

    def show_snapshot(self, snapshot: dict) -> None:
        """Draw ``snapshot`` now if the tab shows, else when it is shown (drawing takes the GIL from training)."""
        self.snapshot = snapshot
        self.draw_when_shown(snapshot)

    def _draw(self, snapshot: dict) -> None:
        x = self.app_state.x
        colour = x.shape[2] == 3
        self.input_item.setImage(x if colour else x[:, :, 0], levels=(0, 1),
                                 lut=None if colour else _grey_lut())
        self.input_box.label.setText(f"input ({'colour' if colour else 'grey'}, "
                                     f"{'x'.join(map(str, x.shape))})")
        self.channels_box.setVisible(colour)
        if colour:
            self.channels_item.setImage(tiles(x, 1.0, columns=3), levels=(0, 1), lut=_grey_lut())
        kernels = snapshot["kernels"]
        self.kernels_box.setVisible(kernels is not None)
        if kernels is not None:
            low, high = symmetric_levels(kernels)
            if kernels.shape[2] == 3:  # colour kernels: 0 is mid grey, each channel its colour
                self.kernels_item.setImage(tiles(kernels, 0.0), levels=(low, high), lut=None)
            else:
                self.kernels_item.setImage(tiles(kernels[:, :, 0, :]), levels=(low, high), lut=DIVERGING_LUT)
            kind = "weights of each unit, as input images" if snapshot["maps"] is None else "kernels"
            self.kernels_box.label.setText(f"{snapshot['kernel_layer']}: {kernels.shape[-1]} {kind} "
                                           f"(blue < 0 < red{', input channel 1' if kernels.shape[2] not in (1, 3) else ''})")
        maps = snapshot["maps"]
        self.maps_box.setVisible(maps is not None)
        if maps is not None:
            self.maps_item.setImage(tiles(maps), levels=sequential_levels(maps), lut=SEQUENTIAL_LUT)
            self.maps_box.label.setText(f"{snapshot['kernel_layer']}: feature maps of this input")
        probabilities = snapshot["probabilities"]
        names = self.class_names(len(probabilities))
        self.bars.setOpts(x=np.arange(len(probabilities)), height=probabilities)
        self.probabilities.getAxis("bottom").setTicks([list(enumerate(names))])
        best = snapshot["predicted"]
        state = "training" if self.training_panel.state != "idle" else "current weights"
        self.caption.setText(f"<b>{self.app_state.model.name}</b> ({state}) on {self.app_state.description}: "
                             f"predicts <b>{names[best]}</b> (p = {probabilities[best]:.2f})")

    def class_names(self, count: int) -> list[str]:
        dataset = self.app_state.dataset
        names = list(dataset.class_names) if dataset is not None else []
        return [names[k] if k < len(names) else str(k) for k in range(count)]


def _grey_lut():
    return np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
