"""The GUI of GlobalAveragePooling2D: which view shows each frame, and the equation panel's rows."""
from __future__ import annotations

from ...engine.kinds.global_pooling import GlobalAvgPoolBackward, GlobalAvgPoolForward
from ..views.common import fmt
from ..views.equation import bold, folded, row
from ..views.common import row_width, wrapped, wrapped_cell
from .common import FrameKind


def global_avgpool_forward(f):
    return [row("channel", f"{f.channel}: the mean of all {f.count} cells"),
            row("sum / count", f"({folded(f.terms)}) / {f.count} = {fmt(f.sum)} / {f.count} = {bold(f.z)}")]


def global_avgpool_backward(f):
    return [row("channel", f"{f.channel}: ∂E/∂z = {fmt(f.output_grad)}"),
            row("to every cell", f"{fmt(f.output_grad)} / {f.count} = {bold(f.share)}")]


def _start(view, step, signed: bool):
    """The pooling view's panels cleared of marks, for this layer's record."""
    view.last = (step, None)
    for panel in view.panels:
        panel.hide_marks()
        panel.set_signed(signed)
    view.window.clear()
    return view.trace.records[step.layer_index]


def _show_vector(panel, vector, index, title, levels) -> None:
    """A vector in one row (or wrapped into a square) with element ``index`` boxed."""
    width = row_width(vector.size)
    panel.set_title(title)
    panel.set_image(wrapped(vector, width), levels)
    panel.set_box(*wrapped_cell(index, vector.size, width))
    panel.show_padding(False)


def draw_forward(view, step, f) -> None:
    """In the pooling view: the channel's whole map, and its mean in the output vector."""
    record, c = _start(view, step, signed=False), f.channel
    levels = view.cached_levels((record.index, "in"), record.inputs, False)
    view.input.set_title(f"input of {record.name}, channel {c}: all {f.count} cells")
    view.input.set_image(f.inputs, levels)
    view.input.set_box(0, 0, *f.inputs.shape)
    view.input.show_padding(False)
    _show_vector(view.output, record.z.reshape(-1), c, f"output of {record.name}: z[{c}] = mean = {fmt(f.z)}", levels)


def draw_backward(view, step, f) -> None:
    """In the pooling view: ∂E/∂z of the channel's mean, and the equal share every cell gets."""
    record, c = _start(view, step, signed=True), f.channel
    levels = view.cached_levels((record.index, "dz"), record.dz, True)
    _show_vector(view.input, record.dz.reshape(-1), c, f"∂E/∂z of {record.name}: {fmt(f.output_grad)}", levels)
    view.output.set_title(f"∂E/∂z of the input, channel {c}: {fmt(f.share)} in every cell")
    view.output.set_image(f.input_grad, levels)
    view.output.set_box(0, 0, *f.input_grad.shape)
    view.output.show_padding(False)


FRAME_KINDS = {
    GlobalAvgPoolForward: FrameKind("pool", global_avgpool_forward, draw_forward),
    GlobalAvgPoolBackward: FrameKind("pool", global_avgpool_backward, draw_backward),
}
