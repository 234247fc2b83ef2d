"""The one application state: the model, the dataset, the sample being traced, its trace, who is
changing the model right now, and messages for the user.

Panels receive it in their constructors (``app.main`` builds them all) and listen to its signals;
they never find each other or keep shared state of their own. Changes are all or nothing: a new
model or sample becomes current only once its trace is built, so a failure leaves the previous
model, sample and trace as they were (and says why through ``message``).
"""
from __future__ import annotations

import numpy as np
from PyQt5.QtCore import QObject, pyqtSignal

from ..engine.trace import Trace
from .images import fit_to_input


def default_sample(shape, seed=0):
    """A synthetic input when there is no dataset: a seeded blurry ring, so the first screen is never empty."""
    height, width, channels = shape
    rows, cols = np.mgrid[0:height, 0:width]
    radius = np.hypot(rows - height / 2 + 0.5, cols - width / 2 + 0.5)
    ring = np.exp(-((radius - min(height, width) * 0.3) ** 2) / 4.0)
    noise = np.random.default_rng(seed).uniform(0, 0.1, (height, width))
    image = np.clip(ring + noise, 0, 1).astype(np.float32)
    return np.repeat(image[:, :, None], channels, axis=2), 0


class AppState(QObject):
    """model: a compiled Sequential; dataset: a Dataset or None; x (H, W, C), label and
    description: the sample traced (label None: a drawing or image whose label is not chosen yet;
    its trace then takes the prediction as the target); trace: its Trace; busy: None, or what is
    changing the model ("training", "experiment"), so no other part starts changing it too."""

    model_changed = pyqtSignal()          # a new model (architecture or weights object)
    sample_changed = pyqtSignal()         # a new input
    trace_changed = pyqtSignal(bool)      # a new trace; True: keep the cursor's position
    busy_changed = pyqtSignal()
    message = pyqtSignal(str, str, str)   # level ("info", "warning", "error"), title, text

    def __init__(self, model, dataset=None, sample=None, parent=None):
        """sample: (x (H, W, C), label[, description]) or None for the first test sample (or a synthetic one)."""
        super().__init__(parent)
        self.model = self.trace = self.x = None
        self.dataset = dataset
        self.label = 0
        self.description = ""
        self.busy = self._stop = None
        self.set_model(model, sample)

    # ------------------------------------------------------------------ changes
    def set_model(self, model, sample=None) -> None:
        """A new architecture or new weights: the sample is fitted to its input and traced again."""
        if model.optimizer is None or model.loss is None:
            model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
        if sample is not None:
            x, label = fit_to_input(sample[0], model.input_shape), None if sample[1] is None else int(sample[1])
            description = sample[2] if len(sample) > 2 else "sample"
        elif self.x is not None:
            x, label, description = fit_to_input(self.x, model.input_shape), self.label, self.description
        elif self.dataset is not None and len(self.dataset.x_test):
            x, label = fit_to_input(self.dataset.x_test[0], model.input_shape), int(self.dataset.y_test[0])
            description = "test sample 0"
        else:
            (x, label), description = default_sample(model.input_shape), "synthetic sample"
        if label is not None and not 0 <= label < model.output_shape[-1]:
            label = None
        trace = Trace(model, x, self._target(model, x, label))  # first: a failure changes nothing
        self.model, self.x, self.label, self.description, self.trace = model, x, label, description, trace
        self.model_changed.emit()
        self.trace_changed.emit(False)

    def set_optimizer(self, optimizer) -> None:
        """The one optimizer of the model: the step-through's update shows it and training uses it."""
        self.model.optimizer = optimizer
        self.refresh_trace()

    def set_dataset(self, dataset) -> None:
        """A new dataset: the model stays (training of it stops), the dataset's test sample 0 is the input."""
        previous = (self.dataset, self.x)
        self.dataset, self.x = dataset, None
        try:
            self.set_model(self.model)
        except BaseException:
            self.dataset, self.x = previous
            raise

    def set_sample(self, x, label, description: str = "") -> None:
        """A new input (H, W, C) with its true class id (None or negative: not known yet); the cursor
        keeps its position."""
        x = np.asarray(x, np.float32)
        if x.ndim == 4 and x.shape[0] == 1:
            x = x[0]
        if x.ndim != 3:
            raise ValueError(f"a sample is one image (H, W, C), got shape {x.shape}")
        classes = self.model.output_shape[-1]
        label = None if label is None or int(label) < 0 else int(label)
        if label is not None and label >= classes:
            raise ValueError(f"label {label} is not a class of this model (0 to {classes - 1})")
        x = fit_to_input(x, self.model.input_shape)
        trace = Trace(self.model, x, self._target(self.model, x, label))
        self.x, self.label, self.description, self.trace = x, label, description or "sample", trace
        self.sample_changed.emit()
        self.trace_changed.emit(True)

    def refresh_trace(self) -> None:
        """The model's weights changed (training paused, weights opened): trace the sample again."""
        self.trace = Trace(self.model, self.x, self._target(self.model, self.x, self.label))
        self.trace_changed.emit(True)

    @staticmethod
    def _target(model, x, label) -> int:
        """What the trace's loss compares with: the label, or the prediction when there is none."""
        return label if label is not None else int(np.argmax(model.predict(x[None])[0]))

    def claim(self, what: str, stop) -> None:
        """``what`` ("training", "experiment") starts changing the model; ``stop()`` ends it. Whatever
        else was changing the model is stopped first."""
        if self.busy is not None and self.busy != what:
            self._stop()
        self.busy, self._stop = what, stop
        self.busy_changed.emit()

    def release(self, what: str) -> None:
        """``what`` no longer changes the model."""
        if self.busy == what:
            self.busy, self._stop = None, None
            self.busy_changed.emit()

    def class_names(self) -> list[str]:
        """A name for each of the model's classes: the dataset's when it has as many, else 0, 1, 2, ..."""
        classes = self.model.output_shape[-1]
        names = [] if self.dataset is None else list(self.dataset.class_names)
        return names if len(names) == classes else [str(k) for k in range(classes)]

    def class_name(self, k) -> str:
        return "no label" if k is None else self.class_names()[k]

    # ------------------------------------------------------------------ messages
    def report(self, level: str, title: str, text: str) -> None:
        """The one way to tell the user something: the window shows errors and warnings in a
        dialog and information in the status bar."""
        self.message.emit(level, title, text)
