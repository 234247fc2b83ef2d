"""The GUI of Flatten, Dropout and Activation: which view shows each frame, and the equation panel's rows."""
from __future__ import annotations

from ...engine import frames as F
from ..views.common import fmt
from ..views.equation import bold, cell, previous_delta, row, signed_factor
from .common import FrameKind, draw_cell_in_maps


def flatten_forward(f):
    return [row("copy", f"z{cell(f.in_index)} → vector[{f.out_index}] = {bold(f.value)}")]


def dropout_forward(f):
    return [row("pass", f"z{cell(f.in_index)} = {fmt(f.value)} → {bold(f.z)} "
                        f"(rate {fmt(f.rate)}: dropout drops units only while training)")]


def activation_forward(f):
    return [row("z = h(a)", f"{f.activation}({fmt(f.a)}) = {bold(f.z)}")]


def flatten_backward(f):
    return [row("pass back", f"∂E/∂vector[{f.out_index[0]}] = {fmt(f.output_grad)} → "
                             f"∂E/∂z{cell(f.in_index)} = {bold(f.input_grad)}"),
            *previous_delta(f, f.input_grad)]


def dropout_backward(f):
    return [row("pass back", f"∂E/∂z = {fmt(f.output_grad)} → ∂E/∂z{cell(f.in_index)} of the input = "
                             f"{bold(f.input_grad)}"),
            *previous_delta(f, f.input_grad)]


def activation_backward(f):
    if f.output_grad is None:
        rows = [row("δ = p − y", f"{bold(f.delta)} (softmax and cross-entropy, differentiated together: "
                                 "the loss step computed it)")]
    elif f.h_prime is None:
        rows = [row("δ = Jᵀ ∂E/∂z", f"∂E/∂z = {fmt(f.output_grad)} → δ = {bold(f.delta)} (softmax Jacobian)")]
    else:
        rows = [row("δ = h′(a) · ∂E/∂z", f"{fmt(f.h_prime)} × {signed_factor(f.output_grad)} = {bold(f.delta)}")]
    return rows + previous_delta(f, f.delta)


FRAME_KINDS = {
    F.FlattenForward: FrameKind("dense", flatten_forward),
    F.FlattenBackward: FrameKind("backward", flatten_backward),
    F.DropoutForward: FrameKind("maps", dropout_forward),
    F.DropoutBackward: FrameKind("backward", dropout_backward),
    F.ActivationForward: FrameKind("maps", activation_forward, draw_cell_in_maps),
    F.ActivationBackward: FrameKind("backward", activation_backward),
}
