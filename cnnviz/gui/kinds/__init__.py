"""The GUI of each layer kind: one module per kind (matching ``cnnviz.engine.kinds``) says, for each
frame class, the view that shows it, the equation panel's rows, and (for a frame no view knows) how
to draw it. Modules are found by scanning this package; each declares ``FRAME_KINDS``. A new layer
kind is one new module here.
"""
from __future__ import annotations

import importlib
import pkgutil

from .common import FrameKind  # noqa: F401  (the entries' type)

FRAME_KINDS = {}  # frame class -> FrameKind
for _info in pkgutil.iter_modules(__path__):
    FRAME_KINDS.update(getattr(importlib.import_module(f"{__name__}.{_info.name}"), "FRAME_KINDS", {}))


def frame_kind(frame) -> FrameKind:
    return FRAME_KINDS[type(frame)]
