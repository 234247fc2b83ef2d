"""Flatten and dense layers, forward.

Dense: the input vector, what each input adds to the current neuron (x[i]·W[i, j], diverging
around zero, the largest term boxed in both) and the output filling in neuron by neuron; click
a neuron (or hover over it, paused) to see how it is computed. Flatten: the feature-map cell,
the channels of that cell (consecutive in the vector: NHWC order) and its place in the vector.
"""
from __future__ import annotations

from .. import colormaps
from .common import channel, filled, fmt, row_width, wrapped, wrapped_cell
from .panels import View

class DenseView(View):
    name = "dense"
    title = "Dense"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.left = self.panel(0, 0, "", colorbar=True)
        self.middle = self.panel(0, 2, "", signed=True, colorbar=True)
        self.right = self.panel(0, 4, "", colorbar=True)
        self.jump_from_clicks(self.right)

    def show_frame(self, step, frame) -> None:
        kind = frame["kind"]
        if kind not in ("dense_forward", "flatten_forward"):
            return
        self.last = (step, frame)
        record = self.trace.records[step.layer_index]
        for panel in self.panels:
            panel.hide_marks()
        getattr(self, f"_{kind}")(record, frame)

    def _dense_forward(self, record, frame) -> None:
        (j,) = frame["position"]
        inputs, products = frame["inputs"], frame["products"]
        largest = int(frame["order"][0])
        cell = wrapped_cell(largest, inputs.size)
        self.left.set_title(f"input x of {record.name} ({inputs.size} values)")
        self.left.set_image(wrapped(inputs), self.cached_levels(("x", record.index), record.inputs, False))
        self.left.set_box(*cell)
        self.middle.set_signed(True)
        self.middle.set_title(f"x[i]·W[i, {j}]: Σ = {fmt(frame['sum'])} (boxed: the largest, input {largest})")
        self.middle.set_image(wrapped(products), colormaps.symmetric_levels(products))
        self.middle.set_box(*cell)
        out = record.z.reshape(-1)
        width = row_width(out.size)
        self.right.set_title(f"output of {record.name}: z[{j}] = {fmt(frame['z'])}")
        self.right.set_image(filled(wrapped(out, width), j), self.cached_levels(("z", record.index), record.z, False))
        self.right.set_box(*wrapped_cell(j, out.size, width))

    def _flatten_forward(self, record, frame) -> None:
        i, j, c = frame["in_index"]
        k = frame["out_index"]
        levels = self.cached_levels(("x", record.index), record.inputs, False)
        self.left.set_title(f"input of {record.name}, channel {c}")
        self.left.set_image(channel(record.inputs, c), levels)
        self.left.set_box(i, j)
        cell = record.inputs[0, i, j]  # (C,): the channels of cell (i, j), consecutive in the vector
        first = k - c
        self.middle.set_signed(False)
        self.middle.set_title(f"x[{i}, {j}, :] → z[{first}…{first + cell.size - 1}] (channels innermost)")
        self.middle.set_image(cell.reshape(1, -1), levels)
        self.middle.set_box(0, c)
        out = record.z.reshape(-1)
        self.right.set_title(f"flattened vector ({out.size} values): z[{k}] = {fmt(frame['value'])}")
        self.right.set_image(filled(wrapped(out), k), levels)
        self.right.set_box(*wrapped_cell(k, out.size))

    def frame_for_cell(self, step, frame, row, col):
        """The frame of the clicked neuron: the output image is the vector, wrapped."""
        if frame["kind"] != "dense_forward":
            return None
        neuron = row * self.right.shape[1] + col
        return neuron if neuron < step.frame_grid[0] else None
