"""The update of one weight array: W, its gradient, the optimizer's change (−η·g for plain SGD) and W'."""
from __future__ import annotations

import numpy as np

from ...engine.frames import Update
from .. import colormaps
from .common import fmt, row_width, wrapped, wrapped_cell
from .panels import View


class UpdateView(View):
    name = "update"
    title = "Update"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.weights = self.panel(0, 0, "W", signed=True, colorbar=True, numbers=True)
        self.grad = self.panel(0, 2, "∂E/∂W", signed=True, colorbar=True, numbers=True)
        self.change = self.panel(0, 4, "change", signed=True, colorbar=True, numbers=True)
        self.after = self.panel(0, 6, "W′ = W + change", signed=True, colorbar=True, numbers=True)
        for column in (0, 2, 4, 6):
            self.layout_.layout.setColumnStretchFactor(column, 1)

    def _levels(self, key, *arrays):
        if key not in self.levels:
            self.levels[key] = colormaps.symmetric_levels(np.concatenate([np.ravel(a) for a in arrays]))
        return self.levels[key]

    def show_frame(self, step, frame) -> None:
        if not isinstance(frame, Update):
            return
        self.last = (step, frame)
        record = self.trace.records[step.layer_index]
        key = frame.param_key
        preview = record.update[key]
        slices = {"param": frame.param_slice, "grad": frame.grad_slice, "step": frame.change_slice,
                  "param_after": frame.after_slice}
        if frame.param_slice.ndim == 1:  # a vector: one row when short, else wrapped into a square
            width = row_width(frame.param_slice.size)
            slices = {name: wrapped(array, width) for name, array in slices.items()}
            cell = wrapped_cell(frame.cell[0], frame.param_slice.size, width)
        else:
            cell = frame.cell
        shared = self._levels((record.index, key, "W"), preview["param"], preview["param_after"])
        self.weights.set_title(f"{key}{frame.label}: W = {fmt(frame.param)}")
        self.weights.set_image(slices["param"], shared)
        self.grad.set_title(f"∂E/∂W = {fmt(frame.grad)}")
        self.grad.set_image(slices["grad"], self._levels((record.index, key, "g"), record.grads[key]))
        rule = ("change" if not frame.plain_sgd else "−η·(∂E/∂W + λW)" if frame.weight_decay else "−η·∂E/∂W")
        self.change.set_title(f"{rule} = {fmt(frame.change)}")
        self.change.set_image(slices["step"], self._levels((record.index, key, "step"), preview["step"]))
        self.after.set_title(f"W′ = {fmt(frame.param_after)}")
        self.after.set_image(slices["param_after"], shared)
        for panel in self.panels:
            panel.set_box(*cell)
