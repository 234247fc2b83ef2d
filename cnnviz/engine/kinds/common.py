"""What the layer-kind modules share: the plan of a step, window geometry, the previous layer's
delta, and the index notation of formulas."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from ..frames import Folded, PreviousDelta, SumTerms, Window


@dataclass
class StepPlan:
    """One step a kind contributes: the frame class, its grid (frame index f is the C-order flat
    index of the position in ``grid``), lecture text, and ``build(record, position)`` returning
    the frame's own fields (everything but the common ones)."""

    frame_type: type
    grid: tuple
    title: str
    formula: str
    explanation: str
    build: Callable
    param_key: Optional[str] = None


def keep(array):
    """A read-only view, so frames can hand out views of it safely. Used on the trace's own
    arrays (its float64 layer copies), which nothing else holds, so no copy is needed."""
    if array is None:
        return None
    view = np.asarray(array).view()
    view.setflags(write=False)
    return view


def spatial_grid(shape) -> tuple:
    """Channel-major grid for elementwise frames: (H, W, C) -> (C, H, W); (n,) stays."""
    return (shape[2], shape[0], shape[1]) if len(shape) == 3 else tuple(shape)


def array_index(position, shape) -> tuple:
    """Inverse of ``spatial_grid``: the array index of a frame position."""
    return (position[1], position[2], position[0]) if len(shape) == 3 else tuple(position)


def window(record, i: int, j: int) -> tuple[Window, tuple]:
    """The window of output cell (i, j) of a conv or pooling record: its Window (input
    coordinates) and the slices of the padded input it covers."""
    (kh, kw), (sh, sw), ((top, _), (left, _)) = record.window, record.strides, record.pads
    rows = np.arange(kh) + (i * sh - top)
    cols = np.arange(kw) + (j * sw - left)
    h, w = record.inputs.shape[1:3]
    mask = ((rows < 0) | (rows >= h))[:, None] | ((cols < 0) | (cols >= w))[None, :]
    box = (int(rows[0]), int(cols[0]), kh, kw)
    return Window(rows, cols, mask, box), (slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw))


def channel_terms(left, right) -> tuple[tuple, Folded]:
    """left, right: (kh, kw, C) -> a SumTerms per channel and the Folded channel sums."""
    terms = tuple(SumTerms.of(left[..., c], right[..., c]) for c in range(left.shape[-1]))
    return terms, Folded.of(np.array([t.total for t in terms]))


def previous(trace, record, index) -> Optional[PreviousDelta]:
    """The delta of the layer before ``record`` at ``index`` (an int tuple or array index), or
    None when there is no such layer or it has no elementwise activation (its delta is then the
    gradient itself, or a softmax has no elementwise derivative)."""
    if record.index == 0:
        return None
    prev = trace.records[record.index - 1]
    if prev.h_prime is None:
        return None
    h_prime, delta = prev.h_prime[0][index], prev.delta[0][index]
    if np.ndim(h_prime) == 0:
        h_prime, delta = float(h_prime), float(delta)
    return PreviousDelta(prev.name, prev.activation, h_prime, delta)


def with_previous_delta(trace, record, formula: str, explanation: str) -> tuple[str, str]:
    """Mention the previous layer's delta δ = h'(a) ⊙ ∂E/∂z when its frames show it."""
    prev = trace.records[record.index - 1] if record.index > 0 else None
    if prev is None or prev.h_prime is None:
        return formula, explanation
    formula += f";  δ of {prev.name} = {prev.activation}'(a) ⊙ ∂E/∂z"
    explanation += (f" Multiplied by the slope of {prev.name}'s {prev.activation}, the gradient becomes "
                    f"the delta of {prev.name}.")
    return formula, explanation


def shifted(symbol: str, stride: int, pad: int, offset: str) -> str:
    """The input index under window offset ``offset`` of output ``symbol``: s·i+m−pad."""
    text = f"{stride}·{symbol}+{offset}" if stride > 1 else f"{symbol}+{offset}"
    return f"{text}−{pad}" if pad else text


def reached(symbol: str, stride: int, pad: int, offset: str) -> str:
    """The output index whose window puts kernel ``offset`` on input cell ``symbol``."""
    text = f"{symbol}+{pad}−{offset}" if pad else f"{symbol}−{offset}"
    return f"({text})/{stride}" if stride > 1 else text


def flat(position_in_plane, plane_shape) -> int:
    """C-order flat index of (row, col) in a (rows, cols) plane."""
    return int(np.ravel_multi_index(tuple(int(p) for p in position_in_plane), plane_shape))


def layer_title(phase: str, record) -> str:
    return f"{phase}: {record.name} ({record.layer.describe()})"
