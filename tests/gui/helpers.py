"""Shared set-up for the GUI tests: the lecture model with the shipped weights (if any) and MNIST."""
from __future__ import annotations

import dataclasses
import re

import numpy as np

from cnnviz.gui.app import load_default_dataset, preset_model
from cnnviz.gui.views.common import fmt

_DATASET = []


def dataset():
    if not _DATASET:
        _DATASET.append(load_default_dataset())
    return _DATASET[0]


def make_window(qtbot, model_name="lecture", **kwargs):
    from cnnviz.gui.app import build_window

    window = build_window(preset_model(model_name, None, seed=0), dataset(), **kwargs)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    return window


# A number on screen: not part of a name (conv2d_1), with an optional sign and exponent.
NUMBER = re.compile(r"(?<![\w.^])[−-]?\d+(?:\.\d+)?(?:e[+-]?\d+)?(?![\w.])")


def shown_numbers(text: str) -> set[str]:
    """Every number in a text, without its sign (a sum writes '1.2 − 0.5'; the signs of the key
    numbers are checked on their own)."""
    return {token.lstrip("−-") for token in NUMBER.findall(text)}


def rows_html(html: str) -> str:
    """The text of the equation panel's numbers table (not its title, formula or explanation)."""
    return re.sub(r"<[^>]+>", " ", html[html.index("<table"):]).replace("&nbsp;", " ")


def frame_numbers(value) -> set[str]:
    """Every number a frame holds (fields, nested records, array elements, dict values), as fmt
    writes it, integers also plainly, and without its sign (a sum writes '1.2 − 0.5'): what the
    equation panel may show."""
    out: set[str] = set()

    def add(number):
        if isinstance(number, (bool, np.bool_)):
            return
        if isinstance(number, (int, np.integer)):
            out.add(str(int(number)))
        out.add(fmt(number).lstrip("-"))

    def walk(item):
        if dataclasses.is_dataclass(item):
            for field in dataclasses.fields(item):
                walk(getattr(item, field.name))
        elif isinstance(item, dict):
            for element in item.values():
                walk(element)
        elif isinstance(item, (tuple, list)):
            for element in item:
                walk(element)
        elif isinstance(item, np.ndarray):
            if np.issubdtype(item.dtype, np.number):
                for element in np.unique(item):
                    add(element)
        elif isinstance(item, (int, float, np.integer, np.floating)):
            add(item)

    walk(value)
    return out
