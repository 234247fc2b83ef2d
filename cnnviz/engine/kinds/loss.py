"""The loss step: the loss of the sample and the first delta (one frame)."""
from __future__ import annotations

import numpy as np

from ..frames import Folded, Loss
from ..losses import EPSILON
from .common import StepPlan


def exact_loss(loss_name: str, fused: bool, logits, outputs, target):
    """Per-class terms of the loss of one sample, in float64, and log p[label] (cross-entropy).

    Fused softmax + cross-entropy is computed from the log-softmax of the logits, so a tiny
    probability gives its true loss (training clips p at 1e-7 as Keras does; the delta p − y is
    the gradient of the unclipped loss). A cross-entropy on another output has to clip: the
    frame says so."""
    if loss_name == "mean_squared_error":
        return (outputs - target) ** 2 / outputs.size, None, False
    if fused:
        log_p = logits - logits.max() - np.log(np.exp(logits - logits.max()).sum())
        clipped = False
    else:
        log_p = np.log(np.clip(outputs, EPSILON, 1.0))
        clipped = bool(np.any(outputs[target > 0] < EPSILON))
    terms = -target * log_p + 0.0
    label = int(np.argmax(target))
    return terms, float(log_p[label]), clipped


def steps(trace):
    last = trace.records[-1]
    name, fused = trace.model.loss, trace.fused
    if fused:
        title = "Loss: softmax + cross-entropy"
        formula = "p = softmax(aᴸ);  E = −Σk y[k] · log p[k];  δᴸ = ∂E/∂aᴸ = p − y"
        explanation = ("The softmax turns the last layer's scores into probabilities; the loss is minus the "
                       "log of the probability given to the true class. Its gradient with respect to the "
                       "scores is simply predicted minus true probabilities: the first delta. (The loss "
                       "is a batch mean; for one sample its 1/N factor is 1.)")
    else:
        title = f"Loss: {name.replace('_', ' ')}"
        if name == "mean_squared_error":
            formula = "E = (1/K) Σk (zᴸ[k] − y[k])²;  ∂E/∂zᴸ = 2·(zᴸ − y)/K"
        else:
            formula = "E = −Σk y[k] · log zᴸ[k];  ∂E/∂zᴸ = −y / zᴸ"
        if last.activation == "softmax":
            formula += ";  δᴸ = Jᵀ ∂E/∂zᴸ (softmax Jacobian)"
            explanation = ("The loss compares the output with the target. A softmax output mixes all its "
                           "inputs, so the first delta is its Jacobian times ∂E/∂z: "
                           "δ[k] = z[k]·(g[k] − Σj z[j]·g[j]).")
        else:
            formula += ";  δᴸ = h'(aᴸ) ⊙ ∂E/∂zᴸ"
            explanation = ("The loss compares the output with the target; its derivative with respect to the "
                           "output, times the derivative of the last activation, is the first delta.")

    def build(record, position):
        outputs, target = trace.y_pred[0], trace.y_true[0]
        logits = last.a[0] if last.a is not None else outputs
        terms, log_p_label, clipped = exact_loss(name, fused, logits, outputs, target)
        return dict(loss_name=name, fused=fused, logits=logits, outputs=outputs, target=target,
                    label=trace.label, predicted=trace.predicted, terms=Folded.of(terms), log_p_label=log_p_label,
                    clipped=clipped, clip=EPSILON, loss=trace.loss, output_grad=None if last.dz is None else last.dz[0],
                    h_prime=None if fused or last.h_prime is None else last.h_prime[0],
                    jacobian=not fused and last.activation == "softmax", activation=last.activation or "linear",
                    delta=last.delta[0])

    return [StepPlan(Loss, (1,), title, formula, explanation, build)]
