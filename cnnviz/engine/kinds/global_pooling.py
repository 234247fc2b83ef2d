"""GlobalAveragePooling2D: one frame per channel, forward (the mean) and back (δ/(H·W) to every cell)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional

import numpy as np

from ..frames import Folded, Frame, PreviousDelta
from ..layers import GlobalAveragePooling2D
from .common import StepPlan, layer_title, previous, with_previous_delta

LAYER_TYPES = (GlobalAveragePooling2D,)


@dataclass(frozen=True)
class GlobalAvgPoolForward(Frame):
    """The mean of one channel c: inputs (H, W) the channel; terms: Folded over its cells;
    count = H·W; sum; z = sum / count."""

    kind: ClassVar[str] = "global_avgpool_forward"
    channel: int
    inputs: np.ndarray
    terms: Folded
    count: int
    sum: float
    z: float


@dataclass(frozen=True)
class GlobalAvgPoolBackward(Frame):
    """Channel c on the way back: output_grad ∂E/∂z[c]; count = H·W; share = ∂E/∂z[c] / count,
    what every cell of the channel gets; input_grad (H, W) the channel's gradient; previous."""

    kind: ClassVar[str] = "global_avgpool_backward"
    channel: int
    output_grad: float
    count: int
    share: float
    input_grad: np.ndarray
    previous: Optional[PreviousDelta]


def forward_steps(trace, r):
    h, w, channels = r.inputs.shape[1:]
    formula = "zᵏ[c] = (1/(H·W)) Σi Σj zᵏ⁻¹[i,j,c]"
    explanation = ("Each channel becomes one number, the mean of its whole feature map: how strongly its "
                   "pattern was found anywhere in the image.")

    def build(r, position):
        (c,) = position
        plane = r.inputs[0, :, :, c]
        terms = Folded.of(plane)
        return dict(channel=c, inputs=plane, terms=terms, count=h * w, sum=terms.total, z=float(r.z[0, c]))

    return [StepPlan(GlobalAvgPoolForward, (channels,), layer_title("Forward", r), formula, explanation, build)]


def backward_steps(trace, r):
    h, w, channels = r.inputs.shape[1:]
    formula = "∂E/∂zᵏ⁻¹[i,j,c] = ∂E/∂zᵏ[c] / (H·W)  for every cell (i, j)"
    explanation = "Every cell of a channel contributed equally to its mean, so each gets an equal share."
    formula, explanation = with_previous_delta(trace, r, formula, explanation)

    def build(r, position):
        (c,) = position
        grad = float(r.dz[0, c])
        return dict(channel=c, output_grad=grad, count=h * w, share=float(r.dz[0, c] / (h * w)),
                    input_grad=r.input_grad[0, :, :, c], previous=previous(trace, r, (slice(None), slice(None), c)))

    return [StepPlan(GlobalAvgPoolBackward, (channels,), layer_title("Backward", r), formula, explanation, build)]
