"""The math of the engine, vectorized with NumPy.

Everything here works on NHWC arrays: images ``x: (N, H, W, C)``, conv kernels
``w: (kh, kw, c_in, c_out)``. Layers (``layers.py``) call these functions and keep
what their backward pass needs; the step-by-step trace reads the same tensors.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

PADDING_MODES = ("valid", "same")


def pair(value, what: str) -> tuple[int, int]:
    """An int or a pair of ints as ``(rows, cols)``; ``what`` names it in errors."""
    if isinstance(value, (int, np.integer)):
        pair_value = (int(value), int(value))
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(
        isinstance(v, (int, np.integer)) for v in value
    ):
        pair_value = (int(value[0]), int(value[1]))
    else:
        raise ValueError(f"{what} must be an int or a pair of ints, got {value!r}")
    if min(pair_value) < 1:
        raise ValueError(f"{what} must be positive, got {value!r}")
    return pair_value


def check_padding(padding, what: str = "padding"):
    """'valid', 'same', or a non-negative int (symmetric zero padding)."""
    if isinstance(padding, str) and padding.lower() in PADDING_MODES:
        return padding.lower()
    if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool) and padding >= 0:
        return int(padding)
    raise ValueError(f"{what} must be 'valid', 'same' or a non-negative int, got {padding!r}")


def pad_amounts(size: int, kernel: int, stride: int, padding) -> tuple[int, int]:
    """Zero padding ``(before, after)`` along one axis.

    'same' follows Keras/TensorFlow: the output has ``ceil(size / stride)`` cells and
    an odd extra padding cell goes at the end (bottom or right).
    """
    if padding == "valid":
        return 0, 0
    if padding == "same":
        out = math.ceil(size / stride)
        total = max((out - 1) * stride + kernel - size, 0)
        return total // 2, total - total // 2
    return padding, padding


def output_size(size: int, kernel: int, stride: int, padding) -> int:
    """Number of window positions along one axis (0 if the kernel does not fit)."""
    before, after = pad_amounts(size, kernel, stride, padding)
    padded = size + before + after
    if padded < kernel:
        return 0
    return (padded - kernel) // stride + 1


def window_geometry(in_hw, kernel_hw, strides_hw, padding):
    """Padding and output size for 2-D windows.

    Returns ``(pads, out_hw)`` with ``pads = ((top, bottom), (left, right))``.
    """
    pads = tuple(pad_amounts(n, k, s, padding) for n, k, s in zip(in_hw, kernel_hw, strides_hw))
    out_hw = tuple(output_size(n, k, s, padding) for n, k, s in zip(in_hw, kernel_hw, strides_hw))
    return pads, out_hw


def pad_nhwc(x: np.ndarray, pads, value=0.0) -> np.ndarray:
    """Pad the H and W axes of ``x: (N, H, W, C)``; returns ``x`` itself when no padding."""
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return x
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


def windows(xp: np.ndarray, kernel_hw, strides_hw, out_hw) -> np.ndarray:
    """Strided view of every window of a padded input (no copy).

    xp: (N, Hp, Wp, C) -> (N, Ho, Wo, C, kh, kw)
    """
    (kh, kw), (sh, sw), (ho, wo) = kernel_hw, strides_hw, out_hw
    view = sliding_window_view(xp, (kh, kw), axis=(1, 2))
    return view[:, : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw]


def shifted_slice(offset_hw, strides_hw, out_hw):
    """Index of the cells that kernel offset (m, n) touches across all windows.

    ``xp[shifted_slice((m, n), ...)]`` has shape (N, Ho, Wo, C): the input cell that
    kernel position (m, n) multiplies in every output cell.
    """
    (m, n), (sh, sw), (ho, wo) = offset_hw, strides_hw, out_hw
    return (slice(None), slice(m, m + (ho - 1) * sh + 1, sh), slice(n, n + (wo - 1) * sw + 1, sw))


def im2col(xp: np.ndarray, kernel_hw, strides_hw, out_hw, out: np.ndarray | None = None):
    """Copy every window into a row: the matrix one matmul turns into a convolution.

    xp: (N, Hp, Wp, C) -> (N * Ho * Wo, kh * kw * C), columns in kernel order (kh, kw, C)
    ``out`` is an optional buffer or view of that shape (any strides) to fill.
    A new matrix is laid out as ``im2col_order(C)`` says.
    """
    n, c = xp.shape[0], xp.shape[3]
    (kh, kw), (ho, wo) = kernel_hw, out_hw
    if out is None:
        out = np.empty((n * ho * wo, kh * kw * c), dtype=xp.dtype, order=im2col_order(c))
    # The reshapes only split axes, so they are views of ``out`` whatever its strides (it may
    # be conv2d_forward's columns left of the ones).
    if out.strides[1] == out.itemsize:  # rows contiguous: row by row, each window's kh * kw * C values
        view = windows(xp, kernel_hw, strides_hw, out_hw).transpose(0, 1, 2, 4, 5, 3)
        np.copyto(out.reshape(n, ho, wo, kh, kw, c), view)
    else:  # columns contiguous: one strided copy of the whole batch per kernel cell and channel
        columns = out.T.reshape(kh, kw, c, n, ho, wo)
        for m in range(kh):
            for k in range(kw):
                np.copyto(columns[m, k], xp[shifted_slice((m, k), strides_hw, out_hw)].transpose(3, 0, 1, 2))
    return out


FEW_CHANNELS = 4  # inputs with at most this many channels get a column-major im2col matrix


def im2col_order(channels: int) -> str:
    """Memory order of the im2col matrix for an input with this many channels.

    Row-major copies each window's ``kh * kw * C`` values; with few channels those runs are
    so short that copying one kernel cell of the whole batch at a time, into a column-major
    matrix, is several times faster (28x28x1 MNIST: 10x). BLAS reads either layout.
    """
    return "F" if channels <= FEW_CHANNELS else "C"


def conv2d_forward(xp: np.ndarray, w: np.ndarray, b, strides_hw, out_hw, cols_out=None):
    """Convolution (cross-correlation, as in Keras) of a padded input.

    xp: (N, Hp, Wp, C), w: (kh, kw, C, F), b: (F,) or None
    Returns ``(a, cols)``: a: (N, Ho, Wo, F) and the matrix the backward pass needs: the
    im2col windows (N * Ho * Wo, kh * kw * C) and, with a bias, one more column of ones, so
    that the matmul adds the bias too (the "bias trick": no extra pass over ``a``).
    ``cols_out`` is an optional buffer of that shape to reuse between batches.
    """
    kh, kw, c, f = w.shape
    k = kh * kw * c
    weights = w.reshape(k, f) if b is None else np.vstack([w.reshape(k, f), b])
    n, cells = xp.shape[0], out_hw[0] * out_hw[1]
    if cols_out is None:
        cols_out = np.empty((n * cells, len(weights)), dtype=xp.dtype, order=im2col_order(c))
    a = np.empty((n * cells, f), dtype=xp.dtype)
    # Row-major: a few samples at a time, so the matmul reads each block of windows while it
    # is still in the cache (about a sixth faster than copying the whole batch first).
    # Column-major blocks would not be contiguous: the whole batch at once.
    step = samples_per_block(cells) if cols_out.flags.c_contiguous else n
    for start in range(0, n, step):
        rows = slice(start * cells, (start + step) * cells)
        block = cols_out[rows]
        im2col(xp[start : start + step], (kh, kw), strides_hw, out_hw, out=block[:, :k])
        block[:, k:] = 1
        np.matmul(block, weights, out=a[rows])
    return a.reshape(n, out_hw[0], out_hw[1], f), cols_out


def conv2d_backward(delta: np.ndarray, cols: np.ndarray, w: np.ndarray, padded_shape, strides_hw,
                    need_input_grad: bool = True, parts_out: np.ndarray | None = None):
    """Gradients of a convolution from the delta of its output.

    delta: (N, Ho, Wo, F) = dE/da; cols: the matrix ``conv2d_forward`` returned; w: (kh, kw, C, F)
    Returns ``(dxp, dw, db)``: dxp: (N, Hp, Wp, C) the gradient of the padded input
    (None unless ``need_input_grad``), dw: (kh, kw, C, F), db: (F,) (None without a bias).
    ``parts_out`` is an optional scratch buffer of shape ``parts_shape(...)`` to reuse between batches.
    """
    kh, kw, c, f = w.shape
    n, ho, wo, _ = delta.shape
    delta2d = delta.reshape(n * ho * wo, f)
    grads = cols.T @ delta2d  # with the forward's column of ones, its last row is the bias gradient
    k = kh * kw * c
    dw, db = grads[:k].reshape(w.shape), (grads[k] if len(grads) > k else None)
    if not need_input_grad:
        return None, dw, db
    if parts_out is None:
        parts_out = np.empty(parts_shape(w.shape, n, (ho, wo)), dtype=delta.dtype)
    w_t = w.reshape(kh * kw, c, f).transpose(0, 2, 1)
    dxp = np.zeros(padded_shape, dtype=delta.dtype)
    # Kernel offset (m, k) multiplied the cells shifted_slice((m, k)) of every window, so they
    # get delta @ w[m, k].T: one batched matmul for all offsets, then kh * kw shifted additions
    # instead of a scatter over windows. A few samples at a time, so that the products are
    # still in the cache when they are added (a quarter faster than the whole batch at once).
    step = parts_out.shape[1] // (ho * wo)
    for start in range(0, n, step):
        block = delta2d[start * ho * wo : (start + step) * ho * wo]
        count = len(block) // (ho * wo)
        parts = np.matmul(block, w_t, out=parts_out[:, : len(block)]).reshape(kh, kw, count, ho, wo, c)
        target = dxp[start : start + count]
        for m in range(kh):
            for k in range(kw):
                target[shifted_slice((m, k), strides_hw, (ho, wo))] += parts[m, k]
    return dxp, dw, db


def parts_shape(w_shape, batch: int, out_hw) -> tuple[int, int, int]:
    """Shape of the scratch buffer ``conv2d_backward`` computes input-gradient blocks in."""
    kh, kw, c, _ = w_shape
    cells = out_hw[0] * out_hw[1]
    return kh * kw, min(batch, samples_per_block(cells)) * cells, c


CACHED_ROWS = 3072  # output cells per block in conv forward and backward: a few MB, stays in cache


def samples_per_block(cells: int) -> int:
    """How many samples of ``cells`` output cells each make one cache-sized block."""
    return max(1, CACHED_ROWS // cells)


def maxpool_forward(xp: np.ndarray, pool_hw, strides_hw, out_hw):
    """Max pooling of a (-inf padded) input, with its switches.

    xp: (N, Hp, Wp, C) -> (out: (N, Ho, Wo, C), switches: (N, Ho, Wo, C))
    """
    out = maxpool(xp, pool_hw, strides_hw, out_hw)
    return out, maxpool_switches(xp, out, pool_hw, strides_hw)


def maxpool(xp: np.ndarray, pool_hw, strides_hw, out_hw) -> np.ndarray:
    """The maximum of each window: xp: (N, Hp, Wp, C) -> (N, Ho, Wo, C)."""
    ph, pw = pool_hw
    cells = [xp[shifted_slice((m, k), strides_hw, out_hw)] for m in range(ph) for k in range(pw)]
    out = cells[0].copy()
    for cell in cells[1:]:
        np.maximum(out, cell, out=out)
    return out


def maxpool_switches(xp: np.ndarray, out: np.ndarray, pool_hw, strides_hw) -> np.ndarray:
    """Where each window's maximum ``out`` is: the flat index (row * pw + col) in the window.

    On ties the first cell in row-major order wins, so the gradient goes to one cell.
    """
    ph, pw = pool_hw
    switches = np.zeros(out.shape, dtype=np.int16)
    # Walk the cells from last to first, each one holding the maximum taking the switch, so
    # the first such cell keeps it. Arithmetic rather than masked writes: no branches on the
    # data, several times faster.
    for index in reversed(range(ph * pw)):
        holds_max = xp[shifted_slice(divmod(index, pw), strides_hw, out.shape[1:3])] == out
        switches += holds_max * (np.int16(index) - switches)
    return switches.astype(np.intp)


def maxpool_backward(delta: np.ndarray, switches: np.ndarray, padded_shape, pool_hw, strides_hw):
    """Route each output delta to the argmax cell of its window.

    delta, switches: (N, Ho, Wo, C) -> dxp: (N, Hp, Wp, C)
    """
    ph, pw = pool_hw
    out_hw = delta.shape[1:3]
    overlapping = strides_hw[0] < ph or strides_hw[1] < pw
    dxp = np.zeros(padded_shape, dtype=delta.dtype)
    for m in range(ph):
        for k in range(pw):
            cells = dxp[shifted_slice((m, k), strides_hw, out_hw)]
            if overlapping:
                cells += delta * (switches == m * pw + k)
            else:  # every input cell is in one window at most: write, no need to add
                np.multiply(delta, switches == m * pw + k, out=cells)
    return dxp


def avgpool_forward(xp: np.ndarray, counts: np.ndarray, pool_hw, strides_hw, out_hw):
    """Average pooling of a zero-padded input; padding cells are not counted (as Keras).

    xp: (N, Hp, Wp, C), counts: (Ho, Wo) real cells per window -> (N, Ho, Wo, C)
    """
    sums = windows(xp, pool_hw, strides_hw, out_hw).sum(axis=(-2, -1))
    return sums / counts[None, :, :, None].astype(xp.dtype)


def avgpool_counts(in_hw, pool_hw, strides_hw, pads, out_hw) -> np.ndarray:
    """How many real (non-padding) cells each pooling window covers: (Ho, Wo)."""
    ones = pad_nhwc(np.ones((1, in_hw[0], in_hw[1], 1)), pads)
    return windows(ones, pool_hw, strides_hw, out_hw).sum(axis=(-2, -1))[0, :, :, 0]


def avgpool_backward(delta: np.ndarray, counts: np.ndarray, padded_shape, pool_hw, strides_hw):
    """Spread each output delta evenly over the real cells of its window.

    delta: (N, Ho, Wo, C) -> dxp: (N, Hp, Wp, C) (padding cells get gradient too; callers crop them)
    """
    share = delta / counts[None, :, :, None].astype(delta.dtype)
    dxp = np.zeros(padded_shape, dtype=delta.dtype)
    for m in range(pool_hw[0]):
        for k in range(pool_hw[1]):
            dxp[shifted_slice((m, k), strides_hw, delta.shape[1:3])] += share
    return dxp


def crop_padding(xp: np.ndarray, pads) -> np.ndarray:
    """Inverse of ``pad_nhwc``: drop the padding rows and columns."""
    (top, bottom), (left, right) = pads
    return xp[:, top : xp.shape[1] - bottom, left : xp.shape[2] - right, :]


# ---------------------------------------------------------------- activations
# Each activation is h(a) and the map from dE/dz to dE/da = h'(a) * dE/dz.

def relu(a):
    return np.maximum(a, 0)


def sigmoid(a):
    return 0.5 * (1 + np.tanh(0.5 * a))  # stable for large |a|


def softmax(a):
    shifted = a - a.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


ACTIVATIONS = {
    "linear": (lambda a: a, lambda a, z, dz: dz),
    "relu": (relu, lambda a, z, dz: dz * (a > 0)),
    "tanh": (np.tanh, lambda a, z, dz: dz * (1 - z * z)),
    "sigmoid": (sigmoid, lambda a, z, dz: dz * z * (1 - z)),
    # Jacobian-vector product of softmax; cross-entropy training never uses it (fused).
    "softmax": (softmax, lambda a, z, dz: z * (dz - (dz * z).sum(axis=-1, keepdims=True))),
}


def activation_derivative(name: str, a: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Elementwise h'(a) for the elementwise activations (what a lecture shows)."""
    if name == "softmax":
        raise ValueError("softmax has no elementwise derivative; use its Jacobian-vector product")
    return ACTIVATIONS[name][1](a, z, np.ones_like(a))


def check_activation(name, where: str) -> str:
    if name is None:
        return "linear"
    if not isinstance(name, str) or name.lower() not in ACTIVATIONS:
        raise ValueError(f"{where}: unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}")
    return name.lower()
