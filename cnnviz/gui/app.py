"""Start the desktop app: ``python main.py`` (or ``cnnviz``), ``--screenshot PATH`` to render and exit.

    python main.py [--model PRESET|FILE.json] [--weights FILE.npz] [--data NAME|PATH] [--sample INDEX]
                   [--lesson FILE]
                   [--step N] [--view NAME] [--screenshot PATH] [--size 1280x800]
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from .. import __version__
from ..presets import PRESETS, preset_model
from .lessons.model import load_lesson
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
    parser.add_argument("--lesson", metavar="FILE", help="open a lesson (*.cnnviz-lesson.json) and show its first slide")
    parser.add_argument("--screenshot", metavar="PATH", help="render the window to a PNG file and exit")
    parser.add_argument("--size", default="1280x800", help="window size WIDTHxHEIGHT (default 1280x800)")
    parser.add_argument("--present", action="store_true",
                        help="start in presentation mode (F5; full screen, or at --size with --screenshot)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights when none are loaded")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser.parse_args(argv)


def display_problem() -> str | None:
    """Why Qt could not open a window here (it would abort inside its xcb plugin), or None."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith("xcb"):
        return None  # offscreen, wayland, vnc, ...: Qt was told where to draw
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        return ("cnnviz: there is no display to open the window on (DISPLAY is not set). Start it from a desktop "
                "session; or with a virtual display: xvfb-run -a .venv/bin/python main.py; or render the window to "
                "a PNG without any display: .venv/bin/python main.py --screenshot shot.png")
    return None


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


def build_window(model, dataset=None, sample=None):
    """The composition root: the application state, the window, and every panel and menu, each
    given what it needs in its constructor. Returns the window; its ``state``, ``training_panel``,
    ``experiment_panel``, ``weights_io``, ``model_menu``, ``dataset_menu``, ``live_view``,
    ``evaluation_view``, ``lesson_panel`` and ``export_actions`` are the parts built here."""
    from PyQt5.QtCore import QEvent, QObject, Qt
    from PyQt5.QtWidgets import QScrollArea

    from .experiment_panel import ExperimentPanel
    from .lessons.export_actions import ExportActions
    from .lessons.panel import LessonPanel
    from .lessons.presentation import PresentationMode
    from .main_window import MainWindow
    from .model_builder import ModelMenu
    from .state import AppState
    from .datasets import DatasetMenu
    from .evaluation_view import EvaluationView
    from .live_view import LiveNetworkView
    from .training_panel import TrainingPanel, scrolled
    from .weights_io import WeightsFiles

    state = AppState(model, dataset, sample)
    window = MainWindow(state)
    window.training_panel = training = TrainingPanel(state)
    window.add_panel(scrolled(training), "Training")
    window.experiment_panel = experiment = ExperimentPanel(state, window)
    window.add_panel(scrolled(experiment), "Experiment")
    window.weights_io = WeightsFiles(state, window, training)
    window.model_menu = ModelMenu(state, window)
    window.menuBar().insertMenu(window.help_menu.menuAction(), window.model_menu)
    window.dataset_menu = DatasetMenu(state, window)
    window.file_menu.insertMenu(window.file_menu.actions()[1], window.dataset_menu)
    window.live_view = LiveNetworkView(state, training)
    window.add_panel(scrolled(window.live_view), "Live")
    window.evaluation_view = EvaluationView(training, window.input_panel)
    window.add_panel(scrolled(window.evaluation_view), "Evaluation")

    narrow = []  # the side area's width before a plot tab widened it

    def fit_side_area(_=None) -> None:
        """Plots need room: the side area grows while a tab with plots shows (440 px, or what its panel
        needs with scaled fonts, up to half the window), and gets its width back when another tab (Input)
        shows again."""
        shown = window.side_tabs.currentWidget()
        plots = isinstance(shown, QScrollArea) and shown.widget() in (
            training, experiment, window.live_view, window.evaluation_view)
        if plots:
            needed = shown.widget().minimumSizeHint().width() + shown.verticalScrollBar().sizeHint().width() + 12
            width = min(max(440, needed), window.width() // 2)
            if window.side_dock.width() < width:
                if not narrow:
                    narrow.append(window.side_dock.width())
                window.resizeDocks([window.side_dock], [width], Qt.Horizontal)
        elif narrow:
            window.resizeDocks([window.side_dock], [narrow.pop()], Qt.Horizontal)

    class CloseGuard(QObject):
        """Stops training and the experiment before the window closes: no thread outlives it."""

        def eventFilter(self, watched, event):
            if event.type() == QEvent.Close:
                training.shutdown()
                experiment.shutdown()
            return False

    window.side_tabs.currentChanged.connect(fit_side_area)
    window.fonts_scaled.connect(fit_side_area)
    window.close_guard = CloseGuard(window)
    window.installEventFilter(window.close_guard)
    # Last, so its close filter runs first: keeping the window for an unsaved lesson stops nothing.
    window.lesson_panel = LessonPanel(state, window, PresentationMode(window))  # Lesson menu and tab; F5
    window.export_actions = ExportActions(state, window, window.lesson_panel)  # File > Export view / animation
    return window


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        width, height = (int(n) for n in args.size.lower().split("x"))
        model = preset_model(args.model or DEFAULT_MODEL, args.weights, args.seed)
        if args.lesson:
            load_lesson(args.lesson)  # a file that is no lesson is said here, before any window opens
    except ValueError as error:
        print(f"cnnviz: {error}", file=sys.stderr)
        return 2
    from PyQt5.QtCore import QCoreApplication, QEvent, Qt
    from PyQt5.QtWidgets import QApplication

    if QApplication.instance() is None and display_problem():
        if not args.screenshot:
            print(display_problem(), file=sys.stderr)
            return 2
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a screenshot needs no screen

    from . import fault_report

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
    fault_report.install(window.state)  # an uncaught exception becomes a message, not an abort
    if dataset is not None:
        window.input_panel.show_index(args.sample)
    if args.lesson and not window.lesson_panel.open(args.lesson):
        return 2
    window.resize(width, height)
    if args.step:
        window.controller.cursor.jump_global(min(args.step, window.state.trace.total_frames - 1))
        window.controller.moved.emit()
    if args.view:
        window.show_view(args.view)
    window.show()
    if args.present:
        window.lesson_panel.presentation.enter(full_screen=not args.screenshot)
    if not args.screenshot:
        window.dataset_menu.offer_fitting_model()
    if args.screenshot:
        app.processEvents()
        window.draw_frame()  # again at the final size: the equation text reflows
        app.processEvents()
        window.grab().save(args.screenshot, "PNG")
        window.setAttribute(Qt.WA_DeleteOnClose)  # Qt deletes it in order, not the garbage collector later
        window.close()
        QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)  # now, while Python still runs
        print(args.screenshot)
        return 0
    window.setAttribute(Qt.WA_DeleteOnClose)
    code = app.exec_()
    QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)  # the closed window, before Python exits
    return code
