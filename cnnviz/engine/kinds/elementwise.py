"""Flatten, Dropout and Activation: one frame per element, forward and back."""
from __future__ import annotations

from ..frames import (ActivationBackward, ActivationForward, DropoutBackward, DropoutForward, FlattenBackward,
                      FlattenForward)
from ..layers import Activation, Dropout, Flatten
from .common import StepPlan, array_index, flat, layer_title, previous, spatial_grid, with_previous_delta

LAYER_TYPES = (Flatten, Dropout, Activation)


def forward_steps(trace, r):
    layer, in_shape = r.layer, r.inputs.shape[1:]
    title = layer_title("Forward", r)
    if isinstance(layer, Flatten):
        formula = ("zᵏ[q] = zᵏ⁻¹[i,j,c] with q = (i·W + j)·C + c" if len(in_shape) == 3 else "zᵏ[q] = zᵏ⁻¹[q]")
        explanation = ("Flatten only lays the feature maps out as one long vector (row by row, channels "
                       "innermost) so that a dense layer can read them; no numbers change.")
        channels = in_shape[-1] if len(in_shape) == 3 else 1

        def build(r, position):
            q = flat(position, in_shape)
            first = q - (position[-1] if len(in_shape) == 3 else 0)
            return dict(in_index=position, out_index=q, value=float(r.inputs[0][position]),
                        span=(first, first + channels - 1))

        return [StepPlan(FlattenForward, in_shape, title, formula, explanation, build)]
    grid = spatial_grid(in_shape)
    if isinstance(layer, Dropout):
        formula = f"zᵏ = zᵏ⁻¹  (training: zᵏ = zᵏ⁻¹ · mask / (1 − {layer.rate:g}))"
        explanation = ("While training, dropout switches off a random fraction of the values and scales "
                       "the rest up; when the network is used, as here, it passes everything unchanged.")

        def build_dropout(r, position):
            index = array_index(position, in_shape)
            return dict(in_index=index, value=float(r.inputs[0][index]), z=float(r.z[0][index]),
                        rate=r.layer.rate)

        return [StepPlan(DropoutForward, grid, title, formula, explanation, build_dropout)]
    formula = f"zᵏ = {r.activation}(aᵏ)  (aᵏ = zᵏ⁻¹)"
    explanation = "The activation function is applied to every value on its own."

    def build_activation(r, position):
        index = array_index(position, in_shape)
        return dict(in_index=index, a=float(r.a[0][index]), z=float(r.z[0][index]), activation=r.activation)

    return [StepPlan(ActivationForward, grid, title, formula, explanation, build_activation)]


def backward_steps(trace, r):
    layer, in_shape = r.layer, r.inputs.shape[1:]
    title = layer_title("Backward", r)
    if isinstance(layer, Flatten):
        formula = ("∂E/∂zᵏ⁻¹[i,j,c] = ∂E/∂zᵏ[q],  q = (i·W + j)·C + c" if len(in_shape) == 3
                   else "∂E/∂zᵏ⁻¹ = ∂E/∂zᵏ")
        explanation = "The gradient vector is folded back into the shape of the feature maps."
        formula, explanation = with_previous_delta(trace, r, formula, explanation)

        def build(r, position):
            q = flat(position, in_shape)
            return dict(in_index=position, out_index=(q,), output_grad=float(r.dz[0][q]),
                        input_grad=float(r.input_grad[0][position]), previous=previous(trace, r, position))

        return [StepPlan(FlattenBackward, in_shape, title, formula, explanation, build)]
    grid = spatial_grid(in_shape)
    if isinstance(layer, Dropout):
        formula = "∂E/∂zᵏ⁻¹ = ∂E/∂zᵏ  (training: mask · ∂E/∂zᵏ / (1 − rate))"
        explanation = "At inference dropout passed every value unchanged, so the gradient passes unchanged too."
        formula, explanation = with_previous_delta(trace, r, formula, explanation)

        def build_dropout(r, position):
            index = array_index(position, in_shape)
            return dict(in_index=index, out_index=index, output_grad=float(r.dz[0][index]),
                        input_grad=float(r.input_grad[0][index]), previous=previous(trace, r, index))

        return [StepPlan(DropoutBackward, grid, title, formula, explanation, build_dropout)]
    if r.activation == "softmax":
        formula = "δᵏ = ∂E/∂aᵏ = Jᵀ ∂E/∂zᵏ with J the softmax Jacobian: δ[k] = z[k]·(g[k] − Σj z[j]·g[j])"
        explanation = ("A softmax mixes all its inputs, so it has no elementwise derivative: each delta "
                       "depends on every output's gradient g = ∂E/∂z.")
    else:
        formula = f"δᵏ = ∂E/∂aᵏ = {r.activation}'(aᵏ) ⊙ ∂E/∂zᵏ"
        explanation = "The gradient is multiplied by the slope of the activation at each value."
    formula, explanation = with_previous_delta(trace, r, formula, explanation)

    def build_activation(r, position):
        index = array_index(position, in_shape)
        return dict(in_index=index, a=float(r.a[0][index]),
                    output_grad=None if r.dz is None else float(r.dz[0][index]),  # None: fused with the loss
                    h_prime=None if r.h_prime is None else float(r.h_prime[0][index]),
                    delta=float(r.delta[0][index]), previous=previous(trace, r, index))

    return [StepPlan(ActivationBackward, grid, title, formula, explanation, build_activation)]

