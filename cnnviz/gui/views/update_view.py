"""The update of one weight array: W, its gradient, the optimizer's change (−η·g for plain SGD) and W'."""
from __future__ import annotations

import numpy as np

from .. import colormaps
from .common import fmt, wrapped, wrapped_cell
from .panels import View


class UpdateView(View):
    name = "update"
    title = "Update"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.weights = self.panel(0, 0, "W", signed=True, colorbar=True, numbers=True)
        self.grad = self.panel(0, 2, "g = ∂E/∂W", signed=True, colorbar=True, numbers=True)
        self.change = self.panel(0, 4, "change", signed=True, colorbar=True, numbers=True)
        self.after = self.panel(0, 6, "W′ = W + change", signed=True, colorbar=True, numbers=True)
        for column in (0, 2, 4, 6):
            self.layout_.layout.setColumnStretchFactor(column, 1)

    def _levels(self, key, *arrays):
        if key not in self.levels:
            self.levels[key] = colormaps.symmetric_levels(np.concatenate([np.ravel(a) for a in arrays]))
        return self.levels[key]

    def show_frame(self, step, frame) -> None:
        if frame["kind"] != "update":
            return
        record = self.trace.records[step.layer_index]
        key = frame["param_key"]
        preview = record.update[key]
        arrays = {"param": preview["param"], "grad": record.grads[key], "step": preview["step"],
                  "param_after": preview["param_after"]}
        index = frame["param_index"]
        if key == "kernel" and record.kind == "conv":
            m, n, c, c_out = index
            slices = {name: array[:, :, c, c_out] for name, array in arrays.items()}
            cell = (m, n)
            where = f"[:, :, {c}, {c_out}]"
        elif key == "kernel":
            i, j = index
            slices = {name: wrapped(array[:, j]) for name, array in arrays.items()}
            cell = wrapped_cell(i, arrays["param"].shape[0])
            where = f"[:, {j}] (input {i})"
        else:
            slices = {name: wrapped(array, array.size) for name, array in arrays.items()}
            cell = (0, index[0])
            where = ""
        shared = self._levels((record.index, key, "W"), arrays["param"], arrays["param_after"])
        self.weights.set_title(f"{key}{where} = {fmt(frame['param'])}")
        self.weights.set_image(slices["param"], shared)
        self.grad.set_title(f"g = {fmt(frame['grad'])}")
        self.grad.set_image(slices["grad"], self._levels((record.index, key, "g"), arrays["grad"]))
        plain_sgd = frame["optimizer"] == "sgd" and not frame["state_after"]
        self.change.set_title(f"{'−η·g' if plain_sgd else 'change'} = {fmt(frame['change'])}")
        self.change.set_image(slices["step"], self._levels((record.index, key, "step"), arrays["step"]))
        self.after.set_title(f"W′ = {fmt(frame['param_after'])}")
        self.after.set_image(slices["param_after"], shared)
        for panel in self.panels:
            panel.set_box(*cell)
