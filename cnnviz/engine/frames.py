"""Frames: the typed records of one fine-grained moment of a trace (one conv window, one pool
window, one neuron, one delta cell, one weight update).

A frame carries every number that any view or the equation panel shows for that moment,
computed by the engine in float64 (the trace's precision): products, partial sums, the terms
a long sum leaves out, δ/count, window geometry in input coordinates, flat indices, the
optimizer's g, λ·W and change separately. Views and the equation panel only draw and format
these fields; they never multiply, sum or compute an index themselves. The frames of the layer
kinds here are shared by several kinds; a kind may define its own in its module under
``cnnviz.engine.kinds`` (batch normalization and global pooling do).

Shapes are those of one sample (no batch axis). Arrays may be read-only views of the trace's
tensors: copy them before changing them.

Notation (the same on screen): zᵏ the activations (output) of layer k, aᵏ its pre-activation,
δᵏ = ∂E/∂aᵏ; a layer's input is the previous layer's output z (the image for the first).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional

import numpy as np


@dataclass(frozen=True)
class SumTerms:
    """A sum of products ``left[k] · right[k]`` as the equation panel writes it: largest first.

    left, right, products: (n,); order: (n,) indices by |product|, largest first;
    tail_sums: (n + 1,) with tail_sums[k] = Σ products[order[k:]] (the terms left out when only
    the first k are written; tail_sums[n] = 0) and tail_counts[k] = n − k of them; total = Σ products.
    """

    left: np.ndarray
    right: np.ndarray
    products: np.ndarray
    order: np.ndarray
    tail_sums: np.ndarray
    tail_counts: np.ndarray
    total: float

    @classmethod
    def of(cls, left, right) -> "SumTerms":
        left, right = np.ravel(left), np.ravel(right)
        products = left * right
        order = np.argsort(-np.abs(products), kind="stable")
        tail = np.concatenate([np.cumsum(products[order][::-1])[::-1], [0.0]])
        return cls(left, right, products, order, tail, np.arange(products.size, -1, -1), float(products.sum()))


@dataclass(frozen=True)
class Folded:
    """A short sum written term by term in its own order: values (n,), tail_sums (n + 1,) with
    tail_sums[k] = Σ values[k:] (what is left when only the first k are written) and
    tail_counts[k] = n − k, total."""

    values: np.ndarray
    tail_sums: np.ndarray
    tail_counts: np.ndarray
    total: float

    @classmethod
    def of(cls, values) -> "Folded":
        values = np.ravel(values)
        tail = np.concatenate([np.cumsum(values[::-1])[::-1], [0.0]])
        return cls(values, tail, np.arange(values.size, -1, -1), float(values.sum()))


@dataclass(frozen=True)
class Window:
    """A kh x kw window in input coordinates: rows (kh,), cols (kw,) of the input each window
    row/column covers (negative or >= H/W on padding); padding_mask (kh, kw) True on padding;
    box (row, col, height, width) of the window in the input."""

    rows: np.ndarray
    cols: np.ndarray
    padding_mask: np.ndarray
    box: tuple


@dataclass(frozen=True)
class PreviousDelta:
    """The previous layer's delta at the same cell(s): δ = h'(a) ⊙ ∂E/∂z. layer: its name;
    activation: its activation; h_prime and delta: floats (one cell) or arrays (a window,
    NaN on padding)."""

    layer: str
    activation: str
    h_prime: object
    delta: object


@dataclass(frozen=True)
class Frame:
    """Every frame: kind (class-level name), step and index in the trace, position in the step's
    frame grid, layer name and index (None for the loss)."""

    kind: ClassVar[str] = "frame"
    step: int
    index: int
    position: tuple
    layer: Optional[str]
    layer_index: Optional[int]


# ---------------------------------------------------------------------- forward
@dataclass(frozen=True)
class ConvForward(Frame):
    """One output cell of a convolution.

    out_index (i, j, c'); out_flat: i·Wo + j (the cell in its output plane, C order);
    window: Window; patch (kh, kw, C) input values (0 on padding); kernel (kh, kw, C) = w[:, :, :, c'];
    products (kh, kw, C); channel_terms: a SumTerms per input channel (kernel · patch);
    channels: Folded channel sums (C,); sum; bias (0.0 without); a = sum + bias; z = h(a);
    activation; stride (sh, sw).
    """

    kind: ClassVar[str] = "conv_forward"
    out_index: tuple
    out_flat: int
    window: Window
    patch: np.ndarray
    kernel: np.ndarray
    products: np.ndarray
    channel_terms: tuple
    channels: Folded
    sum: float
    bias: float
    a: float
    z: float
    activation: str
    stride: tuple


@dataclass(frozen=True)
class MaxPoolForward(Frame):
    """One max-pooling window: out_index (i, j, c), out_flat i·Wo + j; window: Window; values
    (ph, pw) (−inf on padding: it never wins); winner (m, n) inside the window (first maximum
    in row-major order, as the engine); winner_input (row, col) in the input; z."""

    kind: ClassVar[str] = "maxpool_forward"
    out_index: tuple
    out_flat: int
    window: Window
    values: np.ndarray
    winner: tuple
    winner_input: tuple
    z: float


@dataclass(frozen=True)
class AvgPoolForward(Frame):
    """One average-pooling window: out_index, out_flat, window; values (ph, pw) (0 on padding);
    terms: Folded over the real cells; count (real cells); sum; z = sum / count."""

    kind: ClassVar[str] = "avgpool_forward"
    out_index: tuple
    out_flat: int
    window: Window
    values: np.ndarray
    terms: Folded
    count: int
    sum: float
    z: float


@dataclass(frozen=True)
class DenseForward(Frame):
    """One neuron j: terms = SumTerms(weights W[:, j], inputs z of the previous layer) —
    inputs (n_in,) and weights (n_in,) are terms.right and terms.left; sum; bias; a; z;
    activation; largest: the input whose product is largest in size."""

    kind: ClassVar[str] = "dense_forward"
    neuron: int
    inputs: np.ndarray
    weights: np.ndarray
    terms: SumTerms
    largest: int
    sum: float
    bias: float
    a: float
    z: float
    activation: str


@dataclass(frozen=True)
class FlattenForward(Frame):
    """in_index (i, j, c) -> out_index k; value (the same number on both sides); span
    (first, last): the vector entries that hold cell (i, j)'s channels (consecutive, NHWC)."""

    kind: ClassVar[str] = "flatten_forward"
    in_index: tuple
    out_index: int
    value: float
    span: tuple


@dataclass(frozen=True)
class DropoutForward(Frame):
    """in_index; value; z (equal: a trace runs at inference, where dropout passes everything); rate."""

    kind: ClassVar[str] = "dropout_forward"
    in_index: tuple
    value: float
    z: float
    rate: float


@dataclass(frozen=True)
class ActivationForward(Frame):
    """in_index; a (the input); z = h(a); activation."""

    kind: ClassVar[str] = "activation_forward"
    in_index: tuple
    a: float
    z: float
    activation: str


# ---------------------------------------------------------------------- loss
@dataclass(frozen=True)
class Loss(Frame):
    """The loss of the sample and the first delta.

    loss_name; fused (softmax + cross-entropy differentiated together); logits (K,) the last
    layer's a; outputs (K,) its z (probabilities after a softmax); target (K,); label,
    predicted; terms: Folded per-class contributions (cross-entropy: −y·log p from log-softmax
    when fused, so exact; MSE: (z − y)²/K); log_p_label: log p[label] (cross-entropy) or None;
    clipped: True when a cross-entropy on a non-softmax output had to clip p at ``clip`` (1e-7,
    as Keras; shown);
    loss = Σ terms; output_grad (K,) ∂E/∂z (None when fused); h_prime (K,) h'(a) of an
    elementwise output activation, or None; jacobian: True when the output is a softmax
    without cross-entropy (δ = J_softmaxᵀ ∂E/∂z, no elementwise derivative); delta (K,) δ of the
    last layer.
    """

    kind: ClassVar[str] = "loss"
    loss_name: str
    fused: bool
    logits: np.ndarray
    outputs: np.ndarray
    target: np.ndarray
    label: int
    predicted: int
    terms: Folded
    log_p_label: Optional[float]
    clipped: bool
    clip: float
    loss: float
    output_grad: Optional[np.ndarray]
    h_prime: Optional[np.ndarray]
    jacobian: bool
    activation: str
    delta: np.ndarray


# ---------------------------------------------------------------------- backward
@dataclass(frozen=True)
class ConvBackwardWeight(Frame):
    """The gradient of one kernel weight w[m, n, c, c'].

    weight_index (m, n, c, c'); weight_flat: m·kw + n (the weight in its (kh, kw) slice);
    delta_map (Ho, Wo) δ[:, :, c'] of this layer; window: Window of the input cells (rows (Ho,),
    cols (Wo,)) that weight multiplied, box spanning them; values (Ho, Wo) those inputs (0 on
    padding); terms: SumTerms(δ, input); grad = ∂E/∂w; bias_grad = Σ δ map (None without bias).
    """

    kind: ClassVar[str] = "conv_backward_weight"
    weight_index: tuple
    weight_flat: int
    delta_map: np.ndarray
    window: Window
    values: np.ndarray
    terms: SumTerms
    grad: float
    bias_grad: Optional[float]


@dataclass(frozen=True)
class ConvBackwardInput(Frame):
    """∂E/∂z of one input cell (i, j, c) of a conv layer: the flipped kernel over the δ maps.

    in_index (i, j, c); in_flat: i·W + j; out_rows (kh,), out_cols (kw,): the output row reached
    by kernel row m (column by n), −1 where none; valid (kh, kw); deltas (kh, kw, C') δ at those
    cells (0 where invalid); kernel (kh, kw, C') = w[:, :, c, :]; products = kernel · deltas;
    flipped_kernel, delta_window:
    both flipped (they multiply cell by cell to the same products); channel_terms: a SumTerms
    per δ channel c' (w · δ); channels: Folded sums over c'; sum = ∂E/∂z[i, j, c].
    delta_padding: ((kh−1, kh−1), (kw−1, kw−1)) for stride 1 (the full convolution pads the δ
    map by that), else None; delta_box (row, col, height, width): the δ cells that reach the
    input cell, in the coordinates of the δ map (padded by delta_padding when there is one),
    None when none do; previous: PreviousDelta or None.
    """

    kind: ClassVar[str] = "conv_backward_input"
    in_index: tuple
    in_flat: int
    out_rows: np.ndarray
    out_cols: np.ndarray
    valid: np.ndarray
    deltas: np.ndarray
    kernel: np.ndarray
    products: np.ndarray
    flipped_kernel: np.ndarray
    delta_window: np.ndarray
    channel_terms: tuple
    channels: Folded
    sum: float
    delta_padding: Optional[tuple]
    delta_box: Optional[tuple]
    previous: Optional[PreviousDelta]


@dataclass(frozen=True)
class PoolBackward(Frame):
    """One pooling window on the way back.

    out_index (i, j, c); window: Window; delta: ∂E/∂z of that output cell; routed (ph, pw):
    what THIS window sends to each of its cells (max: δ at ``winner``; average: δ/count on
    real cells); share: δ/count (average) or δ (max); input_grad (ph, pw): the total gradient of
    those input cells after all windows (0 on padding; differs from routed where windows
    overlap); winner (m, n) (max) or None; count (average) or None; previous: PreviousDelta
    (arrays, NaN on padding) or None.
    """

    kind: ClassVar[str] = "pool_backward"
    out_index: tuple
    window: Window
    delta: float
    routed: np.ndarray
    share: float
    input_grad: np.ndarray
    winner: Optional[tuple]
    count: Optional[int]
    previous: Optional[PreviousDelta]


@dataclass(frozen=True)
class MaxPoolBackward(PoolBackward):
    kind: ClassVar[str] = "maxpool_backward"


@dataclass(frozen=True)
class AvgPoolBackward(PoolBackward):
    kind: ClassVar[str] = "avgpool_backward"


@dataclass(frozen=True)
class DenseBackward(Frame):
    """∂E/∂z of input i of a dense layer: terms = SumTerms(W[i, :], δ) (weights, deltas); sum;
    input z[i]; weight_grads (units,) = z[i]·δ = ∂E/∂W[i, :]; bias_grads (units,) = δ (None
    without bias); previous."""

    kind: ClassVar[str] = "dense_backward"
    in_index: int
    weights: np.ndarray
    deltas: np.ndarray
    terms: SumTerms
    sum: float
    input: float
    weight_grads: np.ndarray
    bias_grads: Optional[np.ndarray]
    previous: Optional[PreviousDelta]


@dataclass(frozen=True)
class PassBack(Frame):
    """Flatten and dropout (at inference) pass a gradient back unchanged: in_index; out_index
    (flatten: (q,) the vector entry; dropout: in_index); output_grad; input_grad (the same
    number); previous."""

    kind: ClassVar[str] = "pass_back"
    in_index: tuple
    out_index: tuple
    output_grad: float
    input_grad: float
    previous: Optional[PreviousDelta]


@dataclass(frozen=True)
class FlattenBackward(PassBack):
    kind: ClassVar[str] = "flatten_backward"


@dataclass(frozen=True)
class DropoutBackward(PassBack):
    kind: ClassVar[str] = "dropout_backward"


@dataclass(frozen=True)
class ActivationBackward(Frame):
    """A standalone activation: in_index; a; output_grad ∂E/∂z (None for a softmax whose delta the
    loss step gave, p − y, fused with cross-entropy); h_prime = h'(a) (None for a softmax); delta =
    h'(a)·∂E/∂z (the input gradient); previous."""

    kind: ClassVar[str] = "activation_backward"
    in_index: tuple
    a: float
    output_grad: Optional[float]
    h_prime: Optional[float]
    delta: float
    previous: Optional[PreviousDelta]


# ---------------------------------------------------------------------- update
@dataclass(frozen=True)
class Update(Frame):
    """One weight's update.

    param_key; param_index (into the parameter array); label: e.g. "[:, :, 0, 3]" (the slice
    drawn); cell (row, col) of the weight in that slice; param W; grad ∂E/∂W (backprop);
    weight_decay λ (0 for biases); decay_term λ·W; effective_grad g = ∂E/∂W + λ·W (what the
    optimizer uses); learning_rate η; optimizer; settings; plain_sgd (no state: change = −η·g);
    state_before / state_after {name: value} (a fresh parameter starts at the optimizer's
    initial state, e.g. Adagrad's 0.1); change (what is added); param_after W′ = W + change.
    Slices (2-D arrays, the picture): param_slice, grad_slice, change_slice, after_slice.
    """

    kind: ClassVar[str] = "update"
    param_key: str
    param_index: tuple
    label: str
    cell: tuple
    param: float
    grad: float
    weight_decay: float
    decay_term: float
    effective_grad: float
    learning_rate: float
    optimizer: str
    settings: dict
    plain_sgd: bool
    state_before: dict
    state_after: dict
    change: float
    param_after: float
    param_slice: np.ndarray
    grad_slice: np.ndarray
    change_slice: np.ndarray
    after_slice: np.ndarray
