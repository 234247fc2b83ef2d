"""The convolution window: the input with the window sliding over it, the window's numbers beside the
kernel's (patch ⊙ kernel, as two grids of numbers), the output filling in.

One input channel at a time, or all of them side by side (the window in every channel, the
kernel's slice for each): the output cell is the sum over all of them."""
from __future__ import annotations

import numpy as np

from ...engine.frames import ConvForward
from ...engine.trace import step_frame_index
from .common import fmt, ChannelChooser, channel, filled, padded, tiles
from .panels import View


class ConvView(View):
    name = "conv"
    title = "Convolution"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.chooser = ChannelChooser("input channel shown:", all_option=True)
        self.layout().insertWidget(0, self.chooser)
        self.chooser.combo.currentIndexChanged.connect(self.redraw)
        self.input = self.panel(0, 0, "input", colorbar=True)
        self.patch = self.panel(0, 2, "window", colorbar=False, numbers=True)  # patch ⊙ kernel: two grids
        self.kernel = self.panel(0, 3, "kernel", signed=True, colorbar=True, numbers=True)
        self.output = self.panel(0, 5, "output", colorbar=True)
        for column, stretch in ((0, 3), (2, 3), (3, 3), (5, 3)):
            self.layout_.layout.setColumnStretchFactor(column, stretch)
        self.jump_from_clicks(self.output)

    def _layer_levels(self, record):
        """Levels of the layer's input, kernel and output."""
        return (self.cached_levels(("in", record.index), record.inputs, False),
                self.cached_levels(("kernel", record.index), record.params["kernel"], True),
                self.cached_levels(("out", record.index), record.z, False))

    def show_frame(self, step, frame) -> None:
        self.last = (step, frame)
        if not isinstance(frame, ConvForward):
            return
        record = self.trace.records[step.layer_index]
        c_out_count = record.z.shape[-1]
        self.chooser.set_count(record.inputs.shape[-1])
        c = self.chooser.value()
        i, j, c_out = frame.out_index
        input_levels, kernel_levels, output_levels = self._layer_levels(record)
        if c is None:
            self._all_channels(record, frame, input_levels, kernel_levels)
        else:
            plane, origin = padded(channel(record.inputs, c), record.pads)
            self.input.set_title(f"input of {record.name}, channel {c}")
            self.input.set_image(plane, input_levels, origin)
            self.input.show_padding(bool(frame.window.padding_mask.any() or origin != (0, 0)))
            self.input.set_box(*frame.window.box)
            self.patch.set_title(f"window z, channel {c}")
            self.patch.set_image(np.where(frame.window.padding_mask, np.nan, frame.patch[..., c]), input_levels)
            self.patch.show_padding(bool(frame.window.padding_mask.any()))
            self.kernel.set_title(f"⊙ kernel w[:, :, {c}, {c_out}]")
            self.kernel.set_image(frame.kernel[..., c], kernel_levels)
        self.output.set_title(f"output channel {c_out} of {c_out_count}: z = {fmt(frame.z)}")
        self.output.set_image(filled(channel(record.z, c_out), frame.out_flat), output_levels)
        self.output.set_box(i, j)

    def _all_channels(self, record, frame, input_levels, kernel_levels) -> None:
        """Every input channel in a mosaic with the window in each, and the kernel's slices in the
        same places: the products of all of them add up to the output cell."""
        planes = [padded(channel(record.inputs, k), record.pads)[0] for k in range(record.inputs.shape[-1])]
        (top, _), (left, _) = record.pads
        mosaic, boxes = tiles(planes, box=frame.window.box, origin=(-top, -left))
        self.input.set_title(f"input of {record.name}, all {len(planes)} channels")
        self.input.set_image(mosaic, input_levels)
        self.input.show_padding(record.pads != ((0, 0), (0, 0)))  # NaN cells: padding (and the gaps)
        self.input.set_boxes(boxes)
        patches, _ = tiles(np.moveaxis(np.where(frame.window.padding_mask[..., None], np.nan, frame.patch), 2, 0))
        self.patch.set_title("windows z, all channels")
        self.patch.set_image(patches, input_levels)
        self.patch.show_padding(False)
        kernels, _ = tiles(np.moveaxis(frame.kernel, 2, 0))
        self.kernel.set_title(f"⊙ kernel w[:, :, :, {frame.out_index[2]}], all channels")
        self.kernel.set_image(kernels, kernel_levels)
        self.kernel.set_boxes([])

    def frame_for_cell(self, step, frame, row, col):
        """The frame that computes output cell (row, col) of the channel shown."""
        if not isinstance(frame, ConvForward):
            return None
        return step_frame_index((frame.out_index[2], row, col), step)
