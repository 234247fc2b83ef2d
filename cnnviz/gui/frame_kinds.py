"""The GUI's table of frame kinds: for each frame class of the engine, the view that shows it
best (the tabs follow the cursor when "follow" is on) and the equation panel's rows.

One entry per frame class, grouped by the engine's layer-kind modules (``cnnviz.engine.kinds``):
a new layer kind adds its frames here, and nowhere else in the GUI.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

from ..engine import frames as F
from .views import equation as E


class FrameKind(NamedTuple):
    view: str         # a name in views.VIEW_NAMES
    rows: Callable    # frame -> the equation panel's table rows


FRAME_KINDS = {
    # conv
    F.ConvForward: FrameKind("conv", E.conv_forward),
    F.ConvBackwardWeight: FrameKind("backward", E.conv_backward_weight),
    F.ConvBackwardInput: FrameKind("backward", E.conv_backward_input),
    # pooling
    F.MaxPoolForward: FrameKind("pool", E.maxpool_forward),
    F.AvgPoolForward: FrameKind("pool", E.avgpool_forward),
    F.MaxPoolBackward: FrameKind("pool", E.pool_backward),
    F.AvgPoolBackward: FrameKind("pool", E.pool_backward),
    # global_pooling
    F.GlobalAvgPoolForward: FrameKind("pool", E.global_avgpool_forward),
    F.GlobalAvgPoolBackward: FrameKind("pool", E.global_avgpool_backward),
    # dense
    F.DenseForward: FrameKind("dense", E.dense_forward),
    F.DenseBackward: FrameKind("backward", E.dense_backward),
    # elementwise
    F.FlattenForward: FrameKind("dense", E.flatten_forward),
    F.FlattenBackward: FrameKind("backward", E.flatten_backward),
    F.DropoutForward: FrameKind("maps", E.dropout_forward),
    F.DropoutBackward: FrameKind("backward", E.dropout_backward),
    F.ActivationForward: FrameKind("maps", E.activation_forward),
    F.ActivationBackward: FrameKind("backward", E.activation_backward),
    # batchnorm
    F.BatchNormForward: FrameKind("maps", E.batchnorm_forward),
    F.BatchNormBackward: FrameKind("backward", E.batchnorm_backward),
    # loss and update
    F.Loss: FrameKind("output", E.loss),
    F.Update: FrameKind("update", E.update),
}


def frame_kind(frame) -> FrameKind:
    return FRAME_KINDS[type(frame)]
