"""MaxPooling2D and AveragePooling2D: one frame per output window forward and backward."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..frames import AvgPoolBackward, AvgPoolForward, Folded, MaxPoolBackward, MaxPoolForward
from ..layers import AveragePooling2D, MaxPooling2D
from .common import StepPlan, flat, keep, layer_title, previous, shifted, window, with_previous_delta

LAYER_TYPES = (MaxPooling2D, AveragePooling2D)


def is_max(record) -> bool:
    return isinstance(record.layer, MaxPooling2D)


def prepare(record) -> None:
    layer = record.layer
    record.pads, record.strides, record.window = layer.pads, layer.strides, layer.pool_size
    record.padded = F.pad_nhwc(record.inputs, record.pads, value=-np.inf if is_max(record) else 0.0)[0]
    if is_max(record):
        record.switches = keep(layer.switches)
    else:
        record.counts = layer.counts


def _grid(r):
    out = r.z.shape[1:]
    return (out[2], out[0], out[1])


def forward_steps(trace, r):
    (sh, sw), ((top, _), (left, _)) = r.strides, r.pads
    cell = f"zᵏ⁻¹[{shifted('i', sh, top, 'm')}, {shifted('j', sw, left, 'n')}, c]"
    out_hw = r.z.shape[1:3]
    if is_max(r):
        formula = f"zᵏ[i,j,c] = max over (m,n) of {cell}"
        explanation = ("Each output cell keeps the largest value of its window, channel by channel; "
                       "the position of the winner is remembered for the backward pass.")

        def build(r, position):
            c, i, j = position
            win, (rs, cs) = window(r, i, j)
            m, n = divmod(int(r.switches[0, i, j, c]), r.window[1])
            return dict(out_index=(i, j, c), out_flat=flat((i, j), out_hw), window=win, values=r.padded[rs, cs, c],
                        winner=(m, n), winner_input=(int(win.rows[m]), int(win.cols[n])), z=float(r.z[0, i, j, c]))

        return [StepPlan(MaxPoolForward, _grid(r), layer_title("Forward", r), formula, explanation, build)]

    formula = f"zᵏ[i,j,c] = (1/count) Σm Σn {cell}"
    explanation = "Each output cell is the mean of its window, channel by channel (padding cells are not counted)."

    def build_avg(r, position):
        c, i, j = position
        win, (rs, cs) = window(r, i, j)
        values = r.padded[rs, cs, c]
        terms = Folded.of(values[~win.padding_mask])
        count = int(r.counts[i, j])
        return dict(out_index=(i, j, c), out_flat=flat((i, j), out_hw), window=win, values=values, terms=terms,
                    count=count, sum=terms.total, z=float(r.z[0, i, j, c]))

    return [StepPlan(AvgPoolForward, _grid(r), layer_title("Forward", r), formula, explanation, build_avg)]


def backward_steps(trace, r):
    if is_max(r):
        formula = ("∂E/∂zᵏ⁻¹[cell] = Σ over the windows whose maximum is the cell of ∂E/∂zᵏ[i,j,c]  "
                   "(0 elsewhere)")
        explanation = ("Only the winner of each window influenced the output, so the window's gradient goes "
                       "back to that one cell and every other cell gets zero.")
    else:
        formula = "∂E/∂zᵏ⁻¹[cell] = Σ over the windows containing the cell of ∂E/∂zᵏ[i,j,c] / count"
        explanation = "Every cell of a window contributed equally to its mean, so the gradient is shared evenly."
    formula, explanation = with_previous_delta(trace, r, formula, explanation)
    h, w = r.inputs.shape[1:3]

    def build(r, position):
        c, i, j = position
        win, _ = window(r, i, j)
        mask = win.padding_mask
        inside = (np.clip(win.rows, 0, h - 1)[:, None], np.clip(win.cols, 0, w - 1)[None, :])
        delta = float(r.dz[0, i, j, c])
        prev = previous(trace, r, inside + (c,))
        if prev is not None:
            prev = type(prev)(prev.layer, prev.activation, np.where(mask, np.nan, prev.h_prime),
                              np.where(mask, np.nan, prev.delta))
        common = dict(out_index=(i, j, c), window=win, delta=delta,
                      input_grad=np.where(mask, 0.0, r.input_grad[0][inside + (c,)]), previous=prev)
        routed = np.zeros(r.window)
        if is_max(r):
            m, n = divmod(int(r.switches[0, i, j, c]), r.window[1])
            routed[m, n] = delta
            return dict(common, routed=routed, share=delta, winner=(m, n), count=None)
        count = int(r.counts[i, j])
        share = float(r.dz[0, i, j, c] / count)
        return dict(common, routed=np.where(mask, 0.0, share), share=share, winner=None, count=count)

    frame_type = MaxPoolBackward if is_max(r) else AvgPoolBackward
    return [StepPlan(frame_type, _grid(r), layer_title("Backward", r), formula, explanation, build)]
