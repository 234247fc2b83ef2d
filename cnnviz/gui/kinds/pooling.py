"""The GUI of MaxPooling2D and AveragePooling2D: which view shows each frame, and the equation panel's rows."""
from __future__ import annotations

from ...engine import frames as F
from ..views.common import fmt
from ..views.equation import bold, cell, folded, numbers, row
from .common import FrameKind


def maxpool_forward(f):
    i, j, c = f.out_index
    return [row("z = max", f"max({numbers(f.values)}) = {bold(f.z)}"),
            row("window", f"channel {c}, output (row {i}, col {j})"),
            row("winner", f"cell {cell(f.winner)} of the window = input {cell(f.winner_input)}")]


def avgpool_forward(f):
    i, j, c = f.out_index
    return [row("window", f"channel {c}, output (row {i}, col {j})"),
            row("sum / count", f"({folded(f.terms)}) / {f.count} = {fmt(f.sum)} / {f.count} = {bold(f.z)}")]


def pool_backward(f):
    i, j, c = f.out_index
    if f.winner is not None:
        routed = f"all of ∂E/∂z = {fmt(f.share)} to the winner {cell(f.winner)}; 0 to the other cells"
    else:
        routed = f"∂E/∂z / count = {fmt(f.delta)} / {f.count} = {fmt(f.share)} to every real cell"
    return [row("routed by this window", routed),
            row("window", f"channel {c}, output (row {i}, col {j}): ∂E/∂z = {fmt(f.delta)}"),
            row("∂E/∂z of these cells, all windows", numbers(f.input_grad))]


FRAME_KINDS = {
    F.MaxPoolForward: FrameKind("pool", maxpool_forward),
    F.AvgPoolForward: FrameKind("pool", avgpool_forward),
    F.MaxPoolBackward: FrameKind("pool", pool_backward),
    F.AvgPoolBackward: FrameKind("pool", pool_backward),
}
