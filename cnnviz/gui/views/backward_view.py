"""Backward pass: δ maps (diverging colour map centred on zero, with colour bars), the current δ cell
and what feeds it: the δ map over the input for weight gradients, the flipped kernel over the δ maps
for the input gradient of a conv layer, Wᵀδ for a dense layer."""
from __future__ import annotations

import numpy as np

from .common import fmt, ChannelChooser, channel, filled, padded, wrapped, wrapped_cell
from .panels import View

KINDS = ("conv_backward_weight", "conv_backward_input", "dense_backward", "flatten_backward",
         "dropout_backward", "activation_backward")


class BackwardView(View):
    name = "backward"
    title = "Backward"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.chooser = ChannelChooser("δ channel shown (conv input gradient):")
        self.layout().insertWidget(0, self.chooser)
        self.chooser.combo.currentIndexChanged.connect(self.redraw)
        self.left = self.panel(0, 0, "", colorbar=True)
        self.middle = self.panel(0, 2, "", signed=True, colorbar=True, numbers=True)
        self.right = self.panel(0, 4, "", signed=True, colorbar=True)

    def _levels(self, key, array, signed=True):
        return self.cached_levels(key, array, signed)

    def show_frame(self, step, frame) -> None:
        kind = frame["kind"]
        if kind not in KINDS:
            return
        self.last = (step, frame)
        record = self.trace.records[step.layer_index]
        for panel in self.panels:
            panel.hide_marks()
            panel.show_padding(False)
        self.chooser.setVisible(kind == "conv_backward_input")
        getattr(self, f"_{kind}")(record, frame)

    # ------------------------------------------------------------------ conv
    def _conv_backward_weight(self, record, frame) -> None:
        m, n, c, c_out = frame["weight_index"]
        rows, cols = frame["rows"], frame["cols"]
        self.left.set_signed(False)
        plane, origin = padded(channel(record.inputs, c), record.pads)
        self.left.set_title(f"input channel {c} (what w[{m},{n},{c},{c_out}] multiplied)")
        self.left.set_image(plane, self._levels(("in", record.index), record.inputs, False), origin)
        self.left.show_padding(origin != (0, 0))
        self.left.set_box(rows[0], cols[0], rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
        self.middle.set_title(f"δ of {record.name}, channel {c_out}")
        self.middle.set_image(frame["delta_map"], self._levels(("delta", record.index), record.delta))
        grads = record.grads["kernel"][:, :, c, c_out]
        kw = grads.shape[1]
        self.right.set_title(f"∂E/∂w[:, :, {c}, {c_out}] = {fmt(frame['grad'])} at ({m}, {n})")
        self.right.set_image(filled(grads, m * kw + n), self._levels(("grad", record.index), record.grads["kernel"]))
        self.right.set_box(m, n)

    def _conv_backward_input(self, record, frame) -> None:
        i, j, c = frame["in_index"]
        channels = record.delta.shape[-1]
        self.chooser.set_count(channels)
        k = min(self.chooser.value(), channels - 1)
        self.left.set_signed(True)
        kh, kw = frame["kernel"].shape[:2]
        levels = self._levels(("delta", record.index), record.delta)
        if record.strides == (1, 1):
            # the full convolution: the flipped kernel slides over the δ map padded by kernel size - 1
            plane, origin = padded(channel(record.delta, k), ((kh - 1, kh - 1), (kw - 1, kw - 1)))
            self.left.set_title(f"δ of {record.name}, channel {k}, padded")
            self.left.set_image(plane, levels, origin)
            self.left.show_padding(True)
            (top, _), (left, _) = record.pads
            self.left.set_box(i + top - (kh - 1), j + left - (kw - 1), kh, kw)
        else:  # strided: show the δ cells that reach this input cell
            self.left.set_title(f"δ of {record.name}, channel {k}")
            self.left.set_image(channel(record.delta, k), levels)
            valid_rows = frame["out_rows"][frame["out_rows"] >= 0]
            valid_cols = frame["out_cols"][frame["out_cols"] >= 0]
            if valid_rows.size and valid_cols.size:
                self.left.set_box(valid_rows.min(), valid_cols.min(), np.ptp(valid_rows) + 1, np.ptp(valid_cols) + 1)
        flipped = frame["kernel"][::-1, ::-1, k]
        self.middle.set_title(f"flipped kernel w[::-1, ::-1, {c}, {k}]")
        self.middle.set_image(flipped, self._levels(("kernel", record.index), record.params["kernel"]))
        grad = channel(record.input_grad, c)
        self.right.set_title(f"∂E/∂x, input channel {c}: {fmt(frame['sum'])}")
        self.right.set_image(filled(grad, i * grad.shape[1] + j), self._levels(("dx", record.index), record.input_grad))
        self.right.set_box(i, j)

    # ------------------------------------------------------------------ dense and elementwise
    def _dense_backward(self, record, frame) -> None:
        (i,) = frame["position"]
        self.left.set_signed(True)
        self.left.set_title(f"δ of {record.name}")
        deltas = frame["deltas"]
        self.left.set_image(wrapped(deltas, deltas.size), self._levels(("delta", record.index), record.delta))
        self.middle.set_title(f"W[{i}, :]  (Wᵀδ at input {i} = {fmt(frame['sum'])})")
        self.middle.set_image(wrapped(frame["weights"], frame["weights"].size),
                              self._levels(("kernel", record.index), record.params["kernel"]))
        self._input_grad(record, i)

    def _input_grad(self, record, flat_index) -> None:
        grad = record.input_grad.reshape(-1)
        self.right.set_title(f"∂E/∂x of {record.name}'s input (cell {flat_index})")
        self.right.set_image(filled(wrapped(grad), flat_index), self._levels(("dx", record.index), grad))
        self.right.set_box(*wrapped_cell(flat_index, grad.size))

    def _map_cell(self, panel, array, index, title, key) -> None:
        """Channel ``index[2]`` of a (1, H, W, C) array with cell (i, j) boxed; or a vector, wrapped."""
        if len(index) == 3:
            i, j, c = index
            panel.set_title(f"{title}, channel {c}")
            panel.set_image(channel(array, c), self._levels(key, array))
            panel.set_box(i, j)
        else:
            vector = array.reshape(-1)
            panel.set_title(title)
            panel.set_image(wrapped(vector), self._levels(key, vector))
            panel.set_box(*wrapped_cell(int(index[0]), vector.size))

    def _elementwise(self, record, frame, output_index) -> None:
        """Flatten, dropout and activation layers pass each gradient cell back on its own."""
        self.left.set_signed(True)
        self._map_cell(self.left, record.dz, output_index, f"∂E/∂z of {record.name} output", ("dz", record.index))
        self.middle.clear()
        self._map_cell(self.right, record.input_grad, tuple(frame["in_index"]),
                       f"∂E/∂x of {record.name} input", ("dx", record.index))

    def _flatten_backward(self, record, frame) -> None:
        self._elementwise(record, frame, (frame["out_index"],))

    def _dropout_backward(self, record, frame) -> None:
        self._elementwise(record, frame, tuple(frame["in_index"]))

    _activation_backward = _dropout_backward
