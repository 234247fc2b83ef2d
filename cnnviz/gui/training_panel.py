"""The Training side panel: hyperparameters, start/pause/stop, live loss and accuracy plots, progress.

Training runs in a ``TrainingWorker`` on its own QThread. The window's live model is never touched
by that thread: when training pauses, stops or finishes, the panel copies the trained weights (and
optimizer state) into the live model and calls ``app_state.refresh_trace()``, so every lecture view
shows the current network; on resume it hands the live weights back (they may have been changed
while paused, e.g. by opening a weights file).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import QSize, Qt, QThread, QTimer, pyqtSignal
from PyQt5.QtWidgets import (QComboBox, QDoubleSpinBox, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
                             QProgressBar, QPushButton, QScrollArea, QSizePolicy, QSpinBox, QVBoxLayout, QWidget)

from .number_input import BoundedDoubleSpinBox
from .worker import OPTIMIZER_NAMES, Hyperparameters, TrainingWorker

REFRESH_MS = 200       # plots and progress are redrawn this often while training
SMOOTHING = 0.9        # exponential moving average of the per-batch curves
TRAIN_RAW = (110, 150, 230, 110)
TRAIN_SMOOTH = (80, 140, 255)
VALIDATION = (255, 170, 40)


def format_seconds(seconds) -> str:
    if seconds is None or not np.isfinite(seconds):
        return "—"
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class MetricPlot(pg.PlotWidget):
    """One metric: training per batch (faint), its smoothed line, and validation per epoch (dots)."""

    def __init__(self, metric: str, rises: bool = False, parent=None):
        super().__init__(parent)
        self.setMinimumHeight(130)
        item = self.getPlotItem()
        item.setLabel("bottom", "epoch")
        item.setLabel("left", metric)
        item.showGrid(x=True, y=True, alpha=0.2)
        item.setClipToView(True)
        item.setDownsampling(auto=True, mode="peak")
        item.getAxis("left").enableAutoSIPrefix(False)
        # The legend sits in the corner the curves leave empty: bottom right for a metric that rises.
        legend = item.addLegend(offset=(-2, -2 if rises else 2), labelTextSize="7pt", verSpacing=-8)
        legend.setBrush((20, 20, 20, 170))
        self.raw = item.plot(pen=pg.mkPen(TRAIN_RAW, width=1), name="training (batch)")
        self.smooth = item.plot(pen=pg.mkPen(TRAIN_SMOOTH, width=2), name="training (smoothed)")
        self.validation = item.plot(pen=pg.mkPen(VALIDATION, width=2), symbol="o", symbolSize=7,
                                    symbolBrush=VALIDATION, name="validation (epoch)")

    def show_epochs(self, last: float) -> None:
        """A fixed x range (to the run's last epoch, or to a doubling span for long runs): the curves grow
        into it, and the axes are not recomputed at every refresh (a third of the drawing cost)."""
        if getattr(self, "_last_epoch", None) != last:
            self._last_epoch = last
            self.setXRange(0, last, padding=0.02)

    def sizeHint(self):
        return QSize(320, 160)  # modest, so the side area's scrolling layout gives the plots what is left


class TrainingPanel(QWidget):
    """Side panel that trains ``app_state.model`` on ``app_state.dataset`` (an AppState).

    ``state`` is "idle", "running" or "paused"; ``state_changed`` says when it changes.
    """

    state_changed = pyqtSignal(str)

    def __init__(self, app_state, parent=None):
        super().__init__(parent)
        self.app_state = app_state
        self.state = "idle"
        self.thread = self.worker = self.trained_model = None
        self.latest = None      # the last batch record
        self._x_offset = 0.0    # plots continue where the previous run ended
        self._dirty = False
        self.clear_history()

        settings = QGroupBox("Hyperparameters")
        grid = QGridLayout(settings)
        grid.setContentsMargins(4, 4, 4, 4)
        grid.setVerticalSpacing(2)
        defaults = Hyperparameters()
        self.optimizer_combo = QComboBox()
        self.optimizer_combo.addItems(OPTIMIZER_NAMES)
        self.optimizer_combo.setCurrentText(defaults.optimizer)
        self.lr_spin = self._double(0.0, 10.0, 6, defaults.learning_rate, "Learning rate of the first epoch")
        self.momentum_spin = self._double(0.0, 0.999, 3, defaults.momentum, "Momentum (SGD only)")
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(1, 4096)
        self.batch_spin.setValue(defaults.batch_size)
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(1, 100_000)
        self.epochs_spin.setValue(defaults.epochs)
        self.decay_spin = self._double(0.0, 1.0, 6, defaults.weight_decay, "L2 weight decay on kernels")
        self.lr_decay_spin = self._double(0.0, 1.0, 4, defaults.lr_decay,
                                          "Learning rate of epoch e = learning rate × decay^e (1 = no decay)")
        for label, widget in (("optimizer", self.optimizer_combo), ("learning rate", self.lr_spin),
                              ("momentum", self.momentum_spin), ("batch", self.batch_spin),
                              ("epochs", self.epochs_spin), ("weight decay", self.decay_spin),
                              ("lr decay", self.lr_decay_spin)):
            row, col = divmod(grid.count() // 2, 2)
            grid.addWidget(QLabel(label), row, 2 * col)
            grid.addWidget(widget, row, 2 * col + 1)
            if isinstance(widget, BoundedDoubleSpinBox):
                widget.what = label
                widget.clamped.connect(self._say_clamped)
            widget.setMinimumWidth(70)
            widget.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
        self.optimizer_combo.currentTextChanged.connect(self._settings_edited)
        for spin in (self.lr_spin, self.momentum_spin, self.batch_spin, self.epochs_spin, self.decay_spin,
                     self.lr_decay_spin):
            spin.valueChanged.connect(self._settings_edited)

        self.start_button = QPushButton("Train")
        self.start_button.setToolTip("Train the current network on the dataset's training images")
        self.start_button.clicked.connect(self.start)
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
        buttons = QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.stop_button):
            buttons.addWidget(button)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("ready")
        self.speed = QLabel("")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.loss_plot = MetricPlot("loss")
        self.accuracy_plot = MetricPlot("accuracy", rises=True)
        self.accuracy_plot.setYRange(0, 1)

        column = QVBoxLayout(self)
        column.setContentsMargins(2, 2, 2, 2)
        column.addWidget(settings)
        column.addLayout(buttons)
        column.addWidget(self.progress)
        column.addWidget(self.speed)
        column.addWidget(self.status)
        column.addWidget(self.loss_plot, 1)
        column.addWidget(self.accuracy_plot, 1)

        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        app_state.model_changed.connect(self._model_changed)
        self._set_state("idle")

    @staticmethod
    def _double(low, high, decimals, value, tip) -> QDoubleSpinBox:
        spin = BoundedDoubleSpinBox("value")
        spin.setRange(low, high)
        spin.setDecimals(decimals)
        spin.setStepType(QDoubleSpinBox.AdaptiveDecimalStepType)
        spin.setValue(value)
        spin.setToolTip(tip)
        return spin

    def _say_clamped(self, message: str) -> None:
        self.status.setText(message)
        self.app_state.report("info", "Value out of range", message)

    # ------------------------------------------------------------------ settings
    def settings(self) -> Hyperparameters:
        return Hyperparameters(optimizer=self.optimizer_combo.currentText(), learning_rate=self.lr_spin.value(),
                               momentum=self.momentum_spin.value(), batch_size=self.batch_spin.value(),
                               epochs=self.epochs_spin.value(), weight_decay=self.decay_spin.value(),
                               lr_decay=self.lr_decay_spin.value())

    def _settings_edited(self) -> None:
        self.momentum_spin.setEnabled(self.optimizer_combo.currentText() == "sgd")
        if self.worker is None:
            return
        try:
            self.worker.set_hyperparameters(self.settings())
        except ValueError as error:
            self.status.setText(f"Not applied: {error}")
            return
        when = "on resume" if self.state == "paused" else "from the next epoch"
        self.status.setText(f"New settings apply {when}; the network keeps its weights.")

    # ------------------------------------------------------------------ control
    @property
    def model(self):
        return self.app_state.model

    def _set_state(self, state: str) -> None:
        self.state = state
        self.start_button.setEnabled(state == "idle")
        self.pause_button.setEnabled(state != "idle")
        self.stop_button.setEnabled(state != "idle")
        self.pause_button.setText("Resume" if state == "paused" else "Pause")
        self.state_changed.emit(state)

    def start(self) -> bool:
        """Train the live model on the window's dataset; False (with a message) if that cannot be."""
        if self.state != "idle":
            return False
        data = self.app_state.dataset
        model = self.model
        problem = None
        if data is None:
            problem = "There is no dataset to train on."
        elif tuple(model.input_shape) != tuple(data.x_train.shape[1:]):
            problem = (f"The model takes {'x'.join(map(str, model.input_shape))} images but the dataset has "
                       f"{'x'.join(map(str, data.x_train.shape[1:]))}.")
        elif model.output_shape[-1] < len(data.class_names):
            problem = (f"The model has {model.output_shape[-1]} outputs but the dataset has "
                       f"{len(data.class_names)} classes.")
        if problem is None:
            self.app_state.claim("training", self.stop)  # ends the single-image experiment, if one runs
            try:
                worker = TrainingWorker(model, data.x_train, data.y_train, data.x_test, data.y_test, self.settings())
            except ValueError as error:
                problem = str(error)
                self.app_state.release("training")
        if problem is not None:
            self.app_state.report("warning", "Cannot train", problem)
            return False
        self._x_offset = self.history["x"][-1] if self.history["x"] else 0.0
        self.worker = worker
        self.thread = QThread(self)
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)
        worker.progress.connect(self._on_progress)
        worker.epoch_done.connect(self._on_epoch)
        worker.paused.connect(self._on_paused)
        worker.done.connect(self._on_done)
        self.latest = None
        self.trained_model = model
        self.status.setText(f"Training {model.name} on {len(data.x_train)} images, validating on "
                            f"{len(data.x_test)}.")
        self._set_state("running")
        self.thread.start()
        self.timer.start()
        return True

    def pause(self) -> None:
        if self.state == "running":
            self.worker.pause()

    def resume(self) -> None:
        if self.state != "paused":
            return
        self.worker.load_weights(self.trained_model.get_weights())
        self._set_state("running")
        self.status.setText("Training.")
        self.worker.resume()
        self.timer.start()

    def toggle_pause(self) -> None:
        self.resume() if self.state == "paused" else self.pause()

    def stop(self) -> None:
        """Ask the worker to stop after the current batch; ``done`` follows."""
        if self.worker is not None:
            self.worker.stop()

    def stop_and_wait(self) -> None:
        """Stop training now and wait for the thread (closing, opening weights, a new model)."""
        if self.worker is None:
            return
        self.worker.stop()
        self._finish("stopped")

    def save_weights(self, path) -> None:
        """Save the current weights atomically: while training, the worker's, between two batches."""
        if self.worker is not None and self.state == "running":
            with self.worker.lock:
                self.worker.model.save_weights(path)
        else:
            self.model.save_weights(path)

    # ------------------------------------------------------------------ worker signals
    def _from_worker(self) -> bool:
        """False for signals still queued from a worker that has been stopped already."""
        return self.worker is not None and self.sender() is self.worker

    def _take_weights(self) -> None:
        """Copy the trained weights and optimizer into the model that was trained; if the window still
        shows it, every view now shows them."""
        weights, optimizer = self.worker.copy_state()
        self.trained_model.set_weights(weights)
        self.trained_model.optimizer = optimizer
        if self.trained_model is self.model:
            self.app_state.refresh_trace()

    def _on_progress(self, records) -> None:
        if not self._from_worker():
            return
        h = self.history
        for record in records:
            h["x"].append(self._x_offset + record["position"])
            for metric in ("loss", "accuracy"):
                value = record[metric]
                h[metric].append(value)
                self._ema[metric] = SMOOTHING * self._ema[metric] + (1 - SMOOTHING) * value
                h[f"{metric}_smooth"].append(self._ema[metric] / (1 - SMOOTHING ** len(h[metric])))
        self.latest = records[-1]
        self._dirty = True

    def _on_epoch(self, logs) -> None:
        if not self._from_worker():
            return
        if logs["val_loss"] is not None:
            h = self.history
            h["val_x"].append(self._x_offset + logs["epoch"] + 1)
            h["val_loss"].append(logs["val_loss"])
            h["val_accuracy"].append(logs["val_accuracy"])
            self._dirty = True
        text = f"Epoch {logs['epoch'] + 1}: loss {logs['loss']:.4f}, accuracy {logs['accuracy']:.3f}"
        if logs["val_loss"] is not None:
            text += f"; validation loss {logs['val_loss']:.4f}, accuracy {logs['val_accuracy']:.3f}"
        self.status.setText(text)

    def _on_paused(self, reason: str) -> None:
        if not self._from_worker():
            return
        self._set_state("paused")
        self.timer.stop()
        self.refresh()
        self._take_weights()
        if reason:
            self.status.setText(reason)
            self.app_state.report("warning", "Training paused: training diverged", reason)
        else:
            self.status.setText("Paused: every view shows the current weights. Step through a sample, then resume.")

    def _on_done(self, outcome: str) -> None:
        if self._from_worker():
            self._finish(outcome)

    def _finish(self, outcome: str) -> None:
        self.thread.quit()
        self.thread.wait()
        self._take_weights()
        self.thread.deleteLater()  # the worker has no parent: Python frees it with the last reference
        self.worker = self.thread = None
        self.timer.stop()
        self.refresh()
        self._set_state("idle")
        self.app_state.release("training")
        if outcome.startswith("error"):
            self.status.setText(f"Training failed: {outcome[7:]}")
            self.app_state.report("warning", "Training failed", outcome[7:])
        else:
            self.status.setText(f"Training {outcome}. Every view shows the trained weights.")
            self.speed.setText(f"{outcome} · {self.speed.text()}")

    def _model_changed(self) -> None:
        """A new architecture: training of the old one ends and its plots go."""
        self.stop_and_wait()
        self.clear_history()
        self.refresh()

    # ------------------------------------------------------------------ drawing
    def clear_history(self) -> None:
        self.history = {key: [] for key in ("x", "loss", "accuracy", "loss_smooth", "accuracy_smooth", "val_x",
                                            "val_loss", "val_accuracy")}
        self._ema = {"loss": 0.0, "accuracy": 0.0}
        self.latest = None
        self._dirty = True

    def refresh(self) -> None:
        """Feed the curves and the progress bar (called by the timer every REFRESH_MS while training)."""
        if self._dirty:
            h = self.history
            for plot, metric in ((self.loss_plot, "loss"), (self.accuracy_plot, "accuracy")):
                plot.raw.setData(h["x"], h[metric])
                plot.smooth.setData(h["x"], h[f"{metric}_smooth"])
                plot.validation.setData(h["val_x"], h[f"val_{metric}"])
            self._dirty = False
        record = self.latest
        if record is not None:
            epochs = record["epochs"]
            span = 1.0  # the x range doubles as training goes on, up to the last epoch of the run
            while span < record["position"]:
                span *= 2
            for plot in (self.loss_plot, self.accuracy_plot):
                plot.show_epochs(self._x_offset + min(epochs, span))
            self.progress.setValue(int(1000 * min(1.0, record["position"] / epochs)))
            self.progress.setFormat(f"epoch {record['epoch'] + 1}/{epochs} · batch {record['batch'] + 1}/"
                                    f"{record['batches']}")
            self.speed.setText(f"{record['samples_per_s']:,.0f} samples/s · "
                               f"{format_seconds(record['time_left'])} left")

    def shutdown(self) -> None:
        self.timer.stop()
        self.stop_and_wait()


def scrolled(widget) -> QScrollArea:
    """The side area keeps any window size possible: a tall panel scrolls instead."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
    area.setFrameShape(QScrollArea.NoFrame)
    return area
