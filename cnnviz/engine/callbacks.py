"""Callbacks that ``Sequential.fit`` calls, Keras-style: History, the progress bar, EarlyStopping,
ModelCheckpoint and LambdaCallback.

Batch logs hold the batch's own ``loss``, metrics and ``size``; epoch logs hold the epoch means
and ``val_`` entries when there is validation data.
"""
from __future__ import annotations

import math
import sys
import time

import numpy as np


class Callback:
    """Hooks called by ``fit``. Set ``model.stop_training = True`` to stop between batches."""

    model = None
    params: dict = {}  # set by fit: verbose, epochs, steps (batches per epoch), samples

    def on_train_begin(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_batch_end(self, batch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_train_end(self, logs=None): ...


class History(Callback):
    """Per-epoch metrics: ``history.history['loss']``, ``['accuracy']``, ``['val_loss']``, ...;
    ``params`` holds fit's ``verbose``, ``epochs`` and ``steps`` (batches per epoch)."""

    def __init__(self):
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.params = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


def format_logs(logs: dict) -> str:
    """' - loss: 0.1234 - accuracy: 0.9800' (Keras' way of writing metrics)."""
    return "".join(f" - {key}: {value:.4f}" for key, value in logs.items() if key != "size")


def format_seconds(seconds: float) -> str:
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{seconds:.0f}s"


class ProgbarLogger(Callback):
    """What ``fit(verbose=1)`` and ``fit(verbose=2)`` print, as Keras does.

    verbose=1: 'Epoch 3/12' and a line redrawn after each batch (on a terminal; elsewhere only its
    final state):  ``1216/4000 [=========>...................] - ETA: 3s - loss: 0.6123 - accuracy: 0.8012``
    verbose=2: one line per epoch. The running loss and metrics are the epoch's means so far.
    """

    WIDTH = 30
    INTERVAL = 0.05  # seconds between redraws on a terminal

    def __init__(self, verbose: int = 1, stream=None):
        self.verbose = verbose
        self.stream = stream

    def on_train_begin(self, logs=None):
        self.out = self.stream or sys.stdout
        self.dynamic = bool(getattr(self.out, "isatty", lambda: False)())

    def on_epoch_begin(self, epoch, logs=None):
        print(f"Epoch {epoch + 1}/{self.params['epochs']}", file=self.out, flush=True)
        self.started = self.last_draw = time.perf_counter()
        self.seen, self.steps, self.sums = 0, 0, {}

    def on_batch_end(self, batch, logs=None):
        size = logs["size"]
        self.seen += size
        self.steps += 1
        for key, value in logs.items():
            if key != "size":
                self.sums[key] = self.sums.get(key, 0.0) + value * size
        now = time.perf_counter()
        if self.verbose == 1 and self.dynamic and (now - self.last_draw >= self.INTERVAL or
                                                   self.seen >= self.params["samples"]):
            self.last_draw = now
            self.out.write("\r" + self.line(now, {}) + " ")
            self.out.flush()

    def line(self, now: float, extra: dict, final: bool = False) -> str:
        total = self.params["samples"]
        elapsed = now - self.started
        running = {key: value / max(self.seen, 1) for key, value in self.sums.items()}
        per_step = f"{1000 * elapsed / max(self.steps, 1):.0f}ms/step"
        if self.verbose == 2:
            return f"{self.steps}/{self.params['steps']} - {format_seconds(elapsed)} - {per_step}" + format_logs(extra)
        width = len(str(total))
        done = int(self.WIDTH * self.seen / max(total, 1))
        bar = "=" * done if done >= self.WIDTH else "=" * max(done - 1, 0) + ">" + "." * (self.WIDTH - done)
        timing = (f"{format_seconds(elapsed)} {per_step}" if final else
                  f"ETA: {format_seconds(elapsed / max(self.seen, 1) * (total - self.seen))} - {per_step}")
        return f"{self.seen:>{width}}/{total} [{bar[:self.WIDTH]}] - {timing}" + format_logs({**running, **extra})

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        line = self.line(time.perf_counter(), logs, final=True)
        print(("\r" if self.dynamic and self.verbose == 1 else "") + line, file=self.out, flush=True)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs;
    ``restore_best_weights`` puts back the weights of the best epoch."""

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0, verbose: int = 0,
                 mode: str = "auto", baseline=None, restore_best_weights: bool = False, start_from_epoch: int = 0):
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.monitor, self.patience, self.verbose = monitor, int(patience), verbose
        self.baseline, self.restore_best_weights = baseline, restore_best_weights
        self.start_from_epoch = int(start_from_epoch)
        maximize = mode == "max" or (mode == "auto" and ("acc" in monitor or monitor.endswith("auc")))
        self.sign = 1.0 if maximize else -1.0
        self.min_delta = abs(min_delta)

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best_weights = 0, 0, None
        self.best = -np.inf if self.baseline is None else self.sign * self.baseline

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor not in (logs or {}):
            raise ValueError(f"EarlyStopping: monitor {self.monitor!r} is not among the logged values "
                             f"{sorted(logs or {})}")
        if epoch < self.start_from_epoch:
            return
        score = self.sign * logs[self.monitor]
        if score - self.min_delta > self.best:
            self.best, self.wait = score, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.restore_best_weights and self.best_weights is not None:
                self.model.set_weights(self.best_weights)

    def on_train_end(self, logs=None):
        if self.stopped_epoch and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")


class ModelCheckpoint(Callback):
    """Save the model (``save_weights_only``: the weights) after each epoch to ``filepath``, which may
    hold ``{epoch}`` and log names (``'model-{epoch:02d}-{val_loss:.2f}.keras'``). Every file is
    written atomically. ``save_best_only`` saves only when ``monitor`` improves."""

    def __init__(self, filepath, monitor: str = "val_loss", verbose: int = 0, save_best_only: bool = False,
                 save_weights_only: bool = False, mode: str = "auto", save_freq="epoch", initial_value_threshold=None):
        if save_freq != "epoch":
            raise ValueError(f"ModelCheckpoint: save_freq {save_freq!r} is not supported; cnnviz saves once per epoch "
                             "(save_freq='epoch')")
        self.filepath, self.monitor, self.verbose = str(filepath), monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        maximize = mode == "max" or (mode == "auto" and "acc" in monitor)
        self.sign = 1.0 if maximize else -1.0
        self.best = -np.inf if initial_value_threshold is None else self.sign * initial_value_threshold

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            if self.monitor not in logs:
                raise ValueError(f"ModelCheckpoint: monitor {self.monitor!r} is not among the logged values "
                                 f"{sorted(logs)}")
            score = self.sign * logs[self.monitor]
            if not score > self.best:
                return
            self.best = score
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved {path}")


class LambdaCallback(Callback):
    """A callback made of functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_batch_begin=None, on_batch_end=None,
                 on_train_begin=None, on_train_end=None):
        if on_batch_begin is not None:
            raise ValueError("LambdaCallback: on_batch_begin is not supported; cnnviz calls on_batch_end, "
                             "on_epoch_begin/end and on_train_begin/end")
        for name, function in (("on_epoch_begin", on_epoch_begin), ("on_epoch_end", on_epoch_end),
                               ("on_batch_end", on_batch_end), ("on_train_begin", on_train_begin),
                               ("on_train_end", on_train_end)):
            if function is not None:
                setattr(self, name, function)


def steps_per_epoch(samples: int, batch_size: int) -> int:
    return math.ceil(samples / batch_size)
