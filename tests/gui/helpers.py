"""Shared set-up for the GUI tests: the lecture model with the shipped weights (if any) and MNIST."""
from __future__ import annotations

from cnnviz.gui.app import load_default_dataset, load_model

_DATASET = []


def dataset():
    if not _DATASET:
        _DATASET.append(load_default_dataset())
    return _DATASET[0]


def make_window(qtbot, model_name="lecture", **kwargs):
    from cnnviz.gui.main_window import MainWindow

    window = MainWindow(load_model(model_name, None, seed=0), dataset(), **kwargs)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    return window
