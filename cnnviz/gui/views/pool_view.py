"""Pooling: the window over the input, the winning cell marked, the value written to the output;
backward: the output's gradient routed back to the winner (max) or spread over the window
(average); global average pooling draws here too (``gui.kinds.global_pooling``). The window panel shares its
colour scale with the input (forward) or with the gradient maps (backward), so they compare."""
from __future__ import annotations

import numpy as np

from ...engine.frames import AvgPoolForward, MaxPoolForward, PoolBackward
from .common import channel, filled, fmt, padded
from .panels import View


class PoolView(View):
    name = "pool"
    title = "Pooling"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.input = self.panel(0, 0, "input", colorbar=True)
        self.window = self.panel(0, 2, "window", colorbar=True, numbers=True)
        self.output = self.panel(0, 4, "output", colorbar=True)
        self.draw = {MaxPoolForward: self._forward, AvgPoolForward: self._forward}

    def show_frame(self, step, frame) -> None:
        draw = self._backward if isinstance(frame, PoolBackward) else self.draw.get(type(frame))
        if draw is None:
            return
        self.last = (step, frame)
        for panel in self.panels:
            panel.hide_marks()
        draw(self.trace.records[step.layer_index], frame)

    def _forward(self, record, frame) -> None:
        i, j, c = frame.out_index
        is_max = isinstance(frame, MaxPoolForward)
        for panel in self.panels:
            panel.set_signed(False)
        levels = self.cached_levels((record.index, "in"), record.inputs, False)
        plane, origin = padded(channel(record.inputs, c), record.pads)
        self.input.set_title(f"input of {record.name}, channel {c}")
        self.input.set_image(plane, levels, origin)
        self.input.show_padding(bool(frame.window.padding_mask.any() or origin != (0, 0)))
        self.input.set_box(*frame.window.box)
        window = np.where(frame.window.padding_mask, np.nan, frame.values)
        self.window.set_title("window: max" if is_max else f"window: mean of {frame.count}")
        self.window.set_image(window, levels)
        self.output.set_title(f"output channel {c}: z = {fmt(frame.z)}")
        self.output.set_image(filled(channel(record.z, c), frame.out_flat), levels)
        self.output.set_box(i, j)
        if is_max:
            self.input.set_mark(*frame.winner_input)
            self.window.set_mark(*frame.winner)

    def _backward(self, record, frame) -> None:
        i, j, c = frame.out_index
        for panel in self.panels:
            panel.set_signed(True)
        levels = self.cached_levels((record.index, "dx"), np.concatenate([np.ravel(record.dz),
                                                                            np.ravel(record.input_grad)]), True)
        self.input.set_title(f"∂E/∂z of {record.name} output, channel {c}")
        self.input.set_image(channel(record.dz, c), levels)
        self.input.set_box(i, j)
        self.input.show_padding(False)
        routed = np.where(frame.window.padding_mask, np.nan, frame.routed)
        self.window.set_title(f"∂E/∂z = {fmt(frame.delta)} routed by this window")
        self.window.set_image(routed, levels)
        plane, origin = padded(channel(record.input_grad, c), record.pads)
        self.output.set_title(f"∂E/∂x, input channel {c} (all windows)")
        self.output.set_image(plane, levels, origin)
        self.output.set_box(*frame.window.box)
        self.output.show_padding(bool(record.pads != ((0, 0), (0, 0))))
        if frame.winner is not None:
            self.window.set_mark(*frame.winner)
        self.window.set_box(0, 0, visible=False)
