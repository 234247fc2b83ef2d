"""Backward pass: δ maps (diverging colour map centred on zero, with colour bars), the current δ cell
and what feeds it: the δ map over the input for weight gradients, the flipped kernel over the δ maps
for the input gradient of a conv layer, Wᵀδ for a dense layer; cell by cell for the other layers."""
from __future__ import annotations

from ...engine.frames import ActivationBackward, ConvBackwardInput, ConvBackwardWeight, DenseBackward, PassBack
from .common import fmt, ChannelChooser, channel, filled, padded, wrapped, wrapped_cell
from .panels import View


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
        self.draw = {ConvBackwardWeight: self._conv_backward_weight, ConvBackwardInput: self._conv_backward_input,
                     DenseBackward: self._dense_backward, ActivationBackward: self._elementwise}

    def _levels(self, key, array, signed=True):
        return self.cached_levels(key, array, signed)

    def show_frame(self, step, frame) -> None:
        draw = self._elementwise if isinstance(frame, PassBack) else self.draw.get(type(frame))
        if draw is not None:
            self._show(step, frame, draw)

    def show_cell_frame(self, step, frame) -> None:
        """A layer of another kind that passes each cell back on its own (its ``in_index`` and, when the
        output has other indices, ``out_index``): ∂E/∂z of its output and of its input, the cell boxed."""
        self._show(step, frame, self._elementwise)

    def _show(self, step, frame, draw) -> None:
        self.last = (step, frame)
        record = self.trace.records[step.layer_index]
        for panel in self.panels:
            panel.hide_marks()
            panel.show_padding(False)
        self.chooser.setVisible(isinstance(frame, ConvBackwardInput))
        draw(record, frame)

    # ------------------------------------------------------------------ conv
    def _conv_backward_weight(self, record, frame) -> None:
        m, n, c, c_out = frame.weight_index
        self.left.set_signed(False)
        plane, origin = padded(channel(record.inputs, c), record.pads)
        self.left.set_title(f"input channel {c} (what w[{m},{n},{c},{c_out}] multiplied)")
        self.left.set_image(plane, self._levels(("in", record.index), record.inputs, False), origin)
        self.left.show_padding(origin != (0, 0))
        self.left.set_box(*frame.window.box)
        self.middle.set_title(f"δ of {record.name}, channel {c_out}")
        self.middle.set_image(frame.delta_map, self._levels(("delta", record.index), record.delta))
        grads = record.grads["kernel"][:, :, c, c_out]
        self.right.set_title(f"∂E/∂w[:, :, {c}, {c_out}] = {fmt(frame.grad)} at ({m}, {n})")
        self.right.set_image(filled(grads, frame.weight_flat),
                             self._levels(("grad", record.index), record.grads["kernel"]))
        self.right.set_box(m, n)

    def _conv_backward_input(self, record, frame) -> None:
        i, j, c = frame.in_index
        channels = record.delta.shape[-1]
        self.chooser.set_count(channels)
        k = min(self.chooser.value(), channels - 1)
        self.left.set_signed(True)
        levels = self._levels(("delta", record.index), record.delta)
        if frame.delta_padding is not None:  # the full convolution: δ padded by kernel size − 1
            plane, origin = padded(channel(record.delta, k), frame.delta_padding)
            self.left.set_title(f"δ of {record.name}, channel {k}, padded")
            self.left.set_image(plane, levels, origin)
            self.left.show_padding(True)
        else:  # strided: the δ cells that reach this input cell
            self.left.set_title(f"δ of {record.name}, channel {k}")
            self.left.set_image(channel(record.delta, k), levels)
        if frame.delta_box is not None:
            self.left.set_box(*frame.delta_box)
        self.middle.set_title(f"flipped kernel w[::-1, ::-1, {c}, {k}]")
        self.middle.set_image(frame.flipped_kernel[..., k], self._levels(("kernel", record.index),
                                                                         record.params["kernel"]))
        self.right.set_title(f"∂E/∂z of {record.name}'s input, channel {c}: {fmt(frame.sum)}")
        self.right.set_image(filled(channel(record.input_grad, c), frame.in_flat),
                             self._levels(("dx", record.index), record.input_grad))
        self.right.set_box(i, j)

    # ------------------------------------------------------------------ dense and cell by cell
    def _dense_backward(self, record, frame) -> None:
        i = frame.in_index
        self.left.set_signed(True)
        self.left.set_title(f"δ of {record.name}")
        self.left.set_image(wrapped(frame.deltas, frame.deltas.size), self._levels(("delta", record.index),
                                                                                  record.delta))
        self.middle.set_title(f"W[{i}, :]  (Wᵀδ at input {i} = {fmt(frame.sum)})")
        self.middle.set_image(wrapped(frame.weights, frame.weights.size),
                              self._levels(("kernel", record.index), record.params["kernel"]))
        grad = record.input_grad.reshape(-1)
        self.right.set_title(f"∂E/∂z of {record.name}'s input (cell {i})")
        self.right.set_image(filled(wrapped(grad), i), self._levels(("dx", record.index), grad))
        self.right.set_box(*wrapped_cell(i, grad.size))

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

    def _elementwise(self, record, frame) -> None:
        """Flatten, dropout, activation and batch-normalization layers pass each cell back on its own."""
        output_index = frame.out_index if isinstance(frame, PassBack) else frame.in_index
        self.left.set_signed(True)
        if record.dz is None:  # a softmax fused with cross-entropy: the loss step gave its delta, p − y
            self._map_cell(self.left, record.delta, output_index, f"δ = p − y of {record.name}", ("dz", record.index))
        else:
            self._map_cell(self.left, record.dz, output_index, f"∂E/∂z of {record.name} output", ("dz", record.index))
        self.middle.clear()
        self._map_cell(self.right, record.input_grad, tuple(frame.in_index),
                       f"∂E/∂x of {record.name} input", ("dx", record.index))
