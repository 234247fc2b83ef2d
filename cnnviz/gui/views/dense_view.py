"""Flatten and dense layers, forward.

Dense: the input vector, what each input adds to the current neuron (x[i]·W[i, j], diverging
around zero, the largest term boxed in both) and the output filling in neuron by neuron; click
a neuron to see how it is computed (hovering only names it). Flatten: the feature-map cell,
the channels of that cell (consecutive in the vector: NHWC order) and its place in the vector.
"""
from __future__ import annotations

from ...engine.frames import DenseForward, FlattenForward
from .. import colormaps
from .common import channel, filled, fmt, row_width, unwrapped, wrapped, wrapped_cell
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
        self.draw = {DenseForward: self._dense_forward, FlattenForward: self._flatten_forward}

    def show_frame(self, step, frame) -> None:
        draw = self.draw.get(type(frame))
        if draw is None:
            return
        self.last = (step, frame)
        for panel in self.panels:
            panel.hide_marks()
        draw(self.trace.records[step.layer_index], frame)

    def _dense_forward(self, record, frame) -> None:
        j = frame.neuron
        inputs, products, largest = frame.inputs, frame.terms.products, frame.largest
        cell = wrapped_cell(largest, inputs.size)
        self.left.set_title(f"input z of {record.name} ({inputs.size} values)")
        self.left.set_image(wrapped(inputs), self.cached_levels(("x", record.index), record.inputs, False))
        self.left.set_box(*cell)
        self.middle.set_signed(True)
        self.middle.set_title(f"z[i]·W[i, {j}]: Σ = {fmt(frame.sum)} (boxed: the largest, input {largest})")
        self.middle.set_image(wrapped(products), colormaps.symmetric_levels(products))
        self.middle.set_box(*cell)
        out = record.z.reshape(-1)
        width = row_width(out.size)
        self.right.set_title(f"output of {record.name}: z[{j}] = {fmt(frame.z)}")
        self.right.set_image(filled(wrapped(out, width), j), self.cached_levels(("z", record.index), record.z, False))
        self.right.set_box(*wrapped_cell(j, out.size, width))

    def _flatten_forward(self, record, frame) -> None:
        i, j, c = frame.in_index
        k = frame.out_index
        first, last = frame.span
        levels = self.cached_levels(("x", record.index), record.inputs, False)
        self.left.set_title(f"input of {record.name}, channel {c}")
        self.left.set_image(channel(record.inputs, c), levels)
        self.left.set_box(i, j)
        cell = record.inputs[0, i, j]  # (C,): the channels of cell (i, j), consecutive in the vector
        self.middle.set_signed(False)
        self.middle.set_title(f"z[{i}, {j}, :] → vector[{first}…{last}] (channels innermost)")
        self.middle.set_image(cell.reshape(1, -1), levels)
        self.middle.set_box(0, c)
        out = record.z.reshape(-1)
        self.right.set_title(f"flattened vector ({out.size} values): [{k}] = {fmt(frame.value)}")
        self.right.set_image(filled(wrapped(out), k), levels)
        self.right.set_box(*wrapped_cell(k, out.size))

    def frame_for_cell(self, step, frame, row, col):
        """The frame of the clicked neuron: the output image is the vector, wrapped."""
        if not isinstance(frame, DenseForward):
            return None
        neuron = unwrapped(row, col, self.right.shape[1])
        return neuron if neuron < step.frame_grid[0] else None
