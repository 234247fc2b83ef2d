"""Conv2D: one frame per output cell forward; backward first the weight gradients (one frame
per kernel weight), then the gradient of the input (one frame per input cell: the flipped
kernel over the δ maps)."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..frames import ConvBackwardInput, ConvBackwardWeight, ConvForward, SumTerms, Window
from ..layers import Conv2D
from .common import StepPlan, channel_terms, flat, layer_title, previous, reached, shifted, spatial_grid, window

LAYER_TYPES = (Conv2D,)


def prepare(record) -> None:
    layer = record.layer
    record.pads, record.strides, record.window = layer.pads, layer.strides, layer.kernel_size
    record.padded = F.pad_nhwc(record.inputs, record.pads)[0]


def forward_steps(trace, r):
    (sh, sw), ((top, _), (left, _)) = r.strides, r.pads
    formula = (f"aᵏ[i,j,c'] = Σc Σm Σn w[m,n,c,c'] · zᵏ⁻¹[{shifted('i', sh, top, 'm')}, "
               f"{shifted('j', sw, left, 'n')}, c] + b[c'];  zᵏ[i,j,c'] = {r.activation}(aᵏ[i,j,c'])")
    explanation = ("Each output cell is a window of the input multiplied cell by cell with one filter, "
                   "summed over the window and all input channels, plus the filter's bias; "
                   "the activation then gives the feature map.")
    if any(any(p) for p in r.pads):
        explanation += " Windows may hang over the border, where the input is padded with zeros."
    out = r.z.shape[1:]

    def build(r, position):
        c_out, i, j = position
        win, (rs, cs) = window(r, i, j)
        patch = r.padded[rs, cs, :]
        kernel = r.params["kernel"][:, :, :, c_out]
        terms, channels = channel_terms(kernel, patch)
        return dict(out_index=(i, j, c_out), out_flat=flat((i, j), out[:2]), window=win, patch=patch,
                    kernel=kernel, products=patch * kernel, channel_terms=terms, channels=channels,
                    sum=channels.total, bias=float(r.params["bias"][c_out]) if "bias" in r.params else 0.0,
                    a=float(r.a[0, i, j, c_out]), z=float(r.z[0, i, j, c_out]), activation=r.activation,
                    stride=r.strides)

    return [StepPlan(ConvForward, (out[2], out[0], out[1]), layer_title("Forward", r), formula, explanation, build)]


def backward_steps(trace, r):
    kh, kw = r.window
    in_shape = r.inputs.shape[1:]
    c_in, c_out = in_shape[2], r.z.shape[3]
    (sh, sw), ((top, _), (left, _)) = r.strides, r.pads
    base = layer_title("Backward", r)
    weight_formula = (f"∂E/∂w[m,n,c,c'] = Σi Σj δᵏ[i,j,c'] · zᵏ⁻¹[{shifted('i', sh, top, 'm')}, "
                      f"{shifted('j', sw, left, 'n')}, c];  ∂E/∂b[c'] = Σi Σj δᵏ[i,j,c']")
    weight_explanation = ("The gradient of one weight is the delta map of its filter multiplied cell by cell "
                          "with the input cells that weight touched in the forward pass, summed; the bias "
                          "gradient is the sum of the delta map.")

    def build_weight(r, position):
        c_o, c, m, n = position
        delta_map = r.delta[0, :, :, c_o]
        ho, wo = delta_map.shape
        rows = np.arange(ho) * sh + (m - top)
        cols = np.arange(wo) * sw + (n - left)
        h, w = in_shape[:2]
        mask = ((rows < 0) | (rows >= h))[:, None] | ((cols < 0) | (cols >= w))[None, :]
        box = (int(rows[0]), int(cols[0]), int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1))
        values = r.padded[m : m + (ho - 1) * sh + 1 : sh, n : n + (wo - 1) * sw + 1 : sw, c]
        terms = SumTerms.of(delta_map, values)
        return dict(weight_index=(m, n, c, c_o), weight_flat=flat((m, n), (kh, kw)), delta_map=delta_map,
                    window=Window(rows, cols, mask, box), values=values, terms=terms, grad=terms.total,
                    bias_grad=float(delta_map.sum()) if "bias" in r.params else None)

    prev = trace.records[r.index - 1] if r.index > 0 else None
    input_formula = (f"∂E/∂zᵏ⁻¹[i,j,c] = Σc' Σm Σn δᵏ[{reached('i', sh, top, 'm')}, "
                     f"{reached('j', sw, left, 'n')}, c'] · w[m,n,c,c']")
    if max(sh, sw) > 1:
        input_formula += "  (only whole, in-range indices)"
    if prev is not None and prev.h_prime is not None:
        input_formula += f";  δᵏ⁻¹[i,j,c] = {prev.activation}'(aᵏ⁻¹[i,j,c]) · ∂E/∂zᵏ⁻¹[i,j,c]"
    target = f"the output zᵏ⁻¹ of {prev.name}" if prev is not None else "the input image"
    input_explanation = (f"Each input cell collects the deltas δᵏ of this layer from every output cell whose "
                         f"window covered it, weighted by the kernel weight that linked them: a convolution "
                         f"with the flipped kernel. This is the gradient of {target}.")
    if prev is not None and prev.h_prime is not None:
        input_explanation += (f" Multiplied by the derivative of {prev.name}'s {prev.activation} it becomes "
                              f"the delta δᵏ⁻¹ of {prev.name}.")
    ho, wo = r.delta.shape[1:3]
    full = r.strides == (1, 1)

    def build_input(r, position):
        c, i, j = position
        out_rows = reaching(i + top, kh, sh, ho)
        out_cols = reaching(j + left, kw, sw, wo)
        valid = (out_rows >= 0)[:, None] & (out_cols >= 0)[None, :]
        deltas = r.delta[0][np.maximum(out_rows, 0)[:, None], np.maximum(out_cols, 0)[None, :], :] * valid[:, :, None]
        kernel = r.params["kernel"][:, :, c, :]
        terms, channels = channel_terms(kernel, deltas)
        if full:  # the full convolution: the flipped kernel slides over δ padded by kernel size − 1
            padding = ((kh - 1, kh - 1), (kw - 1, kw - 1))
            box = (i + top - (kh - 1), j + left - (kw - 1), kh, kw)
        else:     # strided: the δ cells that reach this input cell
            padding = None
            rows, cols = out_rows[out_rows >= 0], out_cols[out_cols >= 0]
            box = (int(rows.min()), int(cols.min()), int(np.ptp(rows)) + 1, int(np.ptp(cols)) + 1) \
                if rows.size and cols.size else None
        return dict(in_index=(i, j, c), in_flat=flat((i, j), in_shape[:2]), out_rows=out_rows, out_cols=out_cols,
                    valid=valid, deltas=deltas, kernel=kernel, products=kernel * deltas, flipped_kernel=kernel[::-1, ::-1],
                    delta_window=deltas[::-1, ::-1], channel_terms=terms, channels=channels, sum=channels.total,
                    delta_padding=padding, delta_box=box, previous=previous(trace, r, (i, j, c)))

    return [StepPlan(ConvBackwardWeight, (c_out, c_in, kh, kw), f"{base}: weight gradients", weight_formula,
                     weight_explanation, build_weight),
            StepPlan(ConvBackwardInput, spatial_grid(in_shape), f"{base}: deltas to the input", input_formula,
                     input_explanation, build_input)]


def reaching(cell: int, kernel: int, stride: int, out_size: int) -> np.ndarray:
    """For kernel offsets 0..kernel-1: the output index whose window puts that offset on padded
    input cell ``cell`` (out · stride + offset == cell), or −1 where there is none."""
    offsets = np.arange(kernel)
    shifted_cells = cell - offsets
    out = shifted_cells // stride
    ok = (shifted_cells >= 0) & (shifted_cells % stride == 0) & (out < out_size)
    return np.where(ok, out, -1)


def update_slice(key: str, param_shape, position):
    """The update grid position of a weight -> (its array index, the 2-D slice drawn, its cell
    in that slice, the slice's label). Kernels: grid (C', C, kh, kw)."""
    if key != "kernel":
        return None
    c_out, c, m, n = position
    return (m, n, c, c_out), (slice(None), slice(None), c, c_out), (m, n), f"[:, :, {c}, {c_out}]"


def update_grid(key: str, param_shape):
    if key != "kernel":
        return None
    kh, kw, c_in, c_out = param_shape
    return (c_out, c_in, kh, kw)
