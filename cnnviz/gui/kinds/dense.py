"""The GUI of Dense: which view shows each frame, and the equation panel's rows."""
from __future__ import annotations

from ...engine import frames as F
from ..views.common import fmt
from ..views.equation import MAX_TERMS, bold, neuron_row, numbers, previous_delta, row, terms
from .common import FrameKind


def dense_forward(f):
    return [neuron_row(f), row("neuron", str(f.neuron)),
            row("Σ w·z (largest first)", f"{terms(f.terms)} = {fmt(f.sum)}")]


def dense_backward(f):
    i = f.in_index
    return [row(f"∂E/∂z[{i}]", bold(f.sum)), *previous_delta(f, f.sum),
            row("input", f"{i} (value z = {fmt(f.input)})"),
            row("Σ W·δ (largest first)", f"{terms(f.terms)} = {fmt(f.sum)}"),
            row(f"∂E/∂W[{i},:] = z·δ", numbers(f.weight_grads, MAX_TERMS))]


FRAME_KINDS = {
    F.DenseForward: FrameKind("dense", dense_forward),
    F.DenseBackward: FrameKind("backward", dense_backward),
}
