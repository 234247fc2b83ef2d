"""The step-by-step record of one sample: steps, and typed frames inside each step.

``Trace(model, x, y_true)`` runs ONE sample through float64 copies of the model's layers
(``Layer.clone``): forward at inference, the loss, backward, and a preview of the optimizer's
update, whatever dtype the model trains in, so every number shown is the exact math to the
digits shown. It never reads or changes the live layers' caches or gradients (only their
variables, copied once), so it may be built while another thread trains a copy of the model.
``trace.apply_update()`` applies the update to the live model.

Steps, in order
---------------
1. ``forward``: per layer, first to last, the steps its kind module plans;
2. ``loss``: one step (the loss and the first delta);
3. ``backward``: per layer, last to first (Conv2D: weight gradients, then the input gradient);
4. ``update``: one step per trainable parameter array of every trainable layer.

What each layer kind shows lives in its module under ``cnnviz.engine.kinds`` (step plans,
lecture text, frame builders); the frame classes, with every field documented, in
``cnnviz.engine.frames``. Each ``Step`` has a ``frame_grid``: frame ``f`` is the C-order flat
index of its ``position`` in that grid.

Layer records
-------------
``trace.records[k]`` (one per layer) holds read-only float64 arrays with the batch axis of 1:
name, index, layer (the trace's own float64 copy), kind_module, inputs, a (None without
activation), z, dz (dE/dz; None for a fused softmax output), delta (dE/da), input_grad (dE/d
inputs), grads, params, state, update {key: the optimizer's preview}, activation (name or None),
h_prime (h'(a) of an elementwise activation, else None), plus what the kind's ``prepare`` adds
(conv and pooling: pads, strides, window, padded; max pool: switches; average: counts; batch
normalization: mean, variance, x_hat, statistics).
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import functional as F
from .cursor import GRANULARITIES, Cursor  # noqa: F401  (part of this module's API)
from .experiment import single_image_experiment  # noqa: F401  (part of this module's API)
from .kinds import kind_of
from .kinds import loss as loss_kind
from .kinds import update as update_kind
from .kinds.common import keep
from .model import backpropagate, fused_softmax_crossentropy


class LayerRecord:
    """What one layer did to the sample (see the module docstring)."""

    def __init__(self, index: int, layer, input_grad):
        self.index = index
        self.layer = layer
        self.name = layer.name
        self.kind_module = kind_of(layer)
        self.inputs = keep(layer.inputs)
        self.z = keep(layer.z)
        self.a = keep(layer.a) if layer.has_activation else None
        self.dz = keep(layer.dz)
        self.delta = keep(layer.delta)
        self.input_grad = keep(input_grad)
        self.grads = {key: keep(value) for key, value in layer.grads.items()}
        self.params = {key: keep(value) for key, value in layer.params.items()}
        self.state = {key: keep(value) for key, value in layer.state.items()}
        self.update: dict[str, dict] = {}
        self.activation = getattr(layer, "activation", None) if layer.has_activation else None
        self.h_prime = None
        if self.activation is not None and self.activation != "softmax":
            self.h_prime = keep(F.activation_derivative(self.activation, self.a, self.z))
        prepare = getattr(self.kind_module, "prepare", None)
        if prepare is not None:
            prepare(self)


@dataclass
class Step:
    """One step of the lecture: a layer in one phase (see the module docstring)."""

    index: int
    phase: str
    layer_index: int | None
    layer_name: str | None
    kind: str
    title: str
    formula: str
    explanation: str
    frame_grid: tuple
    frame_count: int
    first_frame: int = 0  # global index of frame 0
    param_key: str | None = None
    frame_type: type = None
    build: Callable = field(default=None, repr=False)


class Trace:
    """The lecture record of one sample through a compiled model.

    model: a compiled Sequential; x: one sample (H, W, C) or (1, H, W, C) (any input shape
    the model takes, with or without the batch axis of 1); y_true: a class id or one-hot (K,).
    """

    def __init__(self, model, x, y_true):
        if getattr(model, "optimizer", None) is None or getattr(model, "loss", None) is None:
            raise ValueError("the model is not compiled; call model.compile(optimizer=..., loss=...) first")
        if not model.layers:
            raise ValueError("the model has no layers")
        x = np.asarray(x)
        if x.shape == tuple(model.input_shape):
            x = x[None]
        if x.ndim != len(model.input_shape) + 1 or x.shape[0] != 1:
            raise ValueError(f"a trace takes one sample of shape {tuple(model.input_shape)} "
                             f"(or with a batch axis of 1), got {x.shape}")
        model.check_x(x)
        x = x.astype(np.float64)
        y = np.asarray(y_true)
        y = y.reshape(1) if y.ndim == 0 else (y[None] if y.ndim == 1 and y.shape[0] > 1 else y)
        y = model.check_y(y, 1).astype(np.float64)
        self.model = model
        self.optimizer = model.optimizer
        layers = [layer.clone(np.float64) for layer in model.layers]
        self.fused = fused_softmax_crossentropy(layers, model.loss)
        out = x
        for layer in layers:
            out = layer.forward(out, training=False)
        y_pred = out
        first_input_grad = backpropagate(layers, model.loss, y_pred, y, need_input_grad=True)
        input_grads = [first_input_grad, *(layers[k - 1].dz for k in range(1, len(layers)))]
        self.records = [LayerRecord(k, layer, grad) for k, (layer, grad) in enumerate(zip(layers, input_grads))]
        for record, live in zip(self.records, model.layers):
            if live.trainable:
                for key in record.params:
                    if key in record.grads:
                        record.update[key] = self._preview(record, key)
        self.x = keep(x)
        self.y_true = keep(y)
        self.y_pred = keep(y_pred)
        self.label = int(np.argmax(y[0]))
        self.predicted = int(np.argmax(y_pred[0]))
        last = self.records[-1]
        terms, _, _ = loss_kind.exact_loss(model.loss, self.fused, last.a[0] if last.a is not None else y_pred[0],
                                           y_pred[0], y[0])
        self.loss = float(terms.sum()) + 0.0
        self.applied = False
        self.steps: list[Step] = []
        self._build_steps()
        self._offsets = [step.first_frame for step in self.steps]
        self.total_frames = self.steps[-1].first_frame + self.steps[-1].frame_count

    def _preview(self, record, key):
        """The optimizer's own preview of one update, in float64, with the trace's W and gradient."""
        preview = self.optimizer.preview(record.layer, key)
        keep_state = lambda state: {name: keep(v) if isinstance(v, np.ndarray) else v  # noqa: E731
                                    for name, v in state.items()}
        return {"param": record.params[key], "grad": keep(preview["grad"]),
                "learning_rate": preview["learning_rate"], "state_before": keep_state(preview["state_before"]),
                "state_after": keep_state(preview["state_after"]), "step": keep(preview["step"]),
                "param_after": keep(preview["param_after"])}

    # ------------------------------------------------------------------ steps
    def _add(self, phase, record, plan) -> None:
        grid = tuple(int(n) for n in plan.grid)
        first = self.steps[-1].first_frame + self.steps[-1].frame_count if self.steps else 0
        self.steps.append(Step(
            index=len(self.steps), phase=phase, layer_index=None if record is None else record.index,
            layer_name=self.records[-1].name if record is None else record.name, kind=plan.frame_type.kind,
            title=plan.title, formula=plan.formula, explanation=plan.explanation, frame_grid=grid,
            frame_count=math.prod(grid), first_frame=first, param_key=plan.param_key, frame_type=plan.frame_type,
            build=plan.build))

    def _build_steps(self) -> None:
        for record in self.records:
            for plan in record.kind_module.forward_steps(self, record):
                self._add("forward", record, plan)
        for plan in loss_kind.steps(self):  # layer_name: the layer whose delta the loss step produces
            self._add("loss", None, plan)
        for record in reversed(self.records):
            for plan in record.kind_module.backward_steps(self, record):
                self._add("backward", record, plan)
        for record in self.records:
            for key in record.update:
                for plan in update_kind.steps(self, record, key):
                    self._add("update", record, plan)

    # ------------------------------------------------------------------ frames
    def global_index(self, step: int, frame: int) -> int:
        self._check(step, frame)
        return self.steps[step].first_frame + frame

    def locate(self, index: int) -> tuple[int, int]:
        """(step, frame) of a global frame index."""
        if not isinstance(index, (int, np.integer)) or not 0 <= index < self.total_frames:
            raise ValueError(f"global frame index must be an int in [0, {self.total_frames - 1}], got {index!r}")
        step = bisect.bisect_right(self._offsets, int(index)) - 1
        return step, int(index) - self._offsets[step]

    def _check(self, step, frame):
        if not isinstance(step, (int, np.integer)) or not 0 <= step < len(self.steps):
            raise ValueError(f"step must be an int in [0, {len(self.steps) - 1}], got {step!r}")
        count = self.steps[step].frame_count
        if not isinstance(frame, (int, np.integer)) or not 0 <= frame < count:
            raise ValueError(f"step {step} has frames [0, {count - 1}], got {frame!r}")

    def frame(self, step: int, frame: int):
        """The typed frame (``cnnviz.engine.frames``) of one moment; O(1): a few small slices."""
        self._check(step, frame)
        s = self.steps[step]
        position = tuple(int(p) for p in np.unravel_index(int(frame), s.frame_grid))
        record = None if s.layer_index is None else self.records[s.layer_index]
        return s.frame_type(step=int(step), index=int(frame), position=position,
                            layer=None if record is None else record.name, layer_index=s.layer_index,
                            **s.build(record, position))

    def frame_at(self, index: int):
        return self.frame(*self.locate(index))

    # ------------------------------------------------------------------ update
    def apply_update(self) -> None:
        """Apply the update the trace shows to the live model: parameters become ``param_after``,
        optimizer state becomes ``state_after`` (one optimizer step on this sample's gradients),
        in the model's dtype.

        Raises ValueError (changing nothing) when already applied or when the model's
        parameters or optimizer changed since the trace was built.
        """
        if self.applied:
            raise ValueError("this trace's update was already applied; build a new trace for the next step")
        if self.model.optimizer is not self.optimizer:
            raise ValueError("the model was recompiled since this trace was built; build a new trace")
        live = {record.name: self.model.get_layer(record.name) for record in self.records}
        for record in self.records:
            for key, preview in record.update.items():
                if not np.array_equal(live[record.name].params[key], preview["param"]):
                    raise ValueError(f"the weights of {record.name} changed since this trace was built; "
                                     "build a new trace")
        for record in self.records:
            for key, preview in record.update.items():
                param = live[record.name].params[key]
                np.copyto(param, preview["param_after"], casting="unsafe")
                self.optimizer.states[(record.name, key)] = {
                    name: np.array(value, dtype=param.dtype) if isinstance(value, np.ndarray) else value
                    for name, value in preview["state_after"].items()}
        self.applied = True


def step_frame_index(position, step) -> int:
    """The frame index of ``position`` in ``step.frame_grid`` (C order)."""
    return int(np.ravel_multi_index(position, step.frame_grid))

