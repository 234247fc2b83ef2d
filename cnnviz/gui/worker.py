"""Training in a worker thread, on the engine's fast path (``train_on_batch`` on shuffled mini-batches).

The worker trains its OWN copy of the model (same architecture, weights and optimizer state), so the
GUI thread can trace, predict and draw with the live model at any time without racing the training.
Copies go back and forth only at safe points: ``copy_state()`` (weights and optimizer, taken between
batches under ``lock``) when training pauses, stops or finishes, and ``load_weights()`` before resuming.

Control from the GUI thread (thread-safe, acting between batches): ``pause()``, ``resume()``,
``stop()``, ``set_hyperparameters()`` (applied at the next epoch start and on resume, without
resetting the network). Signals carry plain Python numbers, never live arrays:

- ``progress(list[dict])``: batch records (epoch, epochs, batch, batches, loss, accuracy, size, position
  in epochs, samples and seconds of training so far, samples_per_s, time_left), sent in chunks at most
  every ``FLUSH_SECONDS``;
- ``epoch_done(dict)``: epoch, samples, seconds, loss, accuracy, val_loss, val_accuracy (None without
  validation) and val_predicted ((N,) predicted class ids of the validation samples, or None);
- ``snapshot(dict)``: at most every ``SNAPSHOT_SECONDS`` once ``set_live_sample`` gave a sample: the
  network on it (``engine.evaluation.live_snapshot``) and ``weights`` (or None), all copies;
- ``paused(str)``: "" for a requested pause, else why (a non-finite loss, or an update that made weights
  non-finite: that batch is rolled back, so the weights stay the last finite ones);
- ``done(str)``: "finished", "stopped" or "error: ..." once the run is over.
"""
from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass

import numpy as np
from PyQt5.QtCore import QObject, pyqtSignal

from ..engine.evaluation import live_snapshot
from ..engine.model import Sequential, accuracy
from ..engine.optimizers import get_optimizer

FLUSH_SECONDS = 0.1  # the plots redraw every 0.2 s: more often would only wake the GUI thread
SNAPSHOT_SECONDS = 0.3  # the live views redraw this often at most
OPTIMIZER_NAMES = ("sgd", "adam", "rmsprop", "adagrad")


@dataclass
class Hyperparameters:
    optimizer: str = "adam"
    learning_rate: float = 0.001
    momentum: float = 0.9          # SGD only
    batch_size: int = 32
    epochs: int = 5
    weight_decay: float = 0.0
    lr_decay: float = 1.0          # learning rate of epoch e: learning_rate * lr_decay**e

    def make_optimizer(self):
        """A new optimizer with these settings (ValueError for a bad value)."""
        if self.optimizer not in OPTIMIZER_NAMES:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; expected one of {list(OPTIMIZER_NAMES)}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch size must be a positive whole number, got {self.batch_size!r}")
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"epochs must be a positive whole number, got {self.epochs!r}")
        config = {"name": self.optimizer, "learning_rate": self.learning_rate, "weight_decay": self.weight_decay,
                  "lr_decay": self.lr_decay}
        if self.optimizer == "sgd":
            config["momentum"] = self.momentum
        return get_optimizer(config)


def clone_optimizer(optimizer):
    """An independent copy of an optimizer: settings and per-parameter state."""
    twin = get_optimizer(optimizer.get_config())
    twin.states = copy.deepcopy(optimizer.states)
    twin.epoch = optimizer.epoch
    return twin


def clone_model(model: Sequential) -> Sequential:
    """An independent, compiled copy of ``model``: architecture, weights, optimizer state, loss, metrics."""
    twin = Sequential.from_config(model.get_config(), seed=model.seed)
    twin.set_weights(model.get_weights())
    twin.compile(optimizer="sgd", loss=model.loss or "categorical_crossentropy", metrics=["accuracy"])
    if model.optimizer is not None:
        twin.optimizer = clone_optimizer(model.optimizer)
    return twin


def apply_hyperparameters(optimizer, settings: Hyperparameters):
    """The optimizer to train with: the same one (state kept) with new settings if the kind is
    unchanged, else a fresh one of the new kind. The network is never touched."""
    fresh = settings.make_optimizer()
    if fresh.name != optimizer.name:
        return fresh
    optimizer.learning_rate, optimizer.weight_decay, optimizer.lr_decay = (
        fresh.learning_rate, fresh.weight_decay, fresh.lr_decay)
    if fresh.name == "sgd":
        optimizer.momentum = fresh.momentum
    return optimizer


class TrainingWorker(QObject):
    """Trains a copy of ``model`` on (x, y), validating on (x_val, y_val) after every epoch.

    x: (N, H, W, C) float32, y: (N,) class ids; x_val/y_val may be None. Move it to a QThread and
    connect ``QThread.started`` to ``run``.
    """

    progress = pyqtSignal(object)
    epoch_done = pyqtSignal(object)
    paused = pyqtSignal(str)
    done = pyqtSignal(str)
    snapshot = pyqtSignal(object)

    def __init__(self, model: Sequential, x, y, x_val=None, y_val=None, settings: Hyperparameters | None = None,
                 seed=0):
        super().__init__()
        self.settings = copy.copy(settings or Hyperparameters())
        self.settings.make_optimizer()  # check the settings before anything starts
        self.model = clone_model(model)
        self.model.optimizer = apply_hyperparameters(self.model.optimizer, self.settings)
        self.x = self.model.check_x(x)
        self.y = self.model.check_y(y, len(self.x))
        self.validation = None
        if x_val is not None and len(x_val):
            x_val = self.model.check_x(x_val)
            self.validation = (x_val, self.model.check_y(y_val, len(x_val)))
        self.rng = np.random.default_rng(seed)
        self.lock = threading.Lock()           # held while one batch trains
        self._control = threading.Condition()
        self._pause_requested = self._stop_requested = False
        self._pending = None
        self._finite = None  # the weights before the current batch, to roll back to
        self._live_sample, self._live_weights, self._viewer = None, False, None
        self._last_snapshot = 0.0

    # ------------------------------------------------------------------ control (any thread)
    def pause(self) -> None:
        with self._control:
            self._pause_requested = True

    def resume(self) -> None:
        with self._control:
            self._pause_requested = False
            self._control.notify_all()

    def stop(self) -> None:
        with self._control:
            self._stop_requested = True
            self._control.notify_all()

    def set_hyperparameters(self, settings: Hyperparameters) -> None:
        """Use ``settings`` from the next epoch (or resume) on; ValueError at once if one is bad."""
        settings.make_optimizer()
        with self._control:
            self._pending = copy.copy(settings)

    def set_live_sample(self, x, weights: bool = False) -> None:
        """Send ``snapshot``s of the network on x: (H, W, C) from now on (None: stop sending them), with a
        copy of all the ``weights`` if asked (for tracing the sample in the GUI)."""
        with self._control:
            self._live_sample = None if x is None else np.array(x, np.float32)
            self._live_weights = weights

    def _send_snapshot(self) -> None:
        """A snapshot of the network on the live sample, if one is due (called between batches).

        It runs on a twin of the model (its weights copied in), so the training model's batch-sized
        scratch buffers are not replaced by one-sample ones."""
        with self._control:
            x, weights = self._live_sample, self._live_weights
        now = time.perf_counter()
        if x is None or now - self._last_snapshot < SNAPSHOT_SECONDS:
            return
        self._last_snapshot = now
        if self._viewer is None:
            self._viewer = Sequential.from_config(self.model.get_config())
        self._viewer.set_weights(self.model.get_weights())
        snapshot = live_snapshot(self._viewer, x)
        snapshot["weights"] = self._viewer.get_weights() if weights else None
        self.snapshot.emit(snapshot)

    def copy_state(self):
        """(weights dict, optimizer) copies of the model being trained, taken between batches."""
        with self.lock:
            return self.model.weights_by_name(), clone_optimizer(self.model.optimizer)

    def load_weights(self, weights: dict) -> None:
        """Continue from these weights (e.g. the live model's, changed while paused)."""
        with self.lock:
            self.model.set_weights(weights)

    # ------------------------------------------------------------------ the thread
    def run(self) -> None:
        try:
            outcome = self._train()
        except Exception as error:  # shown to the user; the thread must always end cleanly
            outcome = f"error: {type(error).__name__}: {error}"
        self.done.emit(outcome)

    def _apply_pending(self) -> None:
        with self._control:
            settings, self._pending = self._pending, None
        if settings is not None:
            with self.lock:
                self.model.optimizer = apply_hyperparameters(self.model.optimizer, settings)
            self.settings = settings

    def _wait_if_paused(self, reason: str = "") -> bool:
        """Block while paused; False once a stop is requested."""
        with self._control:
            if reason:
                self._pause_requested = True
            if self._pause_requested and not self._stop_requested:
                self._flush()
                self.paused.emit(reason)
                while self._pause_requested and not self._stop_requested:
                    self._control.wait()
                resumed = True
            else:
                resumed = False
            stop = self._stop_requested
        if resumed and not stop:
            self._apply_pending()
        return not stop

    def _flush(self) -> None:
        if self._buffer:
            self.progress.emit(self._buffer)
            self._buffer = []
        self._last_flush = time.perf_counter()

    def _train(self) -> str:
        n = len(self.x)
        self._buffer, self._last_flush = [], time.perf_counter()
        trained_seconds, trained_samples = 0.0, 0
        epoch = 0
        while True:
            self._apply_pending()
            if epoch >= self.settings.epochs:
                return "finished"
            optimizer = self.model.optimizer
            optimizer.epoch = epoch
            order = self.rng.permutation(n)
            start = batch = 0
            loss_sum = correct_sum = 0.0
            while start < n:
                if not self._wait_if_paused():
                    self._flush()
                    return "stopped"
                size = self.settings.batch_size
                index = order[start:start + size]
                started = time.perf_counter()
                with self.lock:
                    diverged, logs = self._train_batch(index)
                if diverged:
                    message = (f"Training paused at epoch {epoch + 1}, batch {batch + 1}: {diverged}. "
                               f"The weights from before this batch, the last finite ones, are kept. Lower the "
                               f"learning rate (now {self.model.optimizer.learning_rate:g}) and resume.")
                    if not self._wait_if_paused(message):
                        self._flush()
                        return "stopped"
                    continue  # retry the same batch with the new settings
                trained_seconds += time.perf_counter() - started
                trained_samples += len(index)
                start += len(index)
                loss_sum += logs["loss"] * len(index)
                correct_sum += logs["accuracy"] * len(index)
                rate = trained_samples / trained_seconds if trained_seconds > 0 else 0.0
                remaining = (self.settings.epochs - epoch) * n - start
                self._buffer.append({
                    "epoch": epoch, "epochs": self.settings.epochs, "batch": batch,
                    "batches": batch + 1 + -(-(n - start) // size),  # done + still to come at this size
                    "loss": float(logs["loss"]), "accuracy": float(logs["accuracy"]), "size": len(index),
                    "position": epoch + start / n, "samples": trained_samples, "seconds": trained_seconds,
                    "samples_per_s": rate,
                    "time_left": remaining / rate if rate else None})
                batch += 1
                if time.perf_counter() - self._last_flush >= FLUSH_SECONDS:
                    self._flush()
                self._send_snapshot()
            self._flush()
            logs = {"epoch": epoch, "samples": trained_samples, "seconds": trained_seconds, "loss": loss_sum / n,
                    "accuracy": correct_sum / n, "val_loss": None, "val_accuracy": None, "val_predicted": None}
            if self.validation is not None:
                scores = self._validate()
                if scores is None:
                    return "stopped"
                logs["val_loss"], logs["val_accuracy"], logs["val_predicted"] = scores
            self.epoch_done.emit(logs)
            epoch += 1

    def _train_batch(self, index):
        """(why training diverged or None, logs) of one batch. A batch whose loss is not finite changes
        nothing; one whose update makes weights NaN or infinite is rolled back to the weights before it
        (and the optimizer's running state is reset), so the model always holds finite weights."""
        layers = [layer for layer in self.model.layers if layer.variables()]
        if self._finite is None:
            self._finite = [{key: value.copy() for key, value in layer.variables().items()} for layer in layers]
        for layer, kept in zip(layers, self._finite):
            for key, value in layer.variables().items():
                np.copyto(kept[key], value)
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                logs = self.model.train_on_batch(self.x[index], self.y[index])
        except ValueError as error:  # a non-finite loss: the engine did not update
            return str(error), None
        if all(np.isfinite(value).all() for layer in layers for value in layer.variables().values()):
            return None, logs
        for layer, kept in zip(layers, self._finite):
            for key, value in layer.variables().items():
                np.copyto(value, kept[key])
        self.model.optimizer.states.clear()  # momentum built from the diverging gradients would push again
        return "its update made some weights NaN or infinite", None

    def _validate(self, chunk: int = 256):
        """(loss, accuracy, predicted class ids) on the validation data; None if a stop comes in between."""
        x, y = self.validation
        outputs = []
        for start in range(0, len(x), chunk):
            if self._stop_requested:
                return None
            with self.lock:
                outputs.append(self.model.predict(x[start:start + chunk]))
        y_pred = np.concatenate(outputs)
        return float(self.model.compute_loss(y_pred, y)), accuracy(y_pred, y), y_pred.argmax(axis=1)

