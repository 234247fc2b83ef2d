"""The GUI of the loss step: which view shows each frame, and the equation panel's rows."""
from __future__ import annotations

from ...engine import frames as F
from ..views.common import fmt
from ..views.equation import bold, folded, row
from .common import FrameKind


def loss(f):
    label = f.label
    output_name = "p" if f.activation == "softmax" else "z"
    if f.loss_name == "mean_squared_error":
        rows = [row("E = Σ (z − y)² / K", f"{folded(f.terms, f.terms.values.size)} = {bold(f.loss)}")]
    else:
        clip = f" (p clipped at {fmt(f.clip)}, as Keras does)" if f.clipped else ""
        rows = [row("E = −Σ y log p", f"−log {output_name}[{label}] = −({fmt(f.log_p_label)}) = "
                                      f"{bold(f.loss)}{clip}")]
    delta = "δ = p − y" if f.fused else ("δ = Jᵀ ∂E/∂z (softmax Jacobian)" if f.jacobian else "δ = h′(a) ⊙ ∂E/∂z")
    rows.append(row(delta, ", ".join(f"{k}: {fmt(d)}" for k, d in enumerate(f.delta))))
    rows += [row("label / predicted", f"{label} / {f.predicted}"),
             row(output_name, ", ".join(f"{k}: {fmt(v)}" for k, v in enumerate(f.outputs)))]
    if not f.fused:
        rows.append(row("∂E/∂z", ", ".join(f"{k}: {fmt(g)}" for k, g in enumerate(f.output_grad))))
    return rows


FRAME_KINDS = {
    F.Loss: FrameKind("output", loss),
}
