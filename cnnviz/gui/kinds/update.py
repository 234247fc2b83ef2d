"""The GUI of the update steps: which view shows each frame, and the equation panel's rows."""
from __future__ import annotations

import numpy as np

from ...engine import frames as F
from ..views.common import fmt
from ..views.equation import bold, row, signed_factor, signed_sum
from .common import FrameKind


def update(f):
    index = ", ".join(str(int(v)) for v in np.atleast_1d(f.param_index))
    rows = [row("weight", f"{f.layer}/{f.param_key}[{index}] ({f.optimizer}, η = {fmt(f.learning_rate)})"),
            row("W", fmt(f.param)), row("∂E/∂W (backprop)", fmt(f.grad))]
    if f.weight_decay:
        rows += [row("λ·W (weight decay)", f"{fmt(f.weight_decay)} × {signed_factor(f.param)} = {fmt(f.decay_term)}"),
                 row("g = ∂E/∂W + λ·W", f"{signed_sum([f.grad, f.decay_term])} = {fmt(f.effective_grad)}")]
    else:
        rows.append(row("g = ∂E/∂W", fmt(f.effective_grad)))
    for name, after in f.state_after.items():  # optimizer state (momentum, moments...), from its initial value
        rows.append(row(name, f"{fmt(f.state_before[name])} → {fmt(after)}"))
    if f.plain_sgd:
        rows.append(row("change = −η·g", f"−{fmt(f.learning_rate)} × {signed_factor(f.effective_grad)} = "
                                         f"{fmt(f.change)}"))
    else:
        rows.append(row("change", fmt(f.change)))
    label = "W′ = W − η·g" if f.plain_sgd else "W′ = W + change"
    return [row(label, f"{signed_sum([f.param, f.change])} = {bold(f.param_after)}"), *rows]


FRAME_KINDS = {
    F.Update: FrameKind("update", update),
}
