"""The GUI of Conv2D: which view shows each frame, and the equation panel's rows."""
from __future__ import annotations

from ...engine import frames as F
from ..views.common import fmt
from ..views.equation import bold, channel_rows, neuron_row, previous_delta, row, terms
from .common import FrameKind


def conv_forward(f):
    i, j, c_out = f.out_index
    w = f.window
    where = (f"output (row {i}, col {j}) of channel {c_out}; window rows {w.rows[0]}…{w.rows[-1]}, "
             f"cols {w.cols[0]}…{w.cols[-1]}")
    if w.padding_mask.any():
        where += " (grey cells are padding = 0)"
    return [neuron_row(f), row("cell", where), *channel_rows(f, "Σ w·z")]


def conv_backward_weight(f):
    m, n, c, c_out = f.weight_index
    rows = [row(f"∂E/∂w[{m},{n},{c},{c_out}]", bold(f.grad))]
    if f.bias_grad is not None:
        rows.append(row(f"∂E/∂b[{c_out}] = Σ δ", fmt(f.bias_grad)))
    return rows + [row("weight", f"δ map of channel {c_out} times the input channel {c} cells this weight touched"),
                   row("Σ δ·z (largest first)", terms(f.terms))]


def conv_backward_input(f):
    i, j, c = f.in_index
    return [row("∂E/∂z", bold(f.sum)), *previous_delta(f, f.sum),
            row("input cell", f"(row {i}, col {j}) of channel {c}: flipped kernel over the δ maps"),
            *channel_rows(f, "Σ w·δ", unit="δ channel")]


FRAME_KINDS = {
    F.ConvForward: FrameKind("conv", conv_forward),
    F.ConvBackwardWeight: FrameKind("backward", conv_backward_weight),
    F.ConvBackwardInput: FrameKind("backward", conv_backward_input),
}
