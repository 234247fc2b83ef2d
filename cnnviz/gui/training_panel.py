"""The Training side panel: hyperparameters, train from scratch / continue / pause / stop, the runs of
the session overlaid on live loss and accuracy plots, progress.

Training runs in a ``TrainingWorker`` on its own QThread. The window's live model is never touched
by that thread: while training runs, the worker's snapshots (copies, one per redraw, every 0.2 to 1 s)
are drawn by the Live tab (and, if asked, put into the live model so the lecture views show the current
network on the current sample too); when training pauses, stops or
finishes, the panel copies the trained weights (and optimizer state) into the live model and calls
``app_state.refresh_trace()``; on resume it hands the live weights back (they may have been changed
while paused, e.g. by opening a weights file).

Every training is recorded as a ``cnnviz.runs.Run``: a new one for "Train from scratch" or a new
network, the same one extended by "Continue". Runs stay when the model changes, so a dense network
and a CNN can be compared on one plot (x axis: epochs, samples seen or seconds), shown, hidden,
renamed, deleted, saved as JSON, loaded, and exported as CSV or PNG.
"""
from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import QEvent, QSize, Qt, QThread, QTimer, pyqtSignal
from PyQt5.QtGui import QColor, QIcon, QPixmap
from PyQt5.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QGridLayout, QGroupBox, QHBoxLayout,
                             QLabel, QListWidget, QListWidgetItem, QProgressBar, QPushButton, QScrollArea,
                             QSizePolicy, QSpinBox, QVBoxLayout, QWidget)

from ..engine.evaluation import evaluate_predictions
from ..engine.model import Sequential
from ..runs import X_AXES, Run, export_csv, load_runs, save_runs
from .number_input import BoundedDoubleSpinBox
from .worker import OPTIMIZER_NAMES, Hyperparameters, TrainingWorker

# While training, plots, progress and live views are redrawn every REFRESH_MS, or less often (down to every
# MAX_REFRESH_MS) when drawing them took more than GUI_SHARE of the time: Python runs one thread at a
# time, so on a slow machine the views give way rather than slow training down.
REFRESH_MS = 200
MAX_REFRESH_MS = 1000
GUI_SHARE = 0.03
PLOT_POINTS = 1500  # a curve is drawn with at most about this many points: more than a plot has pixels across
PLOT_DOTS = 200     # the validation dots (one per epoch): more would merge into a line
RUN_COLOURS = ((80, 140, 255), (255, 150, 40), (90, 200, 90), (230, 70, 70), (180, 120, 240), (150, 100, 60),
               (240, 120, 200), (160, 160, 160), (200, 200, 50), (40, 200, 210))
RUNS_FILTER = "cnnviz runs (*.json)"


def format_seconds(seconds) -> str:
    if seconds is None or not np.isfinite(seconds):
        return "—"
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def thinned(x, y, peaks: bool = False, limit: int = PLOT_POINTS):
    """x, y: (N,) as arrays of at most about ``limit`` points, so redrawing a long run costs no more than a
    short one: every k-th point, or with ``peaks`` the lowest and the highest of every k (in their order, so
    a spike of the per-batch loss stays visible). The last N mod k points are kept as they are."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    k = -(-len(x) // limit)
    if k <= 1:
        return x, y
    whole = len(x) // k * k
    if not peaks:
        return np.concatenate([x[:whole:k], x[whole:]]), np.concatenate([y[:whole:k], y[whole:]])
    xs, ys = x[:whole].reshape(-1, k), y[:whole].reshape(-1, k)
    low, high = ys.argmin(axis=1), ys.argmax(axis=1)
    picked = np.stack([np.minimum(low, high), np.maximum(low, high)], axis=1)  # (buckets, 2), in x order
    rows = np.arange(len(xs))[:, None]
    return (np.concatenate([xs[rows, picked].ravel(), x[whole:]]),
            np.concatenate([ys[rows, picked].ravel(), y[whole:]]))


class MetricPlot(pg.PlotWidget):
    """One metric for every run: training per batch (faint), its smoothed line (named in the legend by
    the run's label), and validation per epoch (dots), all in the run's colour."""

    def __init__(self, metric: str, rises: bool = False, parent=None):
        super().__init__(parent)
        self.setMinimumHeight(110)
        item = self.getPlotItem()
        item.setLabel("bottom", "epochs")
        item.setLabel("left", metric)
        item.showGrid(x=True, y=True, alpha=0.2)
        item.setClipToView(True)
        item.setDownsampling(auto=True, mode="peak")
        item.getAxis("left").enableAutoSIPrefix(False)
        # The legend sits in the corner the curves leave empty: bottom right for a metric that rises
        # (``place_legend`` moves it when the curves end up there, e.g. continuing from trained weights).
        self.legend = item.addLegend(offset=(-2, -2 if rises else 2), labelTextSize="7pt", verSpacing=-8)
        self.legend.setBrush((20, 20, 20, 170))
        self.legend_at_top = not rises
        self.curves = {}  # Run -> (raw, smooth, validation)
        self._x_range = None

    def curves_of(self, run: Run, colour) -> tuple:
        if run not in self.curves:
            item = self.getPlotItem()
            self.curves[run] = (item.plot(pen=pg.mkPen((*colour, 90), width=1)),
                                item.plot(pen=pg.mkPen(colour, width=2)),
                                item.plot(pen=pg.mkPen(colour, width=1, style=Qt.DotLine), symbol="o", symbolSize=6,
                                          symbolBrush=colour))
            for curve in self.curves[run]:
                self.legend.removeItem(curve)
        return self.curves[run]

    def remove(self, run: Run) -> None:
        for curve in self.curves.pop(run, ()):
            self.getPlotItem().removeItem(curve)

    def sync_legend(self, runs) -> None:
        """The legend names the visible runs, in the run list's order."""
        self.legend.clear()
        for run in runs:
            if run.visible and run in self.curves:
                self.legend.addItem(self.curves[run][1], run.label)

    def place_legend(self) -> None:
        """Top right, unless the visible curves end in the upper half of the plot: then bottom right."""
        (x_low, x_high), (y_low, y_high) = self.getPlotItem().viewRange()
        right = x_low + 0.6 * (x_high - x_low)
        ends = []
        for _, smooth, validation in self.curves.values():
            for curve in (smooth, validation) if smooth.isVisible() else ():
                x, y = curve.getData()
                if x is not None and len(x):
                    x, y = np.asarray(x, float), np.asarray(y, float)
                    ends.extend(y[(x >= right) & np.isfinite(y)])
        top = not ends or float(np.mean(ends)) < (y_low + y_high) / 2
        if top != self.legend_at_top:
            self.legend_at_top = top
            corner = (1, 0) if top else (1, 1)
            self.legend.anchor(itemPos=corner, parentPos=corner, offset=(-2, 2 if top else -2))

    def show_x(self, upper: float) -> None:
        """A fixed x range: the curves grow into it, and the axes are not recomputed at every refresh
        (a third of the drawing cost)."""
        if self._x_range != upper:
            self._x_range = upper
            self.setXRange(0, upper, padding=0.02)

    def sizeHint(self):
        return QSize(320, 160)  # modest, so the side area's scrolling layout gives the plots what is left


def _swatch(colour) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(QColor(*colour))
    return QIcon(pixmap)


class TrainingPanel(QWidget):
    """Side panel that trains ``app_state.model`` on ``app_state.dataset`` (an AppState).

    ``state`` is "idle", "running" or "paused"; ``state_changed`` says when it changes.
    ``snapshot_ready(dict)``: the network on the current sample while training (see the worker's
    ``snapshot``); ``evaluated(dict)``: ``engine.evaluation.evaluate_predictions`` on the test set and
    the ``class_names``, at every epoch end.
    """

    state_changed = pyqtSignal(str)
    snapshot_ready = pyqtSignal(object)
    evaluated = pyqtSignal(object)

    def __init__(self, app_state, parent=None):
        super().__init__(parent)
        self.app_state = app_state
        self.state = "idle"
        self.thread = self.worker = self.trained_model = None
        self.latest = None      # the last batch record
        self._paced = None      # (wall, GUI-thread CPU) seconds at the last refresh while training
        self._snapshot = self._epoch_logs = None  # the newest snapshot and epoch end, for the next refresh
        self.runs: list[Run] = []
        self.run = None         # the run being recorded (Continue extends it)
        self._run_model = None  # the model that run trains
        self._offsets = {}      # position, samples, seconds where this training continues its run
        self._colours = {}
        self._dirty = set()

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
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setToolTip("Seed of the fresh random weights of 'Train from scratch'")
        self._setting_boxes = (self.optimizer_combo, self.lr_spin, self.momentum_spin, self.batch_spin,
                               self.epochs_spin, self.decay_spin, self.lr_decay_spin, self.seed_spin)
        for label, widget in zip(("optimizer", "learning rate", "momentum", "batch", "epochs", "weight decay",
                                  "lr decay", "seed"), self._setting_boxes):
            row, col = divmod(grid.count() // 2, 2)
            grid.addWidget(QLabel(label), row, 2 * col)
            grid.addWidget(widget, row, 2 * col + 1)
            if isinstance(widget, BoundedDoubleSpinBox):
                widget.what = label
                widget.clamped.connect(self._say_clamped)
            widget.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)  # as wide as the column, at least
        self.optimizer_combo.currentTextChanged.connect(self._settings_edited)
        for spin in (self.lr_spin, self.momentum_spin, self.batch_spin, self.epochs_spin, self.decay_spin,
                     self.lr_decay_spin):
            spin.valueChanged.connect(self._settings_edited)

        self.scratch_button = QPushButton("Train from scratch")
        self.scratch_button.setToolTip("Fresh random weights (with the seed above), a new run")
        self.scratch_button.clicked.connect(self.train_from_scratch)
        self.start_button = QPushButton("Continue")
        self.start_button.setToolTip("Train the current weights further (the run goes on)")
        self.start_button.clicked.connect(self.start)
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
        buttons = QHBoxLayout()
        for button in (self.scratch_button, self.start_button, self.pause_button, self.stop_button):
            buttons.addWidget(button)
        self.follow_box = QCheckBox("lecture views follow training")
        self.follow_box.setToolTip("Trace the current sample again with every snapshot of the training (a few "
                                   "times a second). The Live tab always follows; this costs the window tens of "
                                   "milliseconds per snapshot.")
        self.follow_box.toggled.connect(self._sample_changed)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("ready")
        self.speed = QLabel("")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setAlignment(Qt.AlignLeft | Qt.AlignTop)  # in the two lines _fit_to_font keeps for it

        self.x_combo = QComboBox()
        self.x_combo.addItems(X_AXES)
        self.x_combo.setToolTip("What the x axis counts: epochs, training samples seen, or seconds of training")
        self.x_combo.currentTextChanged.connect(self._x_axis_changed)
        self.loss_plot = MetricPlot("loss")
        self.accuracy_plot = MetricPlot("accuracy", rises=True)
        self.accuracy_plot.setYRange(0, 1)
        self.plots = QWidget()  # what "Export PNG" renders
        plot_column = QVBoxLayout(self.plots)
        plot_column.setContentsMargins(0, 0, 0, 0)
        plot_column.addWidget(self.loss_plot, 1)
        plot_column.addWidget(self.accuracy_plot, 1)

        runs_box = QGroupBox("Runs (tick to show, double-click to rename)")
        runs_column = QVBoxLayout(runs_box)
        runs_column.setContentsMargins(4, 4, 4, 4)
        self.run_list = QListWidget()
        self.run_list.setMaximumHeight(56)
        self.run_list.itemChanged.connect(self._run_item_changed)
        runs_column.addWidget(self.run_list)
        run_buttons = QHBoxLayout()
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self.delete_selected_run)
        self.save_runs_button = QPushButton("Save…")
        self.save_runs_button.setToolTip("Save every run (metrics, model, hyperparameters) as JSON")
        self.save_runs_button.clicked.connect(self._save_runs_dialog)
        self.load_runs_button = QPushButton("Load…")
        self.load_runs_button.clicked.connect(self._load_runs_dialog)
        self.csv_button = QPushButton("CSV…")
        self.csv_button.setToolTip("Export every run's metrics as a CSV table")
        self.csv_button.clicked.connect(self._csv_dialog)
        self.png_button = QPushButton("PNG…")
        self.png_button.setToolTip("Export the plots as a PNG picture")
        self.png_button.clicked.connect(self._png_dialog)
        for button in (self.delete_button, self.save_runs_button, self.load_runs_button, self.csv_button,
                       self.png_button):
            run_buttons.addWidget(button)
            button.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
        run_buttons.addWidget(QLabel("x:"))
        run_buttons.addWidget(self.x_combo)
        self.x_combo.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
        runs_column.addLayout(run_buttons)
        key = QLabel("lines: training per batch (faint) and smoothed · dots: validation after each epoch")
        key.setWordWrap(True)
        runs_column.addWidget(key)

        column = QVBoxLayout(self)
        column.setContentsMargins(2, 2, 2, 2)
        column.addWidget(settings)
        column.addLayout(buttons)
        column.addWidget(self.follow_box)
        column.addWidget(self.progress)  # its own row: beside the speed, "epoch 5/5 · batch 125/125" was cut
        column.addWidget(self.speed)
        column.addWidget(self.status)
        column.addWidget(runs_box)
        column.addWidget(self.plots, 1)

        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        app_state.model_changed.connect(self._model_changed)
        app_state.sample_changed.connect(self._sample_changed)
        self._show_optimizer(app_state.model.optimizer)
        self._set_state("idle")
        self._fit_to_font()

    def _fit_to_font(self) -> None:
        """Boxes and buttons share the panel's width but never get narrower than their text, so with
        scaled fonts the panel asks for more room (app.fit_side_area gives it) instead of cutting them."""
        metrics = self.fontMetrics()
        # Two lines kept free: an epoch's summary does not move the plots below it (a relayout repaints
        # them all, tens of milliseconds while training).
        self.status.setMinimumHeight(2 * metrics.lineSpacing() + 4)
        box = metrics.horizontalAdvance("0.000000") + metrics.height() + 14  # text, arrows, frame
        for widget in self._setting_boxes:
            widget.setMinimumWidth(box)
        for button in (self.delete_button, self.save_runs_button, self.load_runs_button, self.csv_button,
                       self.png_button):
            button.setMinimumWidth(metrics.horizontalAdvance(button.text()) + 12)
        self.x_combo.setMinimumWidth(max(metrics.horizontalAdvance(text) for text in X_AXES) + metrics.height() + 16)

    def changeEvent(self, event) -> None:
        if event.type() == QEvent.FontChange:
            self._fit_to_font()
        super().changeEvent(event)

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

    def _show_optimizer(self, optimizer) -> None:
        """The settings boxes show the model's own optimizer: one optimizer for the step-through and
        for training."""
        if optimizer.name not in OPTIMIZER_NAMES:
            return
        boxes = (self.optimizer_combo, self.lr_spin, self.momentum_spin, self.decay_spin, self.lr_decay_spin)
        for box in boxes:
            box.blockSignals(True)
        self.optimizer_combo.setCurrentText(optimizer.name)
        self.lr_spin.setValue(optimizer.learning_rate)
        if optimizer.name == "sgd":
            self.momentum_spin.setValue(optimizer.momentum)
        self.decay_spin.setValue(optimizer.weight_decay)
        self.lr_decay_spin.setValue(optimizer.lr_decay)
        for box in boxes:
            box.blockSignals(False)
        self.momentum_spin.setEnabled(optimizer.name == "sgd")

    def _settings_edited(self) -> None:
        self.momentum_spin.setEnabled(self.optimizer_combo.currentText() == "sgd")
        if self.worker is None:  # idle: the model's optimizer (what the Update step shows) follows at once
            try:
                optimizer = self.settings().make_optimizer()
            except ValueError as error:
                self.status.setText(f"Not applied: {error}")
                return
            if optimizer.get_config() != self.app_state.model.optimizer.get_config():
                self.app_state.set_optimizer(optimizer)
                self.status.setText(f"The step-through's update and training now use {optimizer.name}, "
                                    f"learning rate {optimizer.learning_rate:g}.")
            return
        try:
            self.worker.set_hyperparameters(self.settings())
        except ValueError as error:
            self.status.setText(f"Not applied: {error}")
            return
        when = "on resume" if self.state == "paused" else "from the next epoch"
        self.status.setText(f"New settings apply {when}; the network keeps its weights.")
        position = self.run.batches["position"][-1] if self.run.batches["position"] else 0.0
        self._note_settings(position if self.state == "paused" else math.floor(position) + 1)

    def _hyperparameters(self) -> dict:
        """The settings as a run records them."""
        settings = self.settings()
        keys = ("optimizer", "learning_rate", "batch_size", "epochs", "weight_decay", "lr_decay")
        return {key: getattr(settings, key) for key in keys} | (
            {"momentum": settings.momentum} if settings.optimizer == "sgd" else {})

    def _note_settings(self, position: float) -> None:
        """A run that goes on with other settings records them in its hyperparameters' "changes" (from which
        epoch, the new settings), so the run says how it was trained."""
        recorded = self.run.hyperparameters
        changes = recorded.get("changes", [])
        position = round(position, 4)
        if changes and changes[-1]["from_epoch"] == position:  # edited again before it took effect
            changes = changes[:-1]
        latest = {key: value for key, value in (changes[-1] if changes else recorded).items()
                  if key not in ("changes", "from_epoch")}
        current = self._hyperparameters()
        if current != latest:
            changes = [*changes, {"from_epoch": position, **current}]
        if changes:
            recorded["changes"] = changes
        else:
            recorded.pop("changes", None)

    # ------------------------------------------------------------------ control
    @property
    def model(self):
        return self.app_state.model

    def _set_state(self, state: str) -> None:
        self.state = state
        self.start_button.setEnabled(state == "idle")
        self.scratch_button.setEnabled(state == "idle")
        self.pause_button.setEnabled(state != "idle")
        self.stop_button.setEnabled(state != "idle")
        self.pause_button.setText("Resume" if state == "paused" else "Pause")
        self.state_changed.emit(state)

    def train_from_scratch(self) -> bool:
        """Fresh random weights (seeded by the seed box) and a fresh optimizer, then a new run. Nothing
        changes if training cannot start (a message says why)."""
        if self.state != "idle" or not self._can_train():
            return False
        model = self.model
        seed = self.seed_spin.value()
        model.set_weights(Sequential.from_config(model.get_config(), seed=seed).get_weights())
        model.optimizer = self.settings().make_optimizer()
        self.app_state.refresh_trace()
        return self.start(new_run=True, seed=seed)

    def _can_train(self) -> bool:
        """True if the live model can train on the window's dataset; else a message says why."""
        data, model = self.app_state.dataset, self.model
        problem = None
        if data is None:
            problem = "There is no dataset to train on."
        elif tuple(model.input_shape) != tuple(data.x_train.shape[1:]):
            problem = (f"The model takes {'x'.join(map(str, model.input_shape))} images but the dataset has "
                       f"{'x'.join(map(str, data.x_train.shape[1:]))}. Choose a model that fits it (Model menu, "
                       f"or File > Open dataset offers them).")
        elif model.output_shape[-1] < len(data.class_names):
            problem = (f"The model has {model.output_shape[-1]} outputs but the dataset has "
                       f"{len(data.class_names)} classes.")
        else:
            try:
                self.settings().make_optimizer()
            except ValueError as error:
                problem = str(error)
        if problem is not None:
            self.app_state.report("warning", "Cannot train", problem)
        return problem is None

    def start(self, new_run: bool = False, seed=None) -> bool:
        """Train the live model on the window's dataset; False (with a message) if that cannot be.

        The run goes on (Continue) if it trained this model last, else (or with ``new_run``) a new run starts.
        """
        if self.state != "idle" or not self._can_train():
            return False
        self.app_state.claim("training", self.stop)  # ends the single-image experiment, if one runs
        data, model = self.app_state.dataset, self.model
        try:
            worker = TrainingWorker(model, data.x_train, data.y_train, data.x_test, data.y_test, self.settings())
        except ValueError as error:
            self.app_state.release("training")
            self.app_state.report("warning", "Cannot train", str(error))
            return False
        if new_run or self.run is None or self._run_model is not model or self.run not in self.runs:
            self.add_run(Run.start(model, self._hyperparameters(), dataset=data.name, seed=seed))
            self._run_model = model
        self._offsets = {column: (self.run.batches[column][-1] if self.run.batches[column] else 0.0)
                         for column in ("position", "samples", "seconds")}
        self._note_settings(self._offsets["position"])
        self._val_labels = data.y_test
        self._class_names = list(data.class_names)
        self.worker = worker
        self.thread = QThread(self)
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)
        worker.progress.connect(self._on_progress)
        worker.epoch_done.connect(self._on_epoch)
        worker.paused.connect(self._on_paused)
        worker.done.connect(self._on_done)
        worker.snapshot.connect(self._on_snapshot)
        self._sample_changed()
        self.latest = self._snapshot = self._epoch_logs = None
        self.trained_model = model
        self.status.setText(f"Training {model.name} on {len(data.x_train)} images, validating on "
                            f"{len(data.x_test)}.")
        self._set_state("running")
        self.thread.start()
        self._start_refreshing()
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
        self._start_refreshing()

    def _start_refreshing(self) -> None:
        self._paced = (time.perf_counter(), time.thread_time())  # the first redraw is paced by what starting cost
        self.timer.start(REFRESH_MS)
        self.worker.request_snapshot()

    def _pace(self) -> None:
        """The next redraw comes once drawing has used at most GUI_SHARE of the time since the last one
        (measured as this thread's CPU time: the refresh, the painting it caused and the signals)."""
        now, cpu = time.perf_counter(), time.thread_time()
        if self._paced is not None:
            spent = cpu - self._paced[1]
            self.timer.setInterval(round(min(MAX_REFRESH_MS, max(REFRESH_MS, 1000 * spent / GUI_SHARE))))
        self._paced = (now, cpu)

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

    def evaluate_now(self) -> bool:
        """The confusion matrix of the live model on the test set, now (False without fitting test data)."""
        data = self.app_state.dataset
        if data is None or not len(data.x_test) or tuple(data.input_shape) != tuple(self.model.input_shape):
            return False
        predicted = self.model.predict(data.x_test).argmax(axis=1)
        self._emit_evaluation(data.y_test, predicted, list(data.class_names))
        return True

    def _emit_evaluation(self, labels, predicted, class_names) -> None:
        classes = max(len(class_names), int(predicted.max(initial=0)) + 1)
        self.evaluated.emit({**evaluate_predictions(labels, predicted, classes), "class_names": class_names})

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
        offsets = self._offsets
        for record in records:
            self.run.add_batch(loss=record["loss"], accuracy=record["accuracy"],
                               **{column: offsets[column] + record[column] for column in offsets})
        self.latest = records[-1]
        self._dirty.add(self.run)

    def _on_epoch(self, epochs) -> None:
        if not self._from_worker():
            return
        offsets = self._offsets
        for logs in epochs:
            self.run.add_epoch(position=offsets["position"] + logs["epoch"] + 1,
                               samples=offsets["samples"] + logs["samples"], seconds=offsets["seconds"] + logs["seconds"],
                               loss=logs["loss"], accuracy=logs["accuracy"], val_loss=logs["val_loss"],
                               val_accuracy=logs["val_accuracy"])
        self._dirty.add(self.run)
        self._epoch_logs = epochs[-1]  # shown by the next refresh: short epochs do not each relayout the panel

    def _show_epoch(self, logs) -> None:
        text = f"Epoch {logs['epoch'] + 1}: loss {logs['loss']:.4f}, accuracy {logs['accuracy']:.3f}"
        if logs["val_loss"] is not None:
            text += f"; validation loss {logs['val_loss']:.4f}, accuracy {logs['val_accuracy']:.3f}"
            self._emit_evaluation(self._val_labels, logs["val_predicted"], self._class_names)
        self.status.setText(text)

    def _on_snapshot(self, snapshot) -> None:
        if self._from_worker():
            self._snapshot = snapshot  # drawn by the next refresh: only the newest one counts

    def _sample_changed(self) -> None:
        """The snapshots show the window's sample (with all weights if the lecture views follow)."""
        if self.worker is not None:
            self.worker.set_live_sample(self.app_state.x, weights=self.follow_box.isChecked())

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
        self._snapshot = None
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
        """A new architecture: training of the old one ends; its runs stay for comparison. The boxes show
        the new model's optimizer."""
        self.stop_and_wait()
        self.refresh()
        self._show_optimizer(self.app_state.model.optimizer)
        self.status.setText(f"{self.app_state.model.name}: train it from scratch, or continue from its weights.")
        self.progress.setValue(0)
        self.progress.setFormat("ready")

    # ------------------------------------------------------------------ runs
    def add_run(self, run: Run) -> None:
        """Keep ``run`` in the session (list, plots); a newly started one becomes the run being recorded."""
        used = {self._colours[r] for r in self.runs}
        self._colours[run] = next((c for c in RUN_COLOURS if c not in used), RUN_COLOURS[len(self.runs) % 10])
        self.runs.append(run)
        self.run = run
        item = QListWidgetItem(_swatch(self._colours[run]), run.label)
        item.setFlags(item.flags() | Qt.ItemIsUserCheckable | Qt.ItemIsEditable)
        item.setCheckState(Qt.Checked if run.visible else Qt.Unchecked)
        item.setToolTip(f"{run.architecture}\n{run.hyperparameters}")
        self.run_list.blockSignals(True)
        self.run_list.addItem(item)
        self.run_list.blockSignals(False)
        for plot in (self.loss_plot, self.accuracy_plot):
            smooth = plot.curves_of(run, self._colours[run])[1]
            if run.visible:
                plot.legend.addItem(smooth, run.label)  # the legend keeps the list's order
            else:
                for curve in plot.curves[run]:
                    curve.setVisible(False)
        self._dirty.add(run)

    def set_run_visible(self, index: int, visible: bool) -> None:
        self.run_list.item(index).setCheckState(Qt.Checked if visible else Qt.Unchecked)

    def rename_run(self, index: int, label: str) -> None:
        self.run_list.item(index).setText(label)

    def delete_run(self, index: int) -> None:
        run = self.runs.pop(index)
        self.run_list.takeItem(index)
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.remove(run)
        self._colours.pop(run)
        if run is self.run and self.worker is None:
            self.run = None
        self._runs_changed()

    def delete_selected_run(self) -> None:
        row = self.run_list.currentRow()
        if row < 0:
            self.status.setText("Select a run in the list to delete it.")
        elif self.runs[row] is self.run and self.worker is not None:
            self.status.setText("This run is being trained: stop it first.")
        else:
            self.delete_run(row)

    def _run_item_changed(self, item) -> None:
        run = self.runs[self.run_list.row(item)]
        visible, label = item.checkState() == Qt.Checked, item.text().strip() or run.label
        if (visible, label) == (run.visible, run.label):
            return
        run.visible, run.label = visible, label
        for plot in (self.loss_plot, self.accuracy_plot):
            for curve in plot.curves.get(run, ()):
                curve.setVisible(run.visible)
        self._runs_changed()

    def _runs_changed(self) -> None:
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.sync_legend(self.runs)
        self.refresh()

    def save_runs(self, path) -> bool:
        try:
            save_runs(path, self.runs)
        except (OSError, ValueError) as error:
            self.app_state.report("warning", "Cannot save the runs", f"{path}: {error}")
            return False
        self.status.setText(f"Saved {len(self.runs)} runs to {path}.")
        return True

    def load_runs(self, path) -> bool:
        """Add the runs of a file to the session (beside the ones there); a message if it cannot be read."""
        try:
            runs = load_runs(path)
        except ValueError as error:
            self.app_state.report("warning", "Cannot load the runs", f"{error}\n\nThe runs shown are kept.")
            return False
        current = self.run
        for run in runs:
            self.add_run(run)
        self.run = current  # loaded runs are for comparing; Continue keeps extending the current one
        self.status.setText(f"Loaded {len(runs)} runs from {path}.")
        return True

    def export_csv(self, path) -> bool:
        try:
            export_csv(path, self.runs)
        except OSError as error:
            self.app_state.report("warning", "Cannot export the runs", f"{path}: {error}")
            return False
        return True

    def export_png(self, path) -> bool:
        if not self.plots.grab().save(str(path), "PNG"):
            self.app_state.report("warning", "Cannot export the plots", f"{path}: could not write the PNG file")
            return False
        return True

    def _save_runs_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save runs", "runs.json", RUNS_FILTER)
        if path:
            self.save_runs(path)

    def _load_runs_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load runs", "", f"{RUNS_FILTER};;All files (*)")
        if path:
            self.load_runs(path)

    def _csv_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export runs as CSV", "runs.csv", "CSV table (*.csv)")
        if path:
            self.export_csv(path)

    def _png_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the plots", "runs.png", "PNG picture (*.png)")
        if path:
            self.export_png(path)

    # ------------------------------------------------------------------ drawing
    def _x_axis_changed(self, axis: str) -> None:
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.setLabel("bottom", axis)
        self._dirty.update(self.runs)
        self.refresh()

    def _x_upper(self, column: str) -> float:
        """Where the x axis ends: past the last point of every visible run, by a doubling span (to the
        end of the run being trained when that is known), so it changes rarely."""
        last = max((run.batches[column][-1] for run in self.runs if run.visible and run.batches[column]), default=0.0)
        if column == "position" and self.latest is not None and self.run is not None and self.run.visible:
            last = max(last, self._offsets["position"] + min(self.latest["epochs"], 2 ** math.ceil(
                math.log2(max(self.latest["position"], 1.0)))))
            return last
        return 2 ** math.ceil(math.log2(last)) if last > 0 else 1.0

    def refresh(self) -> None:
        """Feed the curves, the progress bar and the live views (called by the timer every REFRESH_MS while
        training)."""
        column = X_AXES[self.x_combo.currentText()]
        for run in self._dirty:
            if run not in self._colours:
                continue
            for plot, metric in ((self.loss_plot, "loss"), (self.accuracy_plot, "accuracy")):
                raw, smooth, validation = plot.curves_of(run, self._colours[run])
                raw.setData(*thinned(run.batches[column], run.batches[metric], peaks=True))
                smooth.setData(*thinned(run.batches[column], run.smoothed(metric)))
                validation.setData(*thinned(run.epochs[column], run.epochs[f"val_{metric}"], limit=PLOT_DOTS),
                                   connect="finite")
        if self._dirty:
            for plot in (self.loss_plot, self.accuracy_plot):
                plot.show_x(self._x_upper(column))
                plot.place_legend()
            self.run_list.blockSignals(True)  # a new tooltip is not a renamed or hidden run
            for row, run in enumerate(self.runs):
                self.run_list.item(row).setToolTip(f"{run.describe()}\n{run.architecture}\n{run.hyperparameters}")
            self.run_list.blockSignals(False)
        self._dirty = set()
        record = self.latest
        if record is not None:
            epochs = record["epochs"]
            self.progress.setValue(int(1000 * min(1.0, record["position"] / epochs)))
            self.progress.setFormat(f"epoch {record['epoch'] + 1}/{epochs} · batch {record['batch'] + 1}/"
                                    f"{record['batches']}")
            self.speed.setText(f"{record['samples_per_s']:,.0f} samples/s · "
                               f"{format_seconds(record['time_left'])} left")
        if self._epoch_logs is not None:
            self._show_epoch(self._epoch_logs)
            self._epoch_logs = None
        if self._snapshot is not None:
            self._show_snapshot(self._snapshot)
            self._snapshot = None
        if self.worker is not None and self.state == "running":
            self.worker.request_snapshot()  # the next one, drawn at the next refresh
            self._pace()

    def _show_snapshot(self, snapshot) -> None:
        """The live views draw the snapshot; the lecture views too if asked (tracing and drawing a view
        takes tens of milliseconds, so by default they show the network when training pauses or ends)."""
        self.snapshot_ready.emit(snapshot)
        if snapshot["weights"] is not None and self.follow_box.isChecked() and self.trained_model is self.model:
            self.model.set_weights(snapshot["weights"])
            self.app_state.refresh_trace()

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
