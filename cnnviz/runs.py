"""Training runs: what one run of training was (model, optimizer, data) and what it measured.

A ``Run`` is plain data, free of Qt, so runs can be compared, saved to JSON, loaded again and
exported as CSV. Per batch it keeps the position in epochs, the samples seen, the training
seconds (pauses and validation not counted), loss and accuracy; per epoch the same plus the
validation loss and accuracy.

>>> run = Run.start(model, {"optimizer": "adam", "learning_rate": 0.001}, dataset="mnist")
>>> run.add_batch(position=0.1, samples=32, seconds=0.01, loss=2.3, accuracy=0.1)
>>> save_runs("runs.json", [run]); load_runs("runs.json")[0].label
'dense 784-128-10, adam 1e-3'
"""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .limits import read_json

FORMAT = "cnnviz-runs"
VERSION = 1
MAX_FILE_BYTES = 200 * 2**20  # a runs file: a long run has a row of numbers per batch
BATCH_COLUMNS = ("position", "samples", "seconds", "loss", "accuracy")
EPOCH_COLUMNS = (*BATCH_COLUMNS, "val_loss", "val_accuracy")
X_AXES = {"epochs": "position", "samples seen": "samples", "seconds": "seconds"}
SMOOTHING = 0.9  # exponential moving average of the per-batch curves


def short_architecture(model) -> str:
    """'dense 784-128-10' for a network of Flatten/Dense/Dropout layers only, else the model's name."""
    kinds = {type(layer).__name__ for layer in model.layers}
    if kinds <= {"Flatten", "Dense", "Dropout", "Activation"} and "Dense" in kinds:
        sizes = [int(np.prod(model.input_shape))] + [layer.units for layer in model.layers if hasattr(layer, "units")]
        return "dense " + "-".join(map(str, sizes))
    return model.name


def short_number(value: float) -> str:
    """1e-3 for 0.001, 0.05 for 0.05: learning rates as people write them."""
    return f"{value:.0e}".replace("e-0", "e-") if 0 < abs(value) < 0.01 else f"{value:g}"


def architecture_summary(model) -> str:
    """Every layer, one after the other: 'Flatten → Dense 128 relu → Dense 10 softmax'."""
    return " → ".join(layer.describe() for layer in model.layers)


@dataclass(eq=False)  # runs are compared by identity (and are keys of the plots' curves)
class Run:
    """One training run. ``batches`` and ``epochs`` map a column name to a list of floats."""

    label: str
    model_name: str
    architecture: str
    hyperparameters: dict
    dataset: str = ""
    seed: int | None = None
    batches: dict = field(default_factory=lambda: {c: [] for c in BATCH_COLUMNS})
    epochs: dict = field(default_factory=lambda: {c: [] for c in EPOCH_COLUMNS})
    visible: bool = True

    def __post_init__(self):
        self._ema = {"loss": [], "accuracy": []}
        for index in range(len(self.batches["loss"])):
            self._smooth(index)

    @classmethod
    def start(cls, model, hyperparameters: dict, dataset: str = "", seed=None, label: str = "") -> "Run":
        """A new, empty run of ``model`` trained with ``hyperparameters`` (optimizer, learning_rate, ...)."""
        optimizer = hyperparameters.get("optimizer", "?")
        rate = hyperparameters.get("learning_rate")
        default = f"{short_architecture(model)}, {optimizer}" + ("" if rate is None else f" {short_number(rate)}")
        return cls(label or default, model.name, architecture_summary(model), dict(hyperparameters), dataset, seed)

    # ------------------------------------------------------------------ recording
    def add_batch(self, **values) -> None:
        """One batch: position (epochs), samples (seen so far), seconds (so far), loss, accuracy."""
        for column in BATCH_COLUMNS:
            self.batches[column].append(float(values[column]))
        self._smooth(len(self.batches["loss"]) - 1)

    def add_epoch(self, **values) -> None:
        """The end of an epoch: the batch columns plus val_loss and val_accuracy (None: not validated)."""
        for column in EPOCH_COLUMNS:
            value = values.get(column)
            self.epochs[column].append(math.nan if value is None else float(value))

    def _smooth(self, index: int) -> None:
        """The bias-corrected moving average of loss and accuracy up to batch ``index``."""
        for metric, ema in self._ema.items():
            value = self.batches[metric][index]
            previous = ema[-1] * (1 - SMOOTHING ** index) if index else 0.0
            ema.append((SMOOTHING * previous + (1 - SMOOTHING) * value) / (1 - SMOOTHING ** (index + 1)))

    # ------------------------------------------------------------------ reading
    def smoothed(self, metric: str) -> list[float]:
        return self._ema[metric]

    @property
    def wall_time(self) -> float:
        """Seconds of training so far."""
        return self.batches["seconds"][-1] if self.batches["seconds"] else 0.0

    @property
    def samples_per_s(self) -> float:
        seconds = self.wall_time
        return self.batches["samples"][-1] / seconds if seconds > 0 else 0.0

    def describe(self) -> str:
        """One line for a run list: label, epochs, last validation accuracy, time and speed."""
        parts = [self.label, f"{self.batches['position'][-1] if self.batches['position'] else 0:g} epochs"]
        validated = [v for v in self.epochs["val_accuracy"] if not math.isnan(v)]
        if validated:
            parts.append(f"val acc {validated[-1]:.3f}")
        parts.append(f"{self.wall_time:.1f} s, {self.samples_per_s:,.0f} samples/s")
        return " · ".join(parts)

    def to_dict(self) -> dict:
        return {"label": self.label, "model_name": self.model_name, "architecture": self.architecture,
                "hyperparameters": self.hyperparameters, "dataset": self.dataset, "seed": self.seed,
                "visible": self.visible, "wall_time": self.wall_time, "samples_per_s": self.samples_per_s,
                "batches": _nan_to_none(self.batches), "epochs": _nan_to_none(self.epochs)}

    @classmethod
    def from_dict(cls, data, where: str = "run") -> "Run":
        """A run from ``to_dict`` output; ValueError naming what is wrong."""
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected an object, got {type(data).__name__}")
        texts = {}
        for key in ("label", "model_name", "architecture", "dataset"):
            value = data.get(key, "")
            if not isinstance(value, str):
                raise ValueError(f"{where}: '{key}' must be text, got {type(value).__name__}")
            texts[key] = value
        hyperparameters = data.get("hyperparameters", {})
        seed = data.get("seed")
        if not isinstance(hyperparameters, dict) or not (seed is None or isinstance(seed, int)):
            raise ValueError(f"{where}: 'hyperparameters' must be an object and 'seed' a whole number or null")
        tables = {}
        for key, columns in (("batches", BATCH_COLUMNS), ("epochs", EPOCH_COLUMNS)):
            table = data.get(key)
            if not isinstance(table, dict) or set(table) != set(columns):
                raise ValueError(f"{where}: '{key}' must hold the columns {list(columns)}")
            lengths = {len(v) if isinstance(v, list) else -1 for v in table.values()}
            if len(lengths) != 1 or -1 in lengths:
                raise ValueError(f"{where}: the columns of '{key}' must be lists of one length")
            try:
                tables[key] = {c: [math.nan if v is None else float(v) for v in table[c]] for c in columns}
            except (TypeError, ValueError):
                raise ValueError(f"{where}: '{key}' holds something that is not a number") from None
        return cls(texts["label"] or "run", texts["model_name"], texts["architecture"], hyperparameters,
                   texts["dataset"], seed, tables["batches"], tables["epochs"], bool(data.get("visible", True)))


def _nan_to_none(table: dict) -> dict:
    """JSON has no NaN: a missing value (e.g. no validation that epoch) is written as null."""
    return {column: [None if math.isnan(v) else v for v in values] for column, values in table.items()}


# ---------------------------------------------------------------- files
def save_runs(path, runs) -> None:
    """All ``runs`` as one JSON file, written atomically."""
    from .engine.weights import atomic_write

    text = json.dumps({"format": FORMAT, "version": VERSION, "runs": [run.to_dict() for run in runs]}, indent=1,
                      allow_nan=False)
    atomic_write(path, lambda stream: stream.write(text.encode("utf-8")))


def load_runs(path) -> list[Run]:
    """The runs of a file written by ``save_runs``; ValueError with the file and the problem."""
    path = Path(path)
    try:
        data = read_json(path, "runs file", limit=MAX_FILE_BYTES)
    except ValueError as error:
        raise ValueError(f"not a readable runs file: {error}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("runs"), list):
        raise ValueError(f"{path}: expected a cnnviz runs file (JSON with \"format\": \"{FORMAT}\" and a list "
                         "of \"runs\")")
    return [Run.from_dict(entry, f"{path}: run {index + 1}") for index, entry in enumerate(data["runs"])]


def export_csv(path, runs) -> None:
    """One row per batch and per epoch of every run: run, kind (batch/epoch), then the columns."""
    from .engine.weights import atomic_write

    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(["run", "kind", *EPOCH_COLUMNS])
    for run in runs:
        for kind, table in (("batch", run.batches), ("epoch", run.epochs)):
            columns = [table.get(c, [math.nan] * len(table["loss"])) for c in EPOCH_COLUMNS]
            for row in zip(*columns):
                writer.writerow([run.label, kind, *("" if math.isnan(v) else f"{v:.9g}" for v in row)])
    atomic_write(path, lambda stream: stream.write(text.getvalue().encode("utf-8")))
