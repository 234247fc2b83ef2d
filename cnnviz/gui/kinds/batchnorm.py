"""The GUI of BatchNormalization: which view shows each frame, and the equation panel's rows."""
from __future__ import annotations

from ...engine.kinds.batchnorm import BatchNormBackward, BatchNormForward
from ..views.common import fmt
from ..views.equation import bold, cell, previous_delta, row, signed_factor, signed_sum
from .common import FrameKind, draw_cell_in_maps


def batchnorm_forward(f):
    return [row("cell", f"{cell(f.in_index)}, channel {f.channel}: z = {fmt(f.x)}"),
            row(f"statistics ({f.statistics})", f"μ = {fmt(f.mean)}, σ² = {fmt(f.variance)}, ε = {fmt(f.epsilon)}, "
                                                f"√(σ² + ε) = {fmt(f.std)}"),
            row("x̂ = (z − μ) / √(σ² + ε)", f"{fmt(f.centred)} / {fmt(f.std)} = {fmt(f.x_hat)}"),
            row("γ·x̂ + β", f"{fmt(f.gamma)} · {signed_factor(f.x_hat)} + {signed_factor(f.beta)} = "
                           f"{signed_sum([f.scaled, f.beta])} = {bold(f.z)}")]


def batchnorm_backward(f):
    rows = [row("cell", f"{cell(f.in_index)}, channel {f.channel} ({f.statistics} statistics)"),
            row("∂E/∂z of the input = γ·∂E/∂z / √(σ² + ε)",
                f"{fmt(f.gamma)} · {signed_factor(f.output_grad)} / {fmt(f.std)} = {bold(f.input_grad)}")]
    if f.gamma_grad is not None:
        rows.append(row(f"∂E/∂γ[{f.channel}] = Σ ∂E/∂z · x̂", fmt(f.gamma_grad)))
    if f.beta_grad is not None:
        rows.append(row(f"∂E/∂β[{f.channel}] = Σ ∂E/∂z", fmt(f.beta_grad)))
    return rows + previous_delta(f, f.input_grad)


def draw_backward(view, step, f) -> None:
    """In the backward view, cell by cell: ∂E/∂z of the output and of the input, the cell boxed."""
    view.show_cell_frame(step, f)


FRAME_KINDS = {
    BatchNormForward: FrameKind("maps", batchnorm_forward, draw_cell_in_maps),
    BatchNormBackward: FrameKind("backward", batchnorm_backward, draw_backward),
}
