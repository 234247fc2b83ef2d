"""The step-by-step record of one sample: steps, and frames inside each step.

``Trace(model, x, y_true)`` runs ONE sample through the model's own vectorized
``forward(training=False)`` and ``backward`` and keeps read-only copies of every tensor the
lecture needs (build it while no other thread trains the model: it uses the layers' caches).
It never recomputes the math its own way: a frame only indexes, slices and multiplies cached
tensors to show how one number came about (and tests check that those numbers add up to the
vectorized results). Building a trace leaves the model's parameters, gradients and optimizer
state as they were; ``trace.apply_update()`` applies the update.

Steps, in order
---------------
1. ``forward`` one step per layer (first to last);
2. ``loss`` one step (softmax/loss and the first delta);
3. ``backward`` per layer, last to first. A Conv2D layer has two backward steps: first its
   weight gradients (``conv_backward_weight``), then the gradient of its input
   (``conv_backward_input``). Every other layer has one;
4. ``update`` one step per trainable parameter array (``kernel``, then ``bias``) of every
   trainable layer, first layer to last (``Step.param_key`` says which array).

Each ``Step`` has a ``frame_grid``: frame index ``f`` is the C-order flat index of the frame's
``position`` in that grid (``numpy.unravel_index(f, frame_grid)``). Grids per frame kind:

==========================  =============================  =================================
frame kind                  frame_grid                     position
==========================  =============================  =================================
conv_forward                (C', Ho, Wo)                   (c', i, j) output cell
maxpool/avgpool_forward     (C, Ho, Wo)                    (c, i, j) output cell
dense_forward               (units,)                       (j,) neuron
flatten_forward             input shape, e.g. (H, W, C)    (i, j, c): frame f -> output z[f]
dropout/activation_forward  (C, H, W) or (n,)              (c, i, j) or (k,) element
loss                        (1,)                           (0,)
conv_backward_weight        (C', C, kh, kw)                (c', c, m, n) -> w[m, n, c, c']
conv_backward_input         (C, H, W) of the layer input   (c, i, j) input cell
maxpool/avgpool_backward    (C, Ho, Wo)                    (c, i, j) pooling window
dense_backward              (n_in,)                        (i,) input
flatten_backward            input shape, e.g. (H, W, C)    (i, j, c)
dropout/activation_backward (C, H, W) or (n,)              (c, i, j) or (k,) element
update (conv kernel)        (C', C, kh, kw)                (c', c, m, n) -> w[m, n, c, c']
update (dense kernel)       (units, n_in)                  (j, i) -> W[i, j]
update (bias)               (units,) / (C',)               (j,)
==========================  =============================  =================================

Frame dictionaries
------------------
``trace.frame(step, frame)`` returns a new dict (O(1): a few small slices). Arrays may be
read-only views of the cached tensors; copy them before changing them. Every frame has:

- ``kind``, ``step`` (step index), ``index`` (frame index), ``position`` (tuple in frame_grid),
  ``layer`` (layer name, None for the loss), ``layer_index`` (None for the loss).

Spatial windows use *input coordinates*: ``rows`` (kh,) and ``cols`` (kw,) are the input
row/column each window row/column covers; they are negative or >= H/W on padding cells,
which ``padding_mask`` (kh, kw) marks True.

conv_forward
    out_index (i, j, c'); rows (kh,), cols (kw,), padding_mask (kh, kw); patch (kh, kw, C)
    input values (0 on padding); kernel (kh, kw, C) = w[:, :, :, c']; products (kh, kw, C);
    channel_sums (C,) = products summed over (m, n); sum (float) = channel_sums.sum();
    bias (float, 0.0 without bias); a = sum + bias (the model's a[i, j, c']); z = h(a);
    activation (name); stride (sh, sw).
maxpool_forward
    out_index (i, j, c); rows, cols, padding_mask; window (ph, pw) input values (-inf on
    padding: it never wins); winner (m, n) inside the window (first maximum in row-major
    order, as the engine); winner_input (row, col) in the input; z (float) the output.
avgpool_forward
    out_index, rows, cols, padding_mask; window (ph, pw) (0 on padding); count (int) real
    cells; sum (float); z (float) = sum / count.
dense_forward
    neuron j; inputs (n_in,); weights (n_in,) = W[:, j]; products (n_in,); order (n_in,)
    input indices by |product|, largest first; sum; bias; a; z; activation.
flatten_forward
    in_index (i, j, c); out_index k; value (the same number on both sides).
dropout_forward
    in_index; value; z (equal: a trace runs at inference, where dropout passes everything);
    rate.
activation_forward
    in_index; a; z = h(a); activation.
loss
    loss_name; fused (bool: softmax + cross-entropy, differentiated together); logits (K,)
    the last layer's a; probabilities (K,) = y_pred; target (K,) one-hot; label, predicted
    (int); terms (K,) per-class contributions to the loss (cross-entropy: -y log p);
    loss (float); output_grad (K,) dE/dz of the output (None when fused); h_prime (K,) or
    None; delta (K,) dE/da of the last layer (fused: p - y, the batch-mean scale 1/N is 1).
conv_backward_weight
    weight_index (m, n, c, c'); delta_map (Ho, Wo) = delta[:, :, c'] of this layer;
    rows (Ho,), cols (Wo,) the input cells z[i*sh+m-top, j*sw+n-left, c] that weight
    multiplied; padding_mask (Ho, Wo); window (Ho, Wo) their values (0 on padding);
    products (Ho, Wo) = delta_map * window; grad (float) = products.sum() = dE/dw[m,n,c,c'];
    bias_grad (float) = delta_map.sum() = dE/db[c'] (None without bias).
conv_backward_input
    in_index (i, j, c) of this layer's input; out_rows (kh,), out_cols (kw,): the output row
    reached by kernel row m (and column by n), -1 where none (stride/borders); valid (kh, kw);
    deltas (kh, kw, C') this layer's delta at those output cells (0 where invalid); kernel
    (kh, kw, C') = w[:, :, c, :]; products (kh, kw, C'); channel_sums (C',); sum (float) =
    dE/dz[i, j, c] of the input (the layer's input gradient). The full-convolution picture:
    flipped_kernel = kernel[::-1, ::-1] and delta_window = deltas[::-1, ::-1] (the delta cells
    at rows out_rows[::-1], cols out_cols[::-1]; ascending) multiply cell by cell to the same
    products, flipped. Plus the previous-layer terms below.
maxpool_backward / avgpool_backward
    out_index (i, j, c) of the window; rows, cols, padding_mask; delta (float) = dE/dz of
    that output cell; routed (ph, pw) what this window sends to each cell (max: delta at
    ``winner``, zeros elsewhere; average: delta / count on real cells); winner (max) or
    count (avg); input_grad (ph, pw) the total gradient of those input cells after all
    windows (0 on padding); plus the previous-layer terms as (ph, pw) arrays (NaN on padding).
dense_backward
    in_index i; weights (units,) = W[i, :]; deltas (units,) this layer's delta; products;
    sum (float) = (W delta)[i] = dE/dz[i] of the input; input (float) z[i];
    weight_grads (units,) = input * deltas = dE/dW[i, :]; bias_grads (units,) = deltas (None
    without bias);
    plus the previous-layer terms.
flatten_backward / dropout_backward
    in_index; out_index (flatten); output_grad (float) dE/d output; input_grad (float) the same
    number in the input's shape; plus the previous-layer terms.
activation_backward
    in_index; a; output_grad; h_prime; delta = h_prime * output_grad (= the input gradient);
    plus the previous-layer terms.
update
    param_key ("kernel"/"bias"); param_index (index into the parameter array); param (W);
    grad (dE/dW from backprop); weight_decay; effective_grad (grad + weight_decay * W on
    kernels: what the optimizer uses); learning_rate; optimizer (name); settings (the
    optimizer's get_config()); state_before / state_after ({name: value} of this weight, e.g.
    velocity, accumulator, m, v; Adam's t is a shared int; empty for plain SGD);
    change (the step the optimizer adds); param_after (W' = W + change, equal to the weight
    after apply_update()).

Layer records
-------------
``trace.records[k]`` (one per layer) holds read-only copies, batch axis 1 kept: name, index,
layer (the live Layer), kind ("conv", "maxpool", "avgpool", "flatten", "dense", "dropout",
"activation"), inputs, a (None without activation), z, switches (max pool), dz (dE/dz; None
for a fused softmax output), delta (dE/da), input_grad (dE/d inputs), grads, params (as they
were when the trace was built), update {key: the optimizer's preview dict}, activation (name or
None), h_prime (h'(a) or None). Conv and pooling records add pads, strides, window (kernel or
pool size), padded (the padded input without batch axis), and average pooling counts (Ho, Wo).

Previous-layer terms (input-gradient frames): prev_layer (name or None for the model input),
prev_activation (name, or None when that layer has no activation), prev_h_prime = h'(a) of
the previous layer at that cell, prev_delta = that layer's delta = prev_h_prime * input
gradient. prev_activation, prev_h_prime and prev_delta are None when the previous layer has
no activation (its delta is the gradient itself) or it is a softmax (no elementwise derivative).
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import numpy as np

from . import functional as F
from .experiment import single_image_experiment  # noqa: F401  (part of this module's API)
from .layers import Activation, AveragePooling2D, Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from .losses import EPSILON

GRANULARITIES = ("frame", "row", "channel", "step", "phase", "pass")

KINDS = {Conv2D: "conv", MaxPooling2D: "maxpool", AveragePooling2D: "avgpool", Flatten: "flatten",
         Dense: "dense", Dropout: "dropout", Activation: "activation"}


def _keep(array):
    """A read-only copy, so frames can hand out views safely."""
    if array is None:
        return None
    copy = np.array(array, copy=True)
    copy.setflags(write=False)
    return copy


def _keep_state(state: dict) -> dict:
    return {name: _keep(value) if isinstance(value, np.ndarray) else value for name, value in state.items()}


class LayerRecord:
    """What one layer did to the sample. Arrays keep the batch axis of 1: inputs (1, ...)."""

    def __init__(self, index, layer, input_grad):
        self.index = index
        self.layer = layer
        self.name = layer.name
        self.kind = KINDS.get(type(layer))
        if self.kind is None:
            raise ValueError(f"the trace does not know layer type {type(layer).__name__}")
        self.inputs = _keep(layer.inputs)
        self.z = _keep(layer.z)
        self.a = _keep(layer.a) if layer.has_activation else None
        self.switches = _keep(layer.switches) if self.kind == "maxpool" else None
        self.dz = _keep(layer.dz)
        self.delta = _keep(layer.delta)
        self.input_grad = _keep(input_grad)
        self.grads = {key: _keep(value) for key, value in layer.grads.items()}
        self.params = {key: _keep(value) for key, value in layer.params.items()}
        self.update: dict[str, dict] = {}
        self.activation = getattr(layer, "activation", None) if layer.has_activation else None
        self.h_prime = None
        if self.activation is not None and self.activation != "softmax":
            self.h_prime = _keep(F.activation_derivative(self.activation, self.a, self.z))
        if self.kind in ("conv", "maxpool", "avgpool"):
            self.pads = layer.pads
            self.strides = layer.strides
            self.window = layer.kernel_size if self.kind == "conv" else layer.pool_size
            fill = -np.inf if self.kind == "maxpool" else 0.0
            self.padded = _keep(F.pad_nhwc(self.inputs, self.pads, value=fill)[0])
            self.padded_shape = self.padded.shape
        if self.kind == "avgpool":
            self.counts = layer.counts


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


def _spatial_grid(shape):
    """Channel-major grid for elementwise frames: (H, W, C) -> (C, H, W); (n,) stays."""
    return (shape[2], shape[0], shape[1]) if len(shape) == 3 else tuple(shape)


def _array_index(position, shape):
    """Inverse of ``_spatial_grid``: the array index of a frame position."""
    return (position[1], position[2], position[0]) if len(shape) == 3 else tuple(position)


def _shifted(symbol, stride, pad, offset):
    text = f"{stride}·{symbol}+{offset}" if stride > 1 else f"{symbol}+{offset}"
    return f"{text}−{pad}" if pad else text


def _reached(symbol, stride, pad, offset):
    """The output index whose window puts kernel ``offset`` on input cell ``symbol``."""
    text = f"{symbol}+{pad}−{offset}" if pad else f"{symbol}−{offset}"
    return f"({text})/{stride}" if stride > 1 else text


def _update_formula(optimizer) -> str:
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
        rule = f"g = ∂E/∂W + λ·W (kernels);  {rule}"
    return rule


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
        x = model.check_x(x)
        y = np.asarray(y_true)
        y = y.reshape(1) if y.ndim == 0 else (y[None] if y.ndim == 1 and y.shape[0] > 1 else y)
        y = model.check_y(y, 1)
        self.model = model
        self.optimizer = model.optimizer
        saved_grads = [layer.grads for layer in model.layers]
        try:
            y_pred = model.forward(x, training=False)
            self.loss = float(model.compute_loss(y_pred, y))
            first_input_grad = model.backward(y, need_input_grad=True)
            layers = model.layers
            input_grads = [first_input_grad, *(layers[k - 1].dz for k in range(1, len(layers)))]
            self.records = [LayerRecord(k, layer, grad)
                            for k, layer, grad in zip(range(len(layers)), layers, input_grads)]
            for record in self.records:
                layer = record.layer
                if layer.trainable:
                    for key in layer.params:
                        if key in layer.grads:
                            record.update[key] = self._preview(record, key)
        finally:
            for layer, grads in zip(model.layers, saved_grads):
                layer.grads = grads
        self.x = _keep(x)
        self.y_true = _keep(y)
        self.y_pred = _keep(y_pred)
        self.label = int(np.argmax(y[0]))
        self.predicted = int(np.argmax(y_pred[0]))
        self.applied = False
        self.steps: list[Step] = []
        self._build_steps()
        self._offsets = [step.first_frame for step in self.steps]
        self.total_frames = self.steps[-1].first_frame + self.steps[-1].frame_count

    def _preview(self, record, key):
        """The optimizer's own preview of one update, with the trace's copies of W and its gradient."""
        layer = record.layer
        preview = self.optimizer.preview(layer, key)
        grad = record.grads[key] if preview["grad"] is layer.grads[key] else _keep(preview["grad"])
        return {"param": record.params[key], "grad": grad, "learning_rate": preview["learning_rate"],
                "state_before": _keep_state(preview["state_before"]),
                "state_after": _keep_state(preview["state_after"]),
                "step": _keep(preview["step"]), "param_after": _keep(preview["param_after"])}

    # ------------------------------------------------------------------ steps
    def _add(self, phase, record, kind, grid, title, formula, explanation, param_key=None):
        grid = tuple(int(n) for n in grid)
        first = self.steps[-1].first_frame + self.steps[-1].frame_count if self.steps else 0
        self.steps.append(Step(
            index=len(self.steps), phase=phase, layer_index=None if record is None else record.index,
            layer_name=None if record is None else record.name, kind=kind, title=title, formula=formula,
            explanation=explanation, frame_grid=grid, frame_count=math.prod(grid), first_frame=first,
            param_key=param_key))

    def _build_steps(self):
        for record in self.records:
            self._add_forward(record)
        self._add_loss()
        for record in reversed(self.records):
            self._add_backward(record)
        for record in self.records:
            for key in record.update:
                self._add_update(record, key)

    def _add_forward(self, r):
        layer = r.layer
        title = f"Forward: {r.name} ({layer.describe()})"
        in_shape = r.inputs.shape[1:]
        out_shape = r.z.shape[1:]
        if r.kind == "conv":
            (sh, sw), ((top, _), (left, _)) = r.strides, r.pads
            formula = (f"a[i,j,c'] = Σc Σm Σn w[m,n,c,c'] · z[{_shifted('i', sh, top, 'm')}, "
                       f"{_shifted('j', sw, left, 'n')}, c] + b[c'];  z'[i,j,c'] = {r.activation}(a[i,j,c'])")
            explanation = ("Each output cell is a window of the input multiplied cell by cell with one filter, "
                           "summed over the window and all input channels, plus the filter's bias; "
                           "the activation then gives the feature map.")
            if any(any(p) for p in r.pads):
                explanation += " Windows may hang over the border, where the input is padded with zeros."
            self._add("forward", r, "conv_forward", (out_shape[2], out_shape[0], out_shape[1]), title, formula,
                      explanation)
        elif r.kind in ("maxpool", "avgpool"):
            (sh, sw), ((top, _), (left, _)) = r.strides, r.pads
            cell = f"x[{_shifted('i', sh, top, 'm')}, {_shifted('j', sw, left, 'n')}, c]"
            if r.kind == "maxpool":
                formula = f"z[i,j,c] = max over (m,n) of {cell}"
                explanation = ("Each output cell keeps the largest value of its window, channel by channel; "
                               "the position of the winner is remembered for the backward pass.")
            else:
                formula = f"z[i,j,c] = (1/count) Σm Σn {cell}"
                explanation = ("Each output cell is the mean of its window, channel by channel "
                               "(padding cells are not counted).")
            self._add("forward", r, f"{r.kind}_forward", (out_shape[2], out_shape[0], out_shape[1]), title,
                      formula, explanation)
        elif r.kind == "dense":
            formula = f"a[j] = Σi z[i] · W[i,j] + b[j];  z'[j] = {r.activation}(a[j])"
            explanation = ("Each neuron multiplies every input by its own weight, adds them up with its bias, "
                           "and passes the sum through the activation.")
            self._add("forward", r, "dense_forward", out_shape, title, formula, explanation)
        elif r.kind == "flatten":
            formula = "z[k] = x[i,j,c] with k = (i·W + j)·C + c" if len(in_shape) == 3 else "z[k] = x[k]"
            explanation = ("Flatten only lays the feature maps out as one long vector (row by row, channels "
                           "innermost) so that a dense layer can read them; no numbers change.")
            self._add("forward", r, "flatten_forward", in_shape, title, formula, explanation)
        elif r.kind == "dropout":
            formula = f"z = x  (training: z = x · mask / (1 − {layer.rate:g}))"
            explanation = ("While training, dropout switches off a random fraction of the values and scales "
                           "the rest up; when the network is used, as here, it passes everything unchanged.")
            self._add("forward", r, "dropout_forward", _spatial_grid(in_shape), title, formula, explanation)
        else:
            formula = f"z = {r.activation}(a)"
            explanation = "The activation function is applied to every value on its own."
            self._add("forward", r, "activation_forward", _spatial_grid(in_shape), title, formula, explanation)

    def _add_loss(self):
        last = self.records[-1]
        fused = self.model.fused_softmax_crossentropy()
        name = self.model.loss
        if fused:
            title = "Loss: softmax + cross-entropy"
            formula = "p = softmax(a);  E = −Σk y[k] · log p[k];  δ = ∂E/∂a = p − y"
            explanation = ("The softmax turns the last layer's scores into probabilities; the loss is minus the "
                           "log of the probability given to the true class. Its gradient with respect to the "
                           "scores is simply predicted minus true probabilities: the first delta. (The loss "
                           "is a batch mean; for one sample its 1/N factor is 1.)")
        else:
            title = f"Loss: {name.replace('_', ' ')}"
            if name == "mean_squared_error":
                formula = "E = (1/K) Σk (z[k] − y[k])²;  ∂E/∂z = 2·(z − y)/K;  δ = h'(a) ⊙ ∂E/∂z"
            else:
                formula = "E = −Σk y[k] · log z[k];  ∂E/∂z = −y / z;  δ = h'(a) ⊙ ∂E/∂z"
            explanation = ("The loss compares the output with the target; its derivative with respect to the "
                           "output, times the derivative of the last activation, is the first delta.")
        self._add("loss", None, "loss", (1,), title, formula, explanation)
        self.steps[-1].layer_name = last.name  # the layer whose delta the loss step produces

    def _with_previous_delta(self, r, formula, explanation):
        """Mention the previous layer's delta h'(a) ⊙ gradient when its frames show it."""
        prev = self.records[r.index - 1] if r.index > 0 else None
        if prev is None or prev.h_prime is None:
            return formula, explanation
        formula += f";  δ of {prev.name} = {prev.activation}'(a) ⊙ ∂E/∂x"
        explanation += (f" Multiplied by the slope of {prev.name}'s {prev.activation}, the gradient becomes "
                        f"the delta of {prev.name}.")
        return formula, explanation

    def _add_backward(self, r):
        layer = r.layer
        in_shape = r.inputs.shape[1:]
        base = f"Backward: {r.name} ({layer.describe()})"
        if r.kind == "conv":
            kh, kw = r.window
            c_in, c_out = in_shape[2], r.z.shape[3]
            (sh, sw), ((top, _), (left, _)) = r.strides, r.pads
            formula = (f"∂E/∂w[m,n,c,c'] = Σi Σj δ[i,j,c'] · z[{_shifted('i', sh, top, 'm')}, "
                       f"{_shifted('j', sw, left, 'n')}, c];  ∂E/∂b[c'] = Σi Σj δ[i,j,c']")
            explanation = ("The gradient of one weight is the delta map of its filter multiplied cell by cell "
                           "with the input cells that weight touched in the forward pass, summed; the bias "
                           "gradient is the sum of the delta map.")
            self._add("backward", r, "conv_backward_weight", (c_out, c_in, kh, kw), f"{base}: weight gradients",
                      formula, explanation)
            prev = self.records[r.index - 1] if r.index > 0 else None
            formula = (f"∂E/∂zᵏ[i,j,c] = Σc' Σm Σn δᵏ⁺¹[{_reached('i', sh, top, 'm')}, "
                       f"{_reached('j', sw, left, 'n')}, c'] · w[m,n,c,c']")
            if max(sh, sw) > 1:
                formula += "  (only whole, in-range indices)"
            if prev is not None and prev.h_prime is not None:
                formula += f";  δᵏ[i,j,c] = {prev.activation}'(aᵏ[i,j,c]) · ∂E/∂zᵏ[i,j,c]"
            target = f"the output of {prev.name} (layer k)" if prev is not None else "the input image"
            explanation = (f"Each input cell collects the deltas of this layer (k+1) from every output cell "
                           f"whose window covered it, weighted by the kernel weight that linked them: a "
                           f"convolution with the flipped kernel. This is the gradient of {target}.")
            if prev is not None and prev.h_prime is not None:
                explanation += (f" Multiplied by the derivative of {prev.name}'s {prev.activation} it becomes "
                                f"the delta δᵏ of {prev.name}.")
            self._add("backward", r, "conv_backward_input", _spatial_grid(in_shape), f"{base}: deltas to the input",
                      formula, explanation)
        elif r.kind in ("maxpool", "avgpool"):
            if r.kind == "maxpool":
                formula = "∂E/∂x[cell] = Σ over windows whose maximum is the cell of δ[i,j,c]  (0 elsewhere)"
                explanation = ("Only the winner of each window influenced the output, so the window's delta goes "
                               "back to that one cell and every other cell gets zero.")
            else:
                formula = "∂E/∂x[cell] = Σ over windows containing the cell of δ[i,j,c] / count"
                explanation = "Every cell of a window contributed equally to its mean, so the delta is shared evenly."
            grid = (r.z.shape[3], r.z.shape[1], r.z.shape[2])
            formula, explanation = self._with_previous_delta(r, formula, explanation)
            self._add("backward", r, f"{r.kind}_backward", grid, base, formula, explanation)
        elif r.kind == "dense":
            formula = "∂E/∂x[i] = Σj W[i,j] · δ[j]  (Wᵀδ);  ∂E/∂W[i,j] = x[i] · δ[j];  ∂E/∂b[j] = δ[j]"
            explanation = ("Each input receives the deltas of all neurons it feeds, weighted by the connecting "
                           "weights; the gradient of a weight is its input times its neuron's delta.")
            formula, explanation = self._with_previous_delta(r, formula, explanation)
            self._add("backward", r, "dense_backward", in_shape, base, formula, explanation)
        elif r.kind == "flatten":
            formula = "∂E/∂x[i,j,c] = ∂E/∂z[k],  k = (i·W + j)·C + c" if len(in_shape) == 3 else "∂E/∂x = ∂E/∂z"
            explanation = "The gradient vector is folded back into the shape of the feature maps."
            formula, explanation = self._with_previous_delta(r, formula, explanation)
            self._add("backward", r, "flatten_backward", in_shape, base, formula, explanation)
        elif r.kind == "dropout":
            formula = "∂E/∂x = ∂E/∂z  (training: ∂E/∂x = mask · ∂E/∂z / (1 − rate))"
            explanation = "At inference dropout passed every value unchanged, so the gradient passes unchanged too."
            formula, explanation = self._with_previous_delta(r, formula, explanation)
            self._add("backward", r, "dropout_backward", _spatial_grid(in_shape), base, formula, explanation)
        else:
            formula = f"δ = ∂E/∂a = {r.activation}'(a) ⊙ ∂E/∂z"
            explanation = "The gradient is multiplied by the slope of the activation at each value."
            formula, explanation = self._with_previous_delta(r, formula, explanation)
            self._add("backward", r, "activation_backward", _spatial_grid(in_shape), base, formula, explanation)

    def _add_update(self, r, key):
        param = r.params[key]
        if key == "kernel" and r.kind == "conv":
            kh, kw, c_in, c_out = param.shape
            grid = (c_out, c_in, kh, kw)
        elif key == "kernel":
            grid = (param.shape[1], param.shape[0])
        else:
            grid = param.shape
        explanation = ("Every weight moves a small step against its gradient, scaled by the learning rate "
                       "(and by the optimizer's running statistics), so the loss on this sample goes down.")
        self._add("update", r, "update", grid, f"Update: {r.name} {key}", _update_formula(self.optimizer),
                  explanation, param_key=key)

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

    def frame(self, step: int, frame: int) -> dict:
        """The numbers of one frame (see the module docstring for the keys of each kind)."""
        self._check(step, frame)
        s = self.steps[step]
        position = tuple(int(p) for p in np.unravel_index(int(frame), s.frame_grid))
        record = None if s.layer_index is None else self.records[s.layer_index]
        data = {"kind": s.kind, "step": int(step), "index": int(frame), "position": position,
                "layer": None if record is None else record.name, "layer_index": s.layer_index}
        data.update(getattr(self, f"_frame_{s.kind}")(record, position, s))
        return data

    def frame_at(self, index: int) -> dict:
        return self.frame(*self.locate(index))

    # window geometry in input coordinates
    @staticmethod
    def _window(r, i, j):
        (kh, kw), (sh, sw), ((top, _), (left, _)) = r.window, r.strides, r.pads
        rows = np.arange(kh) + (i * sh - top)
        cols = np.arange(kw) + (j * sw - left)
        h, w = r.inputs.shape[1:3]
        mask = ((rows < 0) | (rows >= h))[:, None] | ((cols < 0) | (cols >= w))[None, :]
        return rows, cols, mask, (slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw))

    def _prev_terms(self, r, index):
        """h'(a) and delta of the layer before ``r`` at ``index`` (an int tuple or array index)."""
        if r.index == 0:
            return {"prev_layer": None, "prev_activation": None, "prev_h_prime": None, "prev_delta": None}
        prev = self.records[r.index - 1]
        if prev.h_prime is None:
            return {"prev_layer": prev.name, "prev_activation": None, "prev_h_prime": None, "prev_delta": None}
        h_prime, delta = prev.h_prime[0][index], prev.delta[0][index]
        if np.ndim(h_prime) == 0:
            h_prime, delta = float(h_prime), float(delta)
        return {"prev_layer": prev.name, "prev_activation": prev.activation, "prev_h_prime": h_prime,
                "prev_delta": delta}

    def _frame_conv_forward(self, r, position, step):
        c_out, i, j = position
        rows, cols, mask, (rs, cs) = self._window(r, i, j)
        patch = r.padded[rs, cs, :]
        kernel = r.params["kernel"][:, :, :, c_out]
        products = patch * kernel
        channel_sums = products.sum(axis=(0, 1))
        bias = float(r.params["bias"][c_out]) if "bias" in r.params else 0.0
        return {"out_index": (i, j, c_out), "rows": rows, "cols": cols, "padding_mask": mask, "patch": patch,
                "kernel": kernel, "products": products, "channel_sums": channel_sums,
                "sum": float(channel_sums.sum()), "bias": bias, "a": float(r.a[0, i, j, c_out]),
                "z": float(r.z[0, i, j, c_out]), "activation": r.activation, "stride": r.strides}

    def _frame_maxpool_forward(self, r, position, step):
        c, i, j = position
        rows, cols, mask, (rs, cs) = self._window(r, i, j)
        m, n = divmod(int(r.switches[0, i, j, c]), r.window[1])
        return {"out_index": (i, j, c), "rows": rows, "cols": cols, "padding_mask": mask,
                "window": r.padded[rs, cs, c], "winner": (m, n), "winner_input": (int(rows[m]), int(cols[n])),
                "z": float(r.z[0, i, j, c])}

    def _frame_avgpool_forward(self, r, position, step):
        c, i, j = position
        rows, cols, mask, (rs, cs) = self._window(r, i, j)
        window = r.padded[rs, cs, c]
        return {"out_index": (i, j, c), "rows": rows, "cols": cols, "padding_mask": mask, "window": window,
                "count": int(r.counts[i, j]), "sum": float(window.sum()), "z": float(r.z[0, i, j, c])}

    def _frame_dense_forward(self, r, position, step):
        (j,) = position
        inputs = r.inputs[0]
        weights = r.params["kernel"][:, j]
        products = inputs * weights
        bias = float(r.params["bias"][j]) if "bias" in r.params else 0.0
        return {"neuron": j, "inputs": inputs, "weights": weights, "products": products,
                "order": np.argsort(-np.abs(products), kind="stable"), "sum": float(products.sum()),
                "bias": bias, "a": float(r.a[0, j]), "z": float(r.z[0, j]), "activation": r.activation}

    def _frame_flatten_forward(self, r, position, step):
        return {"in_index": position, "out_index": step_frame_index(position, step),
                "value": float(r.inputs[0][position])}

    def _frame_dropout_forward(self, r, position, step):
        index = _array_index(position, r.inputs.shape[1:])
        return {"in_index": index, "value": float(r.inputs[0][index]), "z": float(r.z[0][index]),
                "rate": r.layer.rate}

    def _frame_activation_forward(self, r, position, step):
        index = _array_index(position, r.inputs.shape[1:])
        return {"in_index": index, "a": float(r.a[0][index]), "z": float(r.z[0][index]),
                "activation": r.activation}

    def _frame_loss(self, r, position, step):
        last = self.records[-1]
        y, p = self.y_true[0], self.y_pred[0]
        if self.model.loss == "categorical_crossentropy":
            terms = -y * np.log(np.clip(p, EPSILON, 1.0))
        else:
            terms = (p - y) ** 2 / p.size
        fused = self.model.fused_softmax_crossentropy()
        return {"loss_name": self.model.loss, "fused": fused,
                "logits": last.a[0] if last.a is not None else p, "probabilities": p, "target": y,
                "label": self.label, "predicted": self.predicted, "terms": terms, "loss": self.loss,
                "output_grad": None if last.dz is None else last.dz[0],
                "h_prime": None if fused or last.h_prime is None else last.h_prime[0],
                "delta": last.delta[0]}

    def _frame_conv_backward_weight(self, r, position, step):
        c_out, c, m, n = position
        delta_map = r.delta[0, :, :, c_out]
        ho, wo = delta_map.shape
        (sh, sw), ((top, _), (left, _)) = r.strides, r.pads
        rows = np.arange(ho) * sh + (m - top)
        cols = np.arange(wo) * sw + (n - left)
        h, w = r.inputs.shape[1:3]
        mask = ((rows < 0) | (rows >= h))[:, None] | ((cols < 0) | (cols >= w))[None, :]
        window = r.padded[m : m + (ho - 1) * sh + 1 : sh, n : n + (wo - 1) * sw + 1 : sw, c]
        products = delta_map * window
        return {"weight_index": (m, n, c, c_out), "delta_map": delta_map, "rows": rows, "cols": cols,
                "padding_mask": mask, "window": window, "products": products, "grad": float(products.sum()),
                "bias_grad": float(delta_map.sum()) if "bias" in r.params else None}

    def _frame_conv_backward_input(self, r, position, step):
        c, i, j = position
        (kh, kw), (sh, sw), ((top, _), (left, _)) = r.window, r.strides, r.pads
        delta = r.delta[0]
        ho, wo = delta.shape[:2]
        out_rows = _reaching(i + top, kh, sh, ho)
        out_cols = _reaching(j + left, kw, sw, wo)
        valid = (out_rows >= 0)[:, None] & (out_cols >= 0)[None, :]
        deltas = delta[np.maximum(out_rows, 0)[:, None], np.maximum(out_cols, 0)[None, :], :] * valid[:, :, None]
        kernel = r.params["kernel"][:, :, c, :]
        products = deltas * kernel
        channel_sums = products.sum(axis=(0, 1))
        return {"in_index": (i, j, c), "out_rows": out_rows, "out_cols": out_cols, "valid": valid,
                "deltas": deltas, "kernel": kernel, "flipped_kernel": kernel[::-1, ::-1],
                "delta_window": deltas[::-1, ::-1], "products": products, "channel_sums": channel_sums,
                "sum": float(channel_sums.sum()), **self._prev_terms(r, (i, j, c))}

    def _pool_backward(self, r, position):
        c, i, j = position
        rows, cols, mask, (rs, cs) = self._window(r, i, j)
        h, w = r.inputs.shape[1:3]
        inside = (np.clip(rows, 0, h - 1)[:, None], np.clip(cols, 0, w - 1)[None, :])
        input_grad = np.where(mask, 0.0, r.input_grad[0][inside + (c,)])
        prev = self._prev_terms(r, inside + (c,))
        if prev["prev_h_prime"] is not None:
            prev["prev_h_prime"] = np.where(mask, np.nan, prev["prev_h_prime"])
            prev["prev_delta"] = np.where(mask, np.nan, prev["prev_delta"])
        return {"out_index": (i, j, c), "rows": rows, "cols": cols, "padding_mask": mask,
                "delta": float(r.dz[0, i, j, c]), "input_grad": input_grad, **prev}

    def _frame_maxpool_backward(self, r, position, step):
        data = self._pool_backward(r, position)
        c, i, j = position
        m, n = divmod(int(r.switches[0, i, j, c]), r.window[1])
        routed = np.zeros(r.window, dtype=r.dz.dtype)
        routed[m, n] = r.dz[0, i, j, c]
        return {**data, "winner": (m, n), "routed": routed}

    def _frame_avgpool_backward(self, r, position, step):
        data = self._pool_backward(r, position)
        c, i, j = position
        count = int(r.counts[i, j])
        routed = np.where(data["padding_mask"], 0.0, r.dz[0, i, j, c] / r.dz.dtype.type(count)).astype(r.dz.dtype)
        return {**data, "count": count, "routed": routed}

    def _frame_dense_backward(self, r, position, step):
        (i,) = position
        weights = r.params["kernel"][i, :]
        deltas = r.delta[0]
        products = weights * deltas
        value = float(r.inputs[0, i])
        return {"in_index": i, "weights": weights, "deltas": deltas, "products": products,
                "sum": float(products.sum()), "input": value, "weight_grads": r.inputs[0, i] * deltas,
                "bias_grads": deltas if "bias" in r.params else None, **self._prev_terms(r, (i,))}

    def _frame_flatten_backward(self, r, position, step):
        return {"in_index": position, "out_index": step_frame_index(position, step),
                "output_grad": float(r.dz[0][step_frame_index(position, step)]),
                "input_grad": float(r.input_grad[0][position]), **self._prev_terms(r, position)}

    def _frame_dropout_backward(self, r, position, step):
        index = _array_index(position, r.inputs.shape[1:])
        return {"in_index": index, "output_grad": float(r.dz[0][index]),
                "input_grad": float(r.input_grad[0][index]), **self._prev_terms(r, index)}

    def _frame_activation_backward(self, r, position, step):
        index = _array_index(position, r.inputs.shape[1:])
        h_prime = None if r.h_prime is None else float(r.h_prime[0][index])
        return {"in_index": index, "a": float(r.a[0][index]), "output_grad": float(r.dz[0][index]),
                "h_prime": h_prime, "delta": float(r.delta[0][index]), **self._prev_terms(r, index)}

    def _frame_update(self, r, position, step):
        key = step.param_key
        preview = r.update[key]
        if key == "kernel" and r.kind == "conv":
            c_out, c, m, n = position
            index = (m, n, c, c_out)
        elif key == "kernel":
            index = (position[1], position[0])
        else:
            index = position
        weight_decay = self.optimizer.weight_decay if key == "kernel" else 0.0

        def pick(state):
            return {name: (float(value[index]) if isinstance(value, np.ndarray) else value)
                    for name, value in state.items()}

        return {"param_key": key, "param_index": index, "param": float(preview["param"][index]),
                "grad": float(r.grads[key][index]), "weight_decay": weight_decay,
                "effective_grad": float(preview["grad"][index]), "learning_rate": preview["learning_rate"],
                "optimizer": self.optimizer.name, "settings": self.optimizer.get_config(),
                "state_before": pick(preview["state_before"]), "state_after": pick(preview["state_after"]),
                "change": float(preview["step"][index]), "param_after": float(preview["param_after"][index])}

    # ------------------------------------------------------------------ update
    def apply_update(self) -> None:
        """Apply the update the trace shows: parameters become ``param_after``, optimizer state
        becomes ``state_after`` (exactly one optimizer step on this sample's gradients).

        Raises ValueError (changing nothing) when already applied or when the model's
        parameters or optimizer changed since the trace was built.
        """
        if self.applied:
            raise ValueError("this trace's update was already applied; build a new trace for the next step")
        if self.model.optimizer is not self.optimizer:
            raise ValueError("the model was recompiled since this trace was built; build a new trace")
        for record in self.records:
            for key, preview in record.update.items():
                if not np.array_equal(record.layer.params[key], preview["param"]):
                    raise ValueError(f"the weights of {record.name} changed since this trace was built; "
                                     "build a new trace")
        for record in self.records:
            for key, preview in record.update.items():
                np.copyto(record.layer.params[key], preview["param_after"])
                self.optimizer.states[(record.name, key)] = {
                    name: np.array(value) if isinstance(value, np.ndarray) else value
                    for name, value in preview["state_after"].items()}
        self.applied = True


def step_frame_index(position, step) -> int:
    """The frame index of ``position`` in ``step.frame_grid`` (C order)."""
    return int(np.ravel_multi_index(position, step.frame_grid))


def _reaching(cell, kernel, stride, out_size):
    """For kernel offsets 0..kernel-1: the output index whose window puts that offset on padded
    input cell ``cell`` (out * stride + offset == cell), or -1 where there is none."""
    offsets = np.arange(kernel)
    shifted = cell - offsets
    out = shifted // stride
    ok = (shifted >= 0) & (shifted % stride == 0) & (out < out_size)
    return np.where(ok, out, -1)


class Cursor:
    """A position (step, frame) in a trace, moved at any granularity of ``GRANULARITIES``.

    Each granularity cuts the trace into units; ``next(g)`` moves to the start of the next
    unit (or to the very last frame when there is none) and ``prev(g)`` to the nearest unit
    start before the position (so from inside a step, prev("step") first goes back to its
    frame 0). Units:
      frame: one frame; row: ``frame_grid[-1]`` consecutive frames of a step; channel:
      prod(frame_grid[1:]) frames (the whole step for a one-axis grid); step: a step;
      phase: the steps of one phase; pass: the whole trace (next: the end, prev: the start).
    Both return False only when the position did not change.
    """

    def __init__(self, trace: Trace):
        self.trace = trace
        self.step = 0
        self.frame = 0

    @property
    def position(self) -> int:
        return self.trace.steps[self.step].first_frame + self.frame

    @property
    def total(self) -> int:
        return self.trace.total_frames

    def current(self) -> dict:
        return self.trace.frame(self.step, self.frame)

    def _block(self, step: Step, granularity: str) -> int:
        if granularity == "row":
            return step.frame_grid[-1]
        return step.frame_count // step.frame_grid[0] if len(step.frame_grid) > 1 else step.frame_count

    def _move(self, step: int, frame: int) -> bool:
        changed = (step, frame) != (self.step, self.frame)
        self.step, self.frame = step, frame
        return changed

    def _end(self):
        last = len(self.trace.steps) - 1
        return last, self.trace.steps[last].frame_count - 1

    @staticmethod
    def _check(granularity):
        if granularity not in GRANULARITIES:
            raise ValueError(f"unknown granularity {granularity!r}; expected one of {GRANULARITIES}")

    def next(self, granularity: str = "frame") -> bool:
        self._check(granularity)
        steps = self.trace.steps
        s, f = self.step, self.frame
        count = steps[s].frame_count
        if granularity == "pass":
            return self._move(*self._end())
        if granularity == "frame":
            target = (s, f + 1) if f + 1 < count else (s + 1, 0)
        elif granularity in ("row", "channel"):
            block = self._block(steps[s], granularity)
            start = (f // block + 1) * block
            target = (s, start) if start < count else (s + 1, 0)
        elif granularity == "step":
            target = (s + 1, 0)
        else:
            phase = steps[s].phase
            following = next((t.index for t in steps[s + 1 :] if t.phase != phase), len(steps))
            target = (following, 0)
        if target[0] >= len(steps):
            target = self._end()
        return self._move(*target)

    def prev(self, granularity: str = "frame") -> bool:
        self._check(granularity)
        steps = self.trace.steps
        s, f = self.step, self.frame
        if granularity == "pass":
            return self._move(0, 0)
        if granularity == "frame":
            if f > 0:
                return self._move(s, f - 1)
            return self._move(s - 1, steps[s - 1].frame_count - 1) if s > 0 else False
        if granularity in ("row", "channel"):
            block = self._block(steps[s], granularity)
            start = (f // block) * block
            if start < f:
                return self._move(s, start)
            if f > 0:
                return self._move(s, f - block)
            if s == 0:
                return False
            before = steps[s - 1]
            block = self._block(before, granularity)
            return self._move(s - 1, (before.frame_count - 1) // block * block)
        if granularity == "step":
            if f > 0:
                return self._move(s, 0)
            return self._move(s - 1, 0) if s > 0 else False
        first = self._phase_start(s)
        if (s, f) != (first, 0):
            return self._move(first, 0)
        return self._move(self._phase_start(first - 1), 0) if first > 0 else False

    def _phase_start(self, s: int) -> int:
        steps = self.trace.steps
        while s > 0 and steps[s - 1].phase == steps[s].phase:
            s -= 1
        return s

    def jump(self, step: int, frame: int = 0) -> None:
        self.trace._check(step, frame)
        self.step, self.frame = int(step), int(frame)

    def jump_global(self, index: int) -> None:
        self.step, self.frame = self.trace.locate(index)

    def restart(self) -> None:
        self.step = self.frame = 0
