"""Naive loop versions of convolution and pooling: the test oracle for ``functional.py``.

Written the way the textbook states them (one window at a time), sharing no code with the
vectorized engine. x: (N, H, W, C), kernel w: (kh, kw, C, F); 'same' padding as Keras/TF.
"""
from __future__ import annotations

import numpy as np


def padding_of(size: int, kernel: int, stride: int, padding) -> tuple[int, int]:
    """(before, after) zero padding along one axis, as Keras/TensorFlow pads."""
    if padding == "valid":
        return 0, 0
    if padding == "same":
        out = -(-size // stride)  # ceil
        total = max((out - 1) * stride + kernel - size, 0)
        return total // 2, total - total // 2
    return padding, padding


def conv2d(x, w, b, strides, padding):
    """Cross-correlation: out[n, i, j, f] = sum over the window of x * w[..., f] (+ b[f])."""
    n, h, wd, c = x.shape
    kh, kw, _, f = w.shape
    sh, sw = strides
    top, bottom = padding_of(h, kh, sh, padding)
    left, right = padding_of(wd, kw, sw, padding)
    xp = np.zeros((n, h + top + bottom, wd + left + right, c), dtype=x.dtype)
    xp[:, top : top + h, left : left + wd] = x
    ho = (xp.shape[1] - kh) // sh + 1
    wo = (xp.shape[2] - kw) // sw + 1
    out = np.zeros((n, ho, wo, f), dtype=x.dtype)
    for s in range(n):
        for i in range(ho):
            for j in range(wo):
                window = xp[s, i * sh : i * sh + kh, j * sw : j * sw + kw, :]
                for k in range(f):
                    out[s, i, j, k] = np.sum(window * w[:, :, :, k]) + (0 if b is None else b[k])
    return out


def pool2d(x, pool, strides, padding, kind: str):
    """Max or average over the real (non-padding) cells of each window.

    Returns ``(out, switches)``; for max pooling ``switches[n, i, j, c]`` is the index
    (row * pw + col) inside the padded window of the first cell holding the maximum.
    """
    n, h, wd, c = x.shape
    ph, pw = pool
    sh, sw = strides
    top, bottom = padding_of(h, ph, sh, padding)
    left, right = padding_of(wd, pw, sw, padding)
    ho = (h + top + bottom - ph) // sh + 1
    wo = (wd + left + right - pw) // sw + 1
    out = np.zeros((n, ho, wo, c), dtype=x.dtype)
    switches = np.zeros((n, ho, wo, c), dtype=np.int64)
    for s in range(n):
        for i in range(ho):
            for j in range(wo):
                for ch in range(c):
                    best, best_index, total, count = -np.inf, -1, 0.0, 0
                    for m in range(ph):
                        for k in range(pw):
                            row, col = i * sh + m - top, j * sw + k - left
                            if not (0 <= row < h and 0 <= col < wd):
                                continue  # a padding cell
                            value = x[s, row, col, ch]
                            total += value
                            count += 1
                            if value > best:
                                best, best_index = value, m * pw + k
                    out[s, i, j, ch] = best if kind == "max" else total / count
                    switches[s, i, j, ch] = best_index
    return out, switches
