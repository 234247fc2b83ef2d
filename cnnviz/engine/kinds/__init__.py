"""The registry of layer kinds: one module per kind holds its step plan, frame builders and
lecture text.

A kind module declares ``LAYER_TYPES`` (the Layer classes it explains) and
``forward_steps(trace, record)`` / ``backward_steps(trace, record)``, each returning a list of
``common.StepPlan``. Optionally: ``prepare(record)`` adds kind-specific tensors to a record
(padding, switches, statistics), and ``update_grid`` / ``update_slice`` say how the update
steps walk a parameter (see ``update.py``). Modules are found by scanning this package, so a
new kind is one new module here.
"""
from __future__ import annotations

import importlib
import pkgutil

KIND_MODULES = {}  # Layer class -> its kind module
for _info in pkgutil.iter_modules(__path__):
    _module = importlib.import_module(f"{__name__}.{_info.name}")
    for _layer_type in getattr(_module, "LAYER_TYPES", ()):
        KIND_MODULES[_layer_type] = _module


def kind_of(layer):
    """The kind module of a layer; ValueError for a layer type no kind explains."""
    try:
        return KIND_MODULES[type(layer)]
    except KeyError:
        raise ValueError(f"the trace does not know layer type {type(layer).__name__}") from None
