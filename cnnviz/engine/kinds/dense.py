"""Dense: one frame per neuron forward, one per input on the way back (Wᵀδ)."""
from __future__ import annotations

from ..frames import DenseBackward, DenseForward, SumTerms
from ..layers import Dense
from .common import StepPlan, layer_title, previous, with_previous_delta

LAYER_TYPES = (Dense,)


def forward_steps(trace, r):
    formula = f"aᵏ[j] = Σi zᵏ⁻¹[i] · W[i,j] + b[j];  zᵏ[j] = {r.activation}(aᵏ[j])"
    explanation = ("Each neuron multiplies every input by its own weight, adds them up with its bias, "
                   "and passes the sum through the activation.")

    def build(r, position):
        (j,) = position
        inputs, weights = r.inputs[0], r.params["kernel"][:, j]
        terms = SumTerms.of(weights, inputs)
        return dict(neuron=j, inputs=inputs, weights=weights, terms=terms, largest=int(terms.order[0]),
                    sum=terms.total, bias=float(r.params["bias"][j]) if "bias" in r.params else 0.0,
                    a=float(r.a[0, j]), z=float(r.z[0, j]), activation=r.activation)

    return [StepPlan(DenseForward, r.z.shape[1:], layer_title("Forward", r), formula, explanation, build)]


def backward_steps(trace, r):
    formula = ("∂E/∂zᵏ⁻¹[i] = Σj W[i,j] · δᵏ[j]  (Wᵀδ);  ∂E/∂W[i,j] = zᵏ⁻¹[i] · δᵏ[j];  "
               "∂E/∂b[j] = δᵏ[j]")
    explanation = ("Each input receives the deltas of all neurons it feeds, weighted by the connecting "
                   "weights; the gradient of a weight is its input times its neuron's delta.")
    formula, explanation = with_previous_delta(trace, r, formula, explanation)

    def build(r, position):
        (i,) = position
        weights, deltas = r.params["kernel"][i, :], r.delta[0]
        terms = SumTerms.of(weights, deltas)
        return dict(in_index=i, weights=weights, deltas=deltas, terms=terms, sum=terms.total,
                    input=float(r.inputs[0, i]), weight_grads=r.inputs[0, i] * deltas,
                    bias_grads=deltas if "bias" in r.params else None, previous=previous(trace, r, (i,)))

    return [StepPlan(DenseBackward, r.inputs.shape[1:], layer_title("Backward", r), formula, explanation, build)]


def update_grid(key, param_shape):
    """Kernels (n_in, units) are walked neuron by neuron: grid (units, n_in)."""
    return (param_shape[1], param_shape[0]) if key == "kernel" else None


def update_slice(key, param_shape, position):
    if key != "kernel":
        return None
    j, i = position
    return (i, j), (slice(None), j), (i,), f"[:, {j}] (input {i} of neuron {j})"
