"""The update steps: one per trainable parameter array, one frame per weight."""
from __future__ import annotations

import numpy as np

from ..frames import Update
from .common import StepPlan

EXPLANATION = ("Every weight moves a small step against its gradient, scaled by the learning rate "
               "(and by the optimizer's running statistics), so the loss on this sample goes down.")


def update_formula(optimizer) -> str:
    name = optimizer.name
    if name == "sgd" and optimizer.momentum:
        if optimizer.nesterov:
            rule = "v' = μ·v − η·g;  W' = W + μ·v' − η·g"
        else:
            rule = "v' = μ·v − η·g;  W' = W + v'"
    elif name == "sgd":
        rule = "W' = W − η·g"
    elif name == "adagrad":
        rule = "G' = G + g²;  W' = W − η·g / (√G' + ε)"
    elif name == "rmsprop":
        rule = "s' = ρ·s + (1−ρ)·g²;  W' = W − η·g / (√s' + ε)"
    elif name == "adam":
        rule = ("m' = β₁·m + (1−β₁)·g;  v' = β₂·v + (1−β₂)·g²;  "
                "W' = W − η·(m'/(1−β₁ᵗ)) / (√(v'/(1−β₂ᵗ)) + ε)")
    else:
        rule = "W' = W + step(g, state)"
    if optimizer.weight_decay:
        return f"g = ∂E/∂W + λ·W (kernels; biases: g = ∂E/∂W);  {rule}"
    return f"g = ∂E/∂W;  {rule}"


def _placement(kind_module, key, shape, position):
    """(array index, slice drawn, cell in the slice, label) of a weight; the kind may say."""
    placed = getattr(kind_module, "update_slice", lambda *_: None)(key, shape, position)
    if placed is not None:
        return placed
    if len(shape) == 1:
        return tuple(position), (slice(None),), tuple(position), ""
    return tuple(position), tuple(slice(None) for _ in shape), tuple(position), ""


def steps(trace, record, key):
    kind = record.kind_module
    shape = record.params[key].shape
    grid = getattr(kind, "update_grid", lambda *_: None)(key, shape) or shape
    optimizer = trace.optimizer
    preview = record.update[key]
    plain_sgd = optimizer.name == "sgd" and not optimizer.momentum
    decay = optimizer.weight_decay if key == "kernel" else 0.0

    def pick(state, index):
        return {name: (float(value[index]) if isinstance(value, np.ndarray) else value)
                for name, value in state.items()}

    def build(r, position):
        index, drawn, cell, label = _placement(kind, key, shape, position)
        param = float(preview["param"][index])
        return dict(param_key=key, param_index=index, label=label, cell=cell, param=param,
                    grad=float(r.grads[key][index]), weight_decay=decay, decay_term=decay * param,
                    effective_grad=float(preview["grad"][index]), learning_rate=preview["learning_rate"],
                    optimizer=optimizer.name, settings=optimizer.get_config(), plain_sgd=plain_sgd,
                    state_before=pick(preview["state_before"], index),
                    state_after=pick(preview["state_after"], index), change=float(preview["step"][index]),
                    param_after=float(preview["param_after"][index]),
                    param_slice=preview["param"][drawn], grad_slice=r.grads[key][drawn],
                    change_slice=preview["step"][drawn], after_slice=preview["param_after"][drawn])

    return [StepPlan(Update, grid, f"Update: {record.name} {key}", update_formula(optimizer), EXPLANATION, build,
                     param_key=key)]
