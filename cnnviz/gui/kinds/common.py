"""What a GUI kind module says about each frame class."""
from __future__ import annotations

from typing import Callable, NamedTuple, Optional


class FrameKind(NamedTuple):
    """view: the name (in views.VIEW_NAMES) of the view that shows the frame best (the tabs follow the
    cursor there when "follow" is on); rows: frame -> the equation panel's table rows; draw: for a
    frame that view does not know itself, ``draw(view, step, frame)`` puts it in the view's panels."""

    view: str
    rows: Callable
    draw: Optional[Callable] = None


def draw_cell_in_maps(view, step, frame) -> None:
    """A cell-by-cell step in the feature maps: the layer's maps, the frame's channel enlarged and its
    cell boxed."""
    view.show_frame(step, frame)
    if len(frame.in_index) == 3:
        i, j, c = frame.in_index
        view.enlarge(step.layer_index, c)
        view.large.set_box(i, j)
