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
- ``epoch_done(list[dict])``: the epochs ended since the last one, each with epoch, samples, seconds, loss,
  accuracy, val_loss, val_accuracy (None without validation) and val_predicted ((N,) predicted class ids
  of the validation samples, or None); sent after the progress, at most every ``FLUSH_SECONDS`` (a tiny
  dataset ends a thousand epochs a second) and at once after the last epoch;
- ``snapshot(dict)``: after ``request_snapshot``, once ``set_live_sample`` gave a sample: the network on
  it (``engine.evaluation.live_snapshot``) and ``weights`` (or None), all copies. The GUI asks for the
  next one when it has drawn the last, so drawing sets the pace and never queues up;
- ``paused(str)``: "" for a requested pause, else why training diverged (a non-finite loss, or an update
  that made weights non-finite). The weights go back to the last checkpoint: every
  ``CHECKPOINT_SECONDS`` of training the worker checks that all weights are finite and keeps a copy,
  which costs nothing per batch (a copy and a check on every batch slowed small models by a sixth).
  A non-finite weight makes the next batch's loss non-finite, so divergence is caught at the next
  batch at the latest; the end of every epoch, a pause and a stop check too.
- ``done(str)``: "finished", "stopped" or "error: ..." once the run is over.
"""
from __future__ import annotations

import copy
import json
import threading
import time
from dataclasses import dataclass

import numpy as np
from PyQt5.QtCore import QObject, pyqtSignal
from threadpoolctl import ThreadpoolController

from ..engine.evaluation import live_snapshot
from ..engine.model import Sequential, accuracy
from ..engine.optimizers import get_optimizer

FLUSH_SECONDS = 0.2  # the plots redraw every 0.2 s at most: more often would only wake the GUI thread
CHECKPOINT_SECONDS = 0.1  # at most this much training is undone when training diverges
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


class BlasThreads:
    """How many threads numpy's BLAS uses while the worker trains: as many as it has (one per core), or one
    fewer, leaving a core to the GUI thread. A BLAS call waits, spinning, for a partner thread that the GUI
    pushed off its core: on 2 cores the dense preset trained at 0.75-0.9 of model.fit's speed with 2
    threads and at 0.95-1.0 with 1, a large CNN (kerasy-mnist) at 0.7 with 1. Which is faster depends on the
    model, the machine and how busy the GUI is, so after WARM_UP_SECONDS of training with all threads (the
    first redraws of a run are its busiest, and unlike the rest of it), batches alternate between the two
    for TRIAL_SECONDS, long enough to span a few redraws, and the one with the higher throughput is kept.
    It is remembered for the session by ``key`` (the network and batch size): Continue and later runs start
    with it."""

    WARM_UP_SECONDS, TRIAL_SECONDS, TRIALS = 0.5, 1.0, 8  # TRIALS: batches with each, at least
    known: dict = {}  # (key, threads available) -> threads chosen

    def __init__(self, key=None, libraries=None):
        """``libraries``: threadpoolctl's controllers of the BLAS libraries numpy loaded (by default, looked up)."""
        if libraries is None:
            libraries = ThreadpoolController().select(user_api="blas").lib_controllers
        self._libraries = libraries
        self._original = [library.num_threads for library in self._libraries]
        most = max(self._original, default=1)
        self.key = key
        self.candidates = (most, most - 1) if most > 1 else (most,)
        self.chosen = self.known.get((key, most)) if most > 1 else most
        if most > 1 and self.chosen is not None:
            self._use(self.chosen)
        self._trained = 0.0  # seconds of training seen
        self._timed = {threads: [0, 0, 0.0] for threads in self.candidates}  # batches, samples, seconds
        self._trying = self.candidates[0]

    def _use(self, threads: int) -> None:
        for library in self._libraries:
            library.set_num_threads(threads)

    def start_batch(self) -> None:
        if self.chosen is None and self._trained >= self.WARM_UP_SECONDS:
            self._trying = self.candidates[1] if self._trying == self.candidates[0] else self.candidates[0]
            self._use(self._trying)

    def end_batch(self, samples: int, seconds: float) -> None:
        if self.chosen is not None:
            return
        if self._trained >= self.WARM_UP_SECONDS:
            timed = self._timed[self._trying]
            timed[0] += 1
            timed[1] += samples
            timed[2] += seconds
        self._trained += seconds
        if all(batches >= self.TRIALS for batches, _, _ in self._timed.values()) and \
                sum(seconds for _, _, seconds in self._timed.values()) >= self.TRIAL_SECONDS:
            self.chosen = max(self.candidates, key=lambda threads: self._timed[threads][1] / self._timed[threads][2])
            self._use(self.chosen)
            if self.key is not None:
                self.known[self.key, self.candidates[0]] = self.chosen

    def restore(self) -> None:
        for library, threads in zip(self._libraries, self._original):
            library.set_num_threads(threads)


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
        self._position = (0, 0)  # (epoch, batch) training now
        self._checkpoint, self._checkpoint_time, self._checkpoint_at = None, 0.0, (0, 0)
        self._live_sample, self._live_weights, self._viewer = None, False, None
        self._snapshot_wanted = False
        self.blas = None  # the run's BlasThreads, made when it starts

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
        """Snapshots show the network on x: (H, W, C) from now on (None: no snapshots), with a copy of all
        the ``weights`` if asked (for tracing the sample in the GUI)."""
        with self._control:
            self._live_sample = None if x is None else np.array(x, np.float32)
            self._live_weights = weights

    def request_snapshot(self) -> None:
        """Send one ``snapshot`` after the batch that is training now."""
        with self._control:
            self._snapshot_wanted = True

    def _send_snapshot(self) -> None:
        """A snapshot of the network on the live sample, if one was asked for (called between batches).

        It runs on a twin of the model (its weights copied in), so the training model's batch-sized
        scratch buffers are not replaced by one-sample ones. Weights that are no longer finite are not
        shown: the next checkpoint or batch finds them and goes back to finite ones."""
        with self._control:
            x, weights, wanted = self._live_sample, self._live_weights, self._snapshot_wanted
            self._snapshot_wanted = False
        if x is None or not wanted or not self._weights_finite():
            return
        if self._viewer is None:
            self._viewer = Sequential.from_config(self.model.get_config())
        self._viewer.set_weights(self.model.get_weights())
        snapshot = live_snapshot(self._viewer, x)
        snapshot["weights"] = self._viewer.get_weights() if weights else None
        self.snapshot.emit(snapshot)

    def copy_state(self):
        """(weights dict, optimizer) copies of the model being trained, taken between batches: finite
        ones (the last checkpoint's, if the last batches diverged)."""
        with self.lock:
            if not self._weights_finite():
                self._restore_checkpoint()
            return self.model.weights_by_name(), clone_optimizer(self.model.optimizer)

    def load_weights(self, weights: dict) -> None:
        """Continue from these weights (e.g. the live model's, changed while paused)."""
        with self.lock:
            self.model.set_weights(weights)
            self._save_checkpoint()

    # ------------------------------------------------------------------ finite weights
    def _variables(self) -> list:
        """Every weight and running statistic of the model being trained (the arrays themselves)."""
        return [value for layer in self.model.layers for value in layer.variables().values()]

    def _weights_finite(self) -> bool:
        return all(np.isfinite(value).all() for value in self._variables())

    def _save_checkpoint(self) -> None:
        """Keep a copy of the current (finite) weights, from before batch ``self._position``."""
        variables = self._variables()
        if self._checkpoint is None:
            self._checkpoint = [value.copy() for value in variables]
        else:
            for kept, value in zip(self._checkpoint, variables):
                np.copyto(kept, value)
        self._checkpoint_time, self._checkpoint_at = time.perf_counter(), self._position

    def _restore_checkpoint(self) -> None:
        """Back to the checkpoint's weights, with a fresh optimizer state (momentum built from diverging
        gradients would push the same way again)."""
        for value, kept in zip(self._variables(), self._checkpoint):
            np.copyto(value, kept)
        self.model.optimizer.states.clear()

    def _checkpoint_due(self) -> bool:
        """Save a checkpoint if one is due; False if the weights are no longer finite (then nothing is saved)."""
        if time.perf_counter() - self._checkpoint_time < CHECKPOINT_SECONDS:
            return True
        if not self._weights_finite():
            return False
        self._save_checkpoint()
        return True

    def _diverged(self, reason: str, where: str = "") -> bool:
        """Go back to the checkpoint and pause, saying why (and ``where``, by default the batch training
        now); False if a stop was asked for meanwhile."""
        epoch, batch = self._position
        kept = "this batch"  # a non-finite loss on finite weights (e.g. a NaN pixel) changed nothing
        with self.lock:
            if not self._weights_finite():
                reason = "an update made some weights NaN or infinite"
                self._restore_checkpoint()
                kept_epoch, kept_batch = self._checkpoint_at
                if (kept_epoch, kept_batch) != (epoch, batch):
                    kept = f"batch {kept_batch + 1} of epoch {kept_epoch + 1}"
        where = where or f"epoch {epoch + 1}, batch {batch + 1}"
        message = (f"Training paused at {where}: {reason}. The weights from before "
                   f"{kept}, the last finite ones, are kept. Lower the learning rate (now "
                   f"{self.model.optimizer.learning_rate:g}) and resume.")
        return self._wait_if_paused(message)

    # ------------------------------------------------------------------ the thread
    def run(self) -> None:
        self.blas = BlasThreads(key=(json.dumps(self.model.get_config(), sort_keys=True), self.settings.batch_size))
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # divergence is caught and said, not warned
                outcome = self._train()
        except Exception as error:  # shown to the user; the thread must always end cleanly
            outcome = f"error: {type(error).__name__}: {error}"
        finally:
            self.blas.restore()
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
        if self._epochs:
            self.epoch_done.emit(self._epochs)
            self._epochs = []
        self._last_flush = time.perf_counter()

    def _train(self) -> str:
        n = len(self.x)
        self._buffer, self._epochs, self._last_flush = [], [], time.perf_counter()
        trained_seconds, trained_samples = 0.0, 0
        epoch = 0
        self._position = (0, 0)
        self._save_checkpoint()
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
                self._position = (epoch, batch)
                if not self._wait_if_paused():
                    self._flush()
                    return "stopped"
                size = self.settings.batch_size
                index = order[start:start + size]
                self.blas.start_batch()
                started = time.perf_counter()
                with self.lock:
                    diverged = None if self._checkpoint_due() else "an update made some weights NaN or infinite"
                    if diverged is None:
                        diverged, logs = self._train_batch(index)
                if diverged:
                    if not self._diverged(diverged):
                        self._flush()
                        return "stopped"
                    continue  # retry the same batch with the new settings
                seconds = time.perf_counter() - started
                self.blas.end_batch(len(index), seconds)
                trained_seconds += seconds
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
            self._position = (epoch + 1, 0)
            with self.lock:
                finite = self._weights_finite()  # before validating, and so every epoch ends on finite weights
            if not finite and not self._diverged("an update made some weights NaN or infinite",
                                                 f"the end of epoch {epoch + 1}"):
                self._flush()
                return "stopped"
            logs = {"epoch": epoch, "samples": trained_samples, "seconds": trained_seconds, "loss": loss_sum / n,
                    "accuracy": correct_sum / n, "val_loss": None, "val_accuracy": None, "val_predicted": None}
            if self.validation is not None:
                scores = self._validate()
                if scores is None:
                    self._flush()
                    return "stopped"
                logs["val_loss"], logs["val_accuracy"], logs["val_predicted"] = scores
            self._epochs.append(logs)
            if epoch + 1 >= self.settings.epochs or time.perf_counter() - self._last_flush >= FLUSH_SECONDS:
                self._flush()
            epoch += 1

    def _train_batch(self, index):
        """(why training diverged or None, logs) of one batch."""
        try:
            return None, self.model.train_on_batch(self.x[index], self.y[index])
        except ValueError as error:  # a non-finite loss: the engine did not update
            return str(error).split(": training diverged")[0], None

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

