"""The single-image experiment panel: train on the current image towards a target class, step by step,
and plot the target probability per iteration (points coloured by the predicted class) until the
prediction flips. ``Undo`` puts back the weights from before the experiment."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import QSize, QTimer, pyqtSignal
from PyQt5.QtWidgets import (QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QPushButton,
                             QSpinBox, QVBoxLayout, QWidget)

from ..engine.optimizers import SGD
from ..engine.trace import single_image_experiment

PLAY_MS = 120
LEAST_LIKELY = "least likely"


def class_colour(k: int, classes: int):
    return pg.intColor(k, hues=max(classes, 2))


class ExperimentPanel(QWidget):
    """Side panel for ``window`` (``model``, ``x``, ``label``, ``dataset``, ``refresh_trace``, signals
    ``model_changed``/``sample_changed``). ``finished(record)`` gives the last iteration's dict."""

    finished = pyqtSignal(object)

    def __init__(self, app_state, window, parent=None):
        super().__init__(parent)
        self.app_state = app_state
        self.window_ = window
        self.iterator = None
        self.records = []
        self.model = None        # the model the experiment runs on
        self.saved = None        # (weights, optimizer) from before the experiment, for Undo

        self.image = pg.ImageItem(axisOrder="row-major")
        view = pg.GraphicsLayoutWidget()
        view.setFixedSize(110, 110)
        box = view.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
        box.addItem(self.image)
        self.sample_label = QLabel()
        self.sample_label.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(view)
        top.addWidget(self.sample_label, 1)

        form = QFormLayout()
        self.target_combo = QComboBox()
        self.target_combo.setToolTip("The class to train the image towards")
        self.train_combo = QComboBox()
        self.train_combo.addItems(["all", "conv", "dense"])
        self.train_combo.setToolTip("Which layers learn: the others are frozen for the experiment")
        self.lr_spin = QDoubleSpinBox()
        self.lr_spin.setRange(1e-5, 10.0)
        self.lr_spin.setDecimals(5)
        self.lr_spin.setStepType(QDoubleSpinBox.AdaptiveDecimalStepType)
        self.lr_spin.setValue(0.001)
        self.lr_spin.setToolTip("Learning rate of the plain SGD steps on this one image")
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(1, 10000)
        self.steps_spin.setValue(200)
        form.addRow("target class", self.target_combo)
        form.addRow("layers that train", self.train_combo)
        form.addRow("learning rate (SGD)", self.lr_spin)
        form.addRow("at most steps", self.steps_spin)

        self.step_button = QPushButton("Step")
        self.step_button.clicked.connect(self.step)
        self.play_button = QPushButton("Play")
        self.play_button.clicked.connect(self.toggle_play)
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Put back the weights from before the experiment")
        self.undo_button.clicked.connect(self.undo)
        buttons = QHBoxLayout()
        for button in (self.step_button, self.play_button, self.undo_button):
            buttons.addWidget(button)

        self.plot = pg.PlotWidget()
        self.plot.sizeHint = lambda: QSize(320, 200)
        self.plot.setMinimumHeight(160)
        item = self.plot.getPlotItem()
        item.setLabel("bottom", "iteration")
        item.setLabel("left", "P(target)")
        item.setTitle("points coloured by the predicted class", size="9pt")
        item.setYRange(0, 1)
        item.showGrid(x=True, y=True, alpha=0.2)
        self.curve = item.plot(pen=pg.mkPen((200, 200, 200), width=1))
        self.points = pg.ScatterPlotItem(size=9, pen=None)
        item.addItem(self.points)
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        self.status = QLabel()
        self.status.setWordWrap(True)

        column = QVBoxLayout(self)
        column.setContentsMargins(2, 2, 2, 2)
        column.addLayout(top)
        column.addLayout(form)
        column.addLayout(buttons)
        column.addWidget(self.plot, 1)
        column.addWidget(self.legend)
        column.addWidget(self.status)

        self.timer = QTimer(self)
        self.timer.setInterval(PLAY_MS)
        self.timer.timeout.connect(self.step)
        app_state.model_changed.connect(self._model_changed)
        app_state.sample_changed.connect(self._sample_changed)
        self._model_changed()

    # ------------------------------------------------------------------ following the window
    def _model_changed(self) -> None:
        self.end()
        self.saved = None
        self.undo_button.setEnabled(False)
        self.target_combo.clear()
        names = self.app_state.class_names()
        self.target_combo.addItems([LEAST_LIKELY, *names])
        self.legend.setText("predicted: " + " ".join(
            f"<span style='color:{class_colour(k, len(names)).name()}'>&#9632;&nbsp;{name}</span>"
            for k, name in enumerate(names)))
        self._sample_changed()

    def _sample_changed(self) -> None:
        self.end()
        x = np.asarray(self.app_state.x, np.float32)
        self.image.setImage(np.ascontiguousarray(x[:, :, 0] if x.shape[2] != 3 else x), levels=(0, 1))
        self.sample_label.setText(f"{self.app_state.description}\nlabel {self.app_state.class_name(self.app_state.label)}\n"
                                  "Pick the image in the Input tab.")

    # ------------------------------------------------------------------ running
    @property
    def running(self) -> bool:
        return self.iterator is not None

    def target(self):
        """The chosen class id, or None for the least likely class."""
        index = self.target_combo.currentIndex()
        return None if index <= 0 else index - 1

    def begin(self) -> bool:
        if self.app_state.busy == "training":
            self.app_state.report("warning", "Training is running", "Pause or stop training before the experiment.")
            return False
        model = self.model = self.app_state.model
        try:  # plain SGD of its own: the model's optimizer and its state stay as they are
            self.iterator = single_image_experiment(model, self.app_state.x, target=self.target(),
                                                    train=self.train_combo.currentText(),
                                                    max_steps=self.steps_spin.value(),
                                                    optimizer=SGD(learning_rate=self.lr_spin.value()))
        except ValueError as error:
            self.app_state.report("warning", "Cannot run the experiment", str(error))
            return False
        self.app_state.claim("experiment", self.end)
        self.saved = model.get_weights()
        self.records = []
        self.undo_button.setEnabled(True)
        return True

    def step(self) -> None:
        """One iteration (the first shows the image before any training)."""
        if not self.running and not self.begin():
            self.timer.stop()
            return
        record = next(self.iterator, None)
        if record is None:
            self.end()
            return
        self.records.append(record)
        self._draw()
        names = self.app_state.class_names()
        self.status.setText(f"iteration {record['iteration']}: P({names[record['target']]}) = "
                            f"{record['target_probability']:.3f}, predicted {names[record['predicted']]}")
        if record["flipped"] or record["iteration"] >= self.steps_spin.value():
            self.end()

    def toggle_play(self) -> None:
        if self.timer.isActive():
            self.timer.stop()
        else:
            self.timer.start()
        self.play_button.setText("Pause" if self.timer.isActive() else "Play")

    def end(self) -> None:
        """Finish the experiment: the iterator closed, the views refreshed."""
        self.timer.stop()
        self.play_button.setText("Play")
        if self.iterator is None:
            return
        self.iterator.close()
        self.iterator = None
        self.app_state.release("experiment")
        if self.records and self.model is self.app_state.model:
            last = self.records[-1]
            names = self.app_state.class_names()
            if last["flipped"]:
                self.status.setText(f"The prediction flipped to {names[last['target']]} after "
                                    f"{last['iteration']} steps. Undo puts the weights back.")
            else:
                self.status.setText(f"Still {names[last['predicted']]} after {last['iteration']} steps "
                                    f"(P(target) = {last['target_probability']:.3f}).")
            self.app_state.refresh_trace()
            self.finished.emit(last)

    def undo(self) -> None:
        self.end()
        if self.saved is None:
            return
        self.model.set_weights(self.saved)
        self.saved = None
        self.undo_button.setEnabled(False)
        self.app_state.refresh_trace()
        self.status.setText("Weights from before the experiment restored.")

    def _draw(self) -> None:
        iterations = [r["iteration"] for r in self.records]
        probabilities = [r["target_probability"] for r in self.records]
        classes = len(self.records[0]["probabilities"])
        self.curve.setData(iterations, probabilities)
        self.points.setData(iterations, probabilities,
                            brush=[class_colour(r["predicted"], classes) for r in self.records],
                            data=[r["predicted"] for r in self.records])

    def shutdown(self) -> None:
        self.end()
