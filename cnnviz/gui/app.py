"""Start the desktop app: ``python main.py`` (or ``cnnviz``), ``--screenshot PATH`` to render and exit.

    python main.py [--model PRESET|FILE.json] [--weights FILE.npz] [--data NAME|PATH] [--sample INDEX]
                   [--step N] [--view NAME] [--screenshot PATH] [--size 1280x800]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ..paths import WEIGHTS
from ..presets import PRESETS, load_model_file, load_preset
from .views import VIEW_NAMES

DEFAULT_MODEL = "lecture"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="cnnviz", description="Watch a CNN learn, step by step.")
    parser.add_argument("--model", help=f"a preset {list(PRESETS)} or a JSON architecture file (default "
                        f"{DEFAULT_MODEL}, or a preset rebuilt for a --data it does not fit)")
    parser.add_argument("--weights", help="an .npz weights file (default: the shipped weights of the preset, if any)")
    parser.add_argument("--data", help="a dataset as cnnviz-train takes it: mnist (the shipped digits, default), bars, "
                        "edges, crosses, or a path (IDX folder, .npz, CIFAR-10 folder, folder of images by class)")
    parser.add_argument("--sample", type=int,
                        help="index of the test sample to trace (default: the first one the model is unsure about)")
    parser.add_argument("--step", type=int, default=0, help="advance N frames before showing the window")
    parser.add_argument("--view", choices=VIEW_NAMES, help="show this view (and stop following the step)")
    parser.add_argument("--screenshot", metavar="PATH", help="render the window to a PNG file and exit")
    parser.add_argument("--size", default="1280x800", help="window size WIDTHxHEIGHT (default 1280x800)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights when none are loaded")
    return parser.parse_args(argv)


def load_model(spec: str, weights, seed: int):
    """A preset or JSON model with weights: --weights, else resources/weights/<preset>.npz if shipped."""
    if spec in PRESETS:
        model = load_preset(spec, seed=seed)
        shipped = WEIGHTS / f"{spec}.npz"
    elif Path(spec).is_file():
        model = load_model_file(spec, seed=seed)
        shipped = None
    else:
        raise ValueError(f"--model {spec!r}: not a preset {list(PRESETS)} nor an existing JSON file")
    if weights is not None:
        model.load_weights(weights)
    elif shipped is not None and shipped.is_file():
        model.load_weights(shipped)
    return model


def load_default_dataset():
    """The shipped MNIST digits, or None (the window then shows a synthetic sample)."""
    try:
        from ..data import load_dataset

        return load_dataset("mnist")
    except (ImportError, ValueError, OSError):
        return None


def fitting_model(model, dataset, model_chosen: bool):
    """The model to start with: ``model``, or (when --model was not given) the first preset rebuilt for a
    dataset the default does not fit."""
    from .datasets import fits, fitting_presets

    if model_chosen or dataset is None or fits(model, dataset):
        return model
    return next(iter(fitting_presets(dataset).values()), model)


def first_unsure_sample(model, dataset, threshold: float = 0.9) -> int:
    """Index of the first test sample whose true class gets probability < threshold (0 if none).

    A confident, right answer has gradients near zero everywhere; an unsure one makes the
    backward pass and the update worth watching.
    """
    x = dataset.x_test[:500]
    if x.shape[1:] != tuple(model.input_shape):
        return 0
    probabilities = model.predict(x)
    unsure = probabilities[np.arange(len(x)), dataset.y_test[:500]] < threshold
    return int(np.argmax(unsure)) if unsure.any() else 0


def build_window(model, dataset, sample=None):
    """The main window with every panel: training, experiment, live network, evaluation, datasets."""
    from .datasets import DatasetMenu
    from .evaluation_view import EvaluationView
    from .live_view import LiveNetworkView
    from .main_window import MainWindow
    from .training_panel import _scrolled
    from .training_panel import install as install_training

    window = MainWindow(model, dataset, sample=sample)
    install_training(window)  # Training and Experiment tabs, weights files, Model menu
    window.dataset_menu = DatasetMenu(window)
    window.file_menu.insertMenu(window.file_menu.actions()[1], window.dataset_menu)
    window.live_view = LiveNetworkView(window, window.training_panel)
    window.add_panel(_scrolled(window.live_view), "Live")
    window.evaluation_view = EvaluationView(window.training_panel, window.input_panel)
    window.add_panel(_scrolled(window.evaluation_view), "Evaluation")
    return window


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        width, height = (int(n) for n in args.size.lower().split("x"))
        model = load_model(args.model or DEFAULT_MODEL, args.weights, args.seed)
    except ValueError as error:
        print(f"cnnviz: {error}", file=sys.stderr)
        return 2
    from PyQt5.QtCore import Qt
    from PyQt5.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    if args.data is None:
        dataset = load_default_dataset()
    else:
        from ..data import load_dataset

        try:
            dataset = load_dataset(args.data)
        except (ValueError, OSError, MemoryError) as error:
            print(f"cnnviz: --data: {error}", file=sys.stderr)
            return 2
        model = fitting_model(model, dataset, args.model is not None)
    sample = None
    if dataset is not None:
        if args.sample is None:
            args.sample = first_unsure_sample(model, dataset)
        if not 0 <= args.sample < len(dataset.x_test):
            print(f"cnnviz: --sample must be 0 to {len(dataset.x_test) - 1}", file=sys.stderr)
            return 2
        sample = (dataset.x_test[args.sample], int(dataset.y_test[args.sample]), f"test sample {args.sample}")
    window = build_window(model, dataset, sample)
    if dataset is not None:
        window.input_panel.show_index(args.sample)
    window.resize(width, height)
    if args.step:
        window.controller.cursor.jump_global(min(args.step, window.trace.total_frames - 1))
        window.controller.moved.emit()
    if args.view:
        window.show_view(args.view)
    window.show()
    if not args.screenshot:
        window.dataset_menu.offer_fitting_model()
    if args.screenshot:
        app.processEvents()
        window.draw_frame()  # again at the final size: the equation text reflows
        app.processEvents()
        window.grab().save(args.screenshot, "PNG")
        window.setAttribute(Qt.WA_DeleteOnClose)  # Qt deletes it in order, not the garbage collector later
        window.close()
        print(args.screenshot)
        return 0
    return app.exec_()
