"""Colour maps and levels: viridis for activations, a diverging map centred on zero for signed values.

Both come from pyqtgraph's own colour maps; views pass the 256-entry uint8 lookup tables and
explicit levels to ``ImageItem.setImage`` (no autoLevels per frame).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

SEQUENTIAL = pg.colormap.get("viridis")
DIVERGING = pg.colormap.get("CET-D1")  # blue - white - red, white at the middle

SEQUENTIAL_LUT = SEQUENTIAL.getLookupTable(nPts=256, alpha=False)
DIVERGING_LUT = DIVERGING.getLookupTable(nPts=256, alpha=False)


def sequential_levels(array) -> tuple[float, float]:
    """(low, high) covering the finite values of ``array``; never an empty range."""
    values = np.asarray(array, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    return (low, high) if high > low else (low, low + 1.0)


def symmetric_levels(array) -> tuple[float, float]:
    """(-m, m) with m the largest |value|: zero sits at the middle (white) of the diverging map."""
    values = np.asarray(array, dtype=np.float64)
    finite = np.abs(values[np.isfinite(values)])
    top = float(finite.max()) if finite.size else 0.0
    top = top if top > 0 else 1.0
    return -top, top

