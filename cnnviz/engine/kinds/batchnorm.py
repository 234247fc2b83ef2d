"""BatchNormalization: one frame per cell, forward and back."""
from __future__ import annotations

import math

from dataclasses import dataclass
from typing import ClassVar, Optional

from ..frames import Frame, PreviousDelta
from ..layers import BatchNormalization
from .common import StepPlan, array_index, keep, layer_title, previous, spatial_grid, with_previous_delta

LAYER_TYPES = (BatchNormalization,)


@dataclass(frozen=True)
class BatchNormForward(Frame):
    """One cell: in_index; x; channel c; mean μ and variance σ² of the channel (moving ones at
    inference, as in a trace); statistics: "moving" or "batch", with why (explanation);
    epsilon; std = √(σ² + ε); centred = x − μ; x_hat = (x − μ)/std; gamma, beta (1 and 0 when
    the layer has none); scaled = γ·x̂; z = γ·x̂ + β."""

    kind: ClassVar[str] = "batchnorm_forward"
    in_index: tuple
    channel: int
    x: float
    mean: float
    variance: float
    statistics: str
    why: str
    epsilon: float
    std: float
    centred: float
    x_hat: float
    gamma: float
    beta: float
    scaled: float
    z: float


@dataclass(frozen=True)
class BatchNormBackward(Frame):
    """One cell on the way back.

    in_index; channel; statistics "moving" or "batch" and why; output_grad ∂E/∂z; gamma;
    std = √(σ² + ε); x_hat; with moving statistics: input_grad = γ·∂E/∂z / std (μ and σ² are
    constants). gamma_grad = Σ ∂E/∂z·x̂ and beta_grad = Σ ∂E/∂z over the channel (None when
    the layer has no γ / β); input_grad = ∂E/∂x; previous.
    """

    kind: ClassVar[str] = "batchnorm_backward"
    in_index: tuple
    channel: int
    statistics: str
    why: str
    output_grad: float
    gamma: float
    std: float
    x_hat: float
    input_grad: float
    gamma_grad: Optional[float]
    beta_grad: Optional[float]
    previous: Optional[PreviousDelta]

WHY_MOVING = ("The trace shows how the network answers one sample, as at inference: it normalizes with the "
              "moving statistics learnt during training, so μ and σ² are constants here. While training, "
              "each batch uses its own μ and σ², and the gradient also flows through them.")


def prepare(record) -> None:
    layer = record.layer
    record.mean, record.variance, record.x_hat = keep(layer.mean), keep(layer.variance), keep(layer.x_hat)
    record.statistics = "batch" if layer.batch_statistics else "moving"


def _gamma_beta(r, c):
    gamma = float(r.params["gamma"][c]) if "gamma" in r.params else 1.0
    beta = float(r.params["beta"][c]) if "beta" in r.params else 0.0
    return gamma, beta


def forward_steps(trace, r):
    in_shape = r.inputs.shape[1:]
    formula = "x̂ = (zᵏ⁻¹ − μ[c]) / √(σ²[c] + ε);  zᵏ = γ[c]·x̂ + β[c]"
    explanation = ("Each channel is shifted and scaled to mean 0 and variance 1 with its statistics μ and σ², "
                   "then given a learnt scale γ and offset β. " + WHY_MOVING)
    epsilon = r.layer.epsilon

    def build(r, position):
        index = array_index(position, in_shape)
        c = index[-1]
        x, mean, variance = float(r.inputs[0][index]), float(r.mean[c]), float(r.variance[c])
        gamma, beta = _gamma_beta(r, c)
        std = math.sqrt(variance + epsilon)
        return dict(in_index=index, channel=int(c), x=x, mean=mean, variance=variance, statistics=r.statistics,
                    why=WHY_MOVING, epsilon=epsilon, std=std, centred=x - mean, x_hat=float(r.x_hat[0][index]),
                    gamma=gamma, beta=beta, scaled=gamma * float(r.x_hat[0][index]), z=float(r.z[0][index]))

    return [StepPlan(BatchNormForward, spatial_grid(in_shape), layer_title("Forward", r), formula, explanation,
                     build)]


def backward_steps(trace, r):
    in_shape = r.inputs.shape[1:]
    formula = ("∂E/∂zᵏ⁻¹ = γ[c] · ∂E/∂zᵏ / √(σ²[c] + ε)  (moving statistics);  "
               "∂E/∂γ[c] = Σ ∂E/∂zᵏ · x̂;  ∂E/∂β[c] = Σ ∂E/∂zᵏ")
    explanation = ("With μ and σ² fixed, normalizing is a straight line per channel, so the gradient is only "
                   "scaled by γ/√(σ² + ε). The gradients of γ and β sum over every cell of the channel.")
    formula, explanation = with_previous_delta(trace, r, formula, explanation)
    epsilon = r.layer.epsilon

    def build(r, position):
        index = array_index(position, in_shape)
        c = index[-1]
        gamma, _ = _gamma_beta(r, c)
        return dict(in_index=index, channel=int(c), statistics=r.statistics, why=WHY_MOVING,
                    output_grad=float(r.dz[0][index]), gamma=gamma, std=math.sqrt(float(r.variance[c]) + epsilon),
                    x_hat=float(r.x_hat[0][index]), input_grad=float(r.input_grad[0][index]),
                    gamma_grad=float(r.grads["gamma"][c]) if "gamma" in r.grads else None,
                    beta_grad=float(r.grads["beta"][c]) if "beta" in r.grads else None,
                    previous=previous(trace, r, index))

    return [StepPlan(BatchNormBackward, spatial_grid(in_shape), layer_title("Backward", r), formula, explanation,
                     build)]
