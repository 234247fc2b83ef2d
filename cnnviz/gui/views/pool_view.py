"""Pooling: the window over the input, the winning cell marked, the value written to the output;
backward: the output delta routed back to the winner (max) or spread over the window (average)."""
from __future__ import annotations

import numpy as np

from .. import colormaps
from .common import fmt, channel, filled, padded
from .panels import View


class PoolView(View):
    name = "pool"
    title = "Pooling"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.input = self.panel(0, 0, "input", colorbar=True)
        self.window = self.panel(0, 2, "window", colorbar=True, numbers=True)
        self.output = self.panel(0, 4, "output", colorbar=True)


    def show_frame(self, step, frame) -> None:
        kind = frame["kind"]
        if kind not in ("maxpool_forward", "avgpool_forward", "maxpool_backward", "avgpool_backward"):
            return
        record = self.trace.records[step.layer_index]
        i, j, c = frame["out_index"]
        rows, cols = frame["rows"], frame["cols"]
        ph, pw = frame["padding_mask"].shape
        is_max = kind.startswith("max")
        if kind.endswith("forward"):
            for panel in self.panels:
                panel.set_signed(False)
            plane, origin = padded(channel(record.inputs, c), record.pads)
            self.input.set_title(f"input of {record.name}, channel {c}")
            self.input.set_image(plane, self.cached_levels((record.index, "in"), record.inputs, False), origin)
            window = np.where(frame["padding_mask"], np.nan, frame["window"])
            self.window.set_title("window: max" if is_max else f"window: mean of {frame['count']}")
            self.window.set_image(window, self.cached_levels((record.index, "in"), record.inputs, False))
            out = channel(record.z, c)
            self.output.set_title(f"output channel {c}: z = {fmt(frame['z'])}")
            self.output.set_image(filled(out, i * out.shape[1] + j),
                                  self.cached_levels((record.index, "out"), record.z, False))
        else:
            for panel in self.panels:
                panel.set_signed(True)
            grad_out = channel(record.dz, c)
            self.input.set_title(f"∂E/∂z of {record.name} output, channel {c}")
            self.input.set_image(grad_out, self.cached_levels((record.index, "dz"), record.dz, True))
            self.input.set_box(i, j)
            self.input.show_padding(False)
            self.input.mark.setVisible(False)
            routed = np.where(frame["padding_mask"], np.nan, frame["routed"])
            self.window.set_title(f"δ = {fmt(frame['delta'])} routed")
            self.window.set_image(routed, colormaps.symmetric_levels(routed))
            plane, origin = padded(channel(record.input_grad, c), record.pads)
            self.output.set_title(f"∂E/∂x, input channel {c}")
            self.output.set_image(plane, self.cached_levels((record.index, "dx"), record.input_grad, True), origin)
            self.output.set_box(rows[0], cols[0], ph, pw)
            self.output.show_padding(bool(record.pads != ((0, 0), (0, 0))))
            self._mark_winner(frame, is_max, self.output, rows, cols)
            self.window.set_box(0, 0, visible=False)
            return
        self.input.show_padding(bool(frame["padding_mask"].any() or origin != (0, 0)))
        self.input.set_box(rows[0], cols[0], ph, pw)
        self._mark_winner(frame, is_max, self.input, rows, cols)
        self.output.set_box(i, j)

    def _mark_winner(self, frame, is_max, panel, rows, cols) -> None:
        if is_max:
            m, n = frame["winner"]
            panel.set_mark(rows[m], cols[n])
            self.window.set_mark(m, n)
        else:
            panel.mark.setVisible(False)
            self.window.mark.setVisible(False)
