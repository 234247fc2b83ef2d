"""``Sequential``: a Keras-style model over the NumPy layers.

Two ways to drive it:

- the fast path: ``compile`` then ``fit`` / ``evaluate`` / ``predict`` on batches;
- the step API that lectures use: ``forward(x, training)``, ``backward(y_true)``, ``update()``.

Arrays are NHWC: x: (N, H, W, C); labels are one-hot (N, K) or integer class ids (N,).
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np

from ..limits import parse_json
from . import losses as L
from .layers import Input, Layer, layer_from_config
from .optimizers import get_optimizer
from .schema import check_architecture, check_model_size


class Callback:
    """Hooks called by ``fit``. Set ``model.stop_training = True`` to stop between batches."""

    model = None

    def on_train_begin(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_batch_end(self, batch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_train_end(self, logs=None): ...


class History(Callback):
    """Per-epoch metrics: ``history.history['loss']``, ``['accuracy']``, ``['val_loss']``, ..."""

    def __init__(self):
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


class Sequential:
    """A linear stack of layers.

    ``Sequential(layers=None, seed=None, dtype="float32")``; the same seed gives the same
    initial weights, shuffles and dropout masks.
    """

    def __init__(self, layers=None, seed=None, dtype="float32", name: str = "sequential"):
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"Sequential: dtype must be float32 or float64, got {dtype!r}")
        self.seed = seed
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.layers: list[Layer] = []
        self.input_shape = None
        self.optimizer = None
        self.loss = None
        self.metrics: list[str] = []
        self.stop_training = False
        self.last_output = None
        self._type_counts: dict[str, int] = {}
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------------ building
    def add(self, layer) -> None:
        if isinstance(layer, Input):
            if self.layers or self.input_shape is not None:
                raise ValueError("Input must be the first thing added to a Sequential model")
            self.input_shape = layer.input_shape
            return
        if not isinstance(layer, Layer):
            raise ValueError(f"Sequential.add expects a layer, got {type(layer).__name__}")
        if layer.name is None:
            count = self._type_counts.get(layer.type_name, 0) + 1
            self._type_counts[layer.type_name] = count
            layer.name = f"{layer.type_name}_{count}"
        if any(existing.name == layer.name for existing in self.layers):
            raise ValueError(f"a layer named {layer.name!r} is already in the model")
        if not self.layers and self.input_shape is None and layer.input_shape is not None:
            self.input_shape = layer.input_shape
        previous = self.layers[-1].output_shape if self.layers else self.input_shape
        if previous is None:
            raise ValueError(f"layer {layer.name}: the model has no input shape; add Input(input_shape=...) first")
        # A child generator per layer keeps dropout masks independent of the data order.
        layer.build(previous, np.random.default_rng(self.rng.integers(2**63)), self.dtype)
        self.layers.append(layer)

    @property
    def output_shape(self):
        return self.layers[-1].output_shape if self.layers else self.input_shape

    def get_layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"no layer named {name!r}; layers are {[layer.name for layer in self.layers]}")

    def compile(self, optimizer="sgd", loss="categorical_crossentropy", metrics=None) -> None:
        self.optimizer = get_optimizer(optimizer)
        self.loss = L.check_loss(loss)
        self.metrics = list(metrics or [])
        for metric in self.metrics:
            if metric not in ("accuracy", "acc"):
                raise ValueError(f"unknown metric {metric!r}; expected 'accuracy'")

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    # ------------------------------------------------------------------ checking input
    def _check_compiled(self):
        if self.optimizer is None or self.loss is None:
            raise ValueError("the model is not compiled; call model.compile(optimizer=..., loss=...) first")

    def check_x(self, x) -> np.ndarray:
        """x as an array of the model dtype, with its shape checked against the input."""
        if not self.layers:
            raise ValueError("the model has no layers")
        x = np.asarray(x)
        if x.shape[1:] != tuple(self.input_shape):
            raise ValueError(
                f"input of shape {x.shape} does not fit the model: its first layer {self.layers[0].name} "
                f"expects (N, {', '.join(map(str, self.input_shape))})"
            )
        if not np.issubdtype(x.dtype, np.number):
            raise ValueError(f"input must be numeric, got dtype {x.dtype}")
        return x.astype(self.dtype, copy=False)

    def check_y(self, y, n: int) -> np.ndarray:
        """Labels as one-hot (n, K) of the model dtype; accepts class ids (n,) or one-hot."""
        y = np.asarray(y)
        classes = self.output_shape[-1]
        output = f"the output {self.output_shape} of layer {self.layers[-1].name}"
        if y.ndim == 0 or y.shape[0] != n:
            raise ValueError(f"got {y.shape[0] if y.ndim else 'a single value as'} labels for {n} samples")
        if not np.issubdtype(y.dtype, np.number):
            raise ValueError(f"labels must be class ids or one-hot numbers, got dtype {y.dtype}")
        if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1 and classes != 1):
            ids = y.reshape(-1)
            if not np.issubdtype(ids.dtype, np.integer):
                if not np.all(np.isfinite(ids)) or not np.all(ids == np.round(ids)):
                    raise ValueError("class-id labels must be whole numbers")
                ids = ids.astype(np.int64)
            if ids.size and (ids.min() < 0 or ids.max() >= classes):
                raise ValueError(f"class ids must be in [0, {classes - 1}] for {output} ({classes} classes), "
                                 f"got [{ids.min()}, {ids.max()}]")
            return np.eye(classes, dtype=self.dtype)[ids]
        if y.shape[1:] != (classes,):
            raise ValueError(f"labels of shape {y.shape} do not fit {output}: "
                             f"expected ({n},) class ids or ({n}, {classes}) one-hot")
        return y.astype(self.dtype, copy=False)

    # ------------------------------------------------------------------ step API
    def forward(self, x, training: bool = False) -> np.ndarray:
        """x: (N, *input_shape) -> output (N, K); layers keep what backward needs."""
        out = self.check_x(x)
        for layer in self.layers:
            out = layer.forward(out, training=training)
        self.last_output = out
        return out

    def fused_softmax_crossentropy(self) -> bool:
        return fused_softmax_crossentropy(self.layers, self.loss)

    def compute_loss(self, y_pred, y_true) -> float:
        return L.LOSSES[self.loss][0](y_pred, y_true)

    def backward(self, y_true, need_input_grad: bool = True):
        """Backpropagate the loss of the last ``forward``; fills every layer's ``grads``.

        y_true: (N, K) one-hot or (N,) ids. Returns dE/dx for the model input (N, *input_shape),
        or None when ``need_input_grad`` is False (training skips that work).
        """
        self._check_compiled()
        y_pred = self.last_output
        if y_pred is None:
            raise ValueError("nothing to backpropagate: call forward(x, training=True) before backward(y_true)")
        return backpropagate(self.layers, self.loss, y_pred, self.check_y(y_true, y_pred.shape[0]), need_input_grad)

    def update(self) -> None:
        """One optimizer step on every trainable layer, with the gradients of the last backward."""
        self._check_compiled()
        self.optimizer.apply(self.layers)

    def train_on_batch(self, x, y, optimizer=None) -> dict:
        """forward + backward + update on one batch; returns {'loss', 'accuracy'} of that batch.
        ``optimizer`` takes the step instead of the model's own (which then stays untouched)."""
        self._check_compiled()
        x = self.check_x(x)
        y = self.check_y(y, x.shape[0])
        y_pred = self.forward(x, training=True)
        loss = self.compute_loss(y_pred, y)
        if not np.isfinite(loss):
            raise ValueError(f"the loss is {loss}: training diverged; try a lower learning rate")
        self.backward(y, need_input_grad=False)
        (optimizer or self.optimizer).apply(self.layers)
        return {"loss": loss, "accuracy": accuracy(y_pred, y)}

    # ------------------------------------------------------------------ fast path
    def predict(self, x, batch_size: int = 256) -> np.ndarray:
        x = self.check_x(x)
        outputs = [self.forward(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
        return np.concatenate(outputs) if outputs else np.zeros((0, *self.output_shape), self.dtype)

    def evaluate(self, x, y, batch_size: int = 256, verbose: int = 0):
        """Returns ``[loss, accuracy]`` (or just the loss when compiled without metrics)."""
        self._check_compiled()
        x = self.check_x(x)
        y = self.check_y(y, x.shape[0])
        y_pred = self.predict(x, batch_size)
        loss = self.compute_loss(y_pred, y)
        if verbose:
            print(f"loss {loss:.4f} - accuracy {accuracy(y_pred, y):.4f}")
        return [loss, accuracy(y_pred, y)] if self.metrics else loss

    def fit(self, x, y, batch_size: int = 32, epochs: int = 1, validation_data=None, shuffle: bool = True,
            callbacks=None, verbose: int = 1, initial_epoch: int = 0) -> History:
        """Train with mini-batches. Callbacks get ``on_batch_end(batch, logs)`` with the batch
        loss and accuracy and ``on_epoch_end(epoch, logs)`` with the epoch means and validation."""
        self._check_compiled()
        x = self.check_x(x)
        y = self.check_y(y, x.shape[0])
        if validation_data is not None:
            xv = self.check_x(validation_data[0])
            yv = self.check_y(validation_data[1], xv.shape[0])
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        history = History()
        callbacks = [history, *(callbacks or [])]
        for callback in callbacks:
            callback.model = self
            callback.on_train_begin()
        self.stop_training = False
        n = len(x)
        for epoch in range(initial_epoch, epochs):
            self.optimizer.epoch = epoch
            for callback in callbacks:
                callback.on_epoch_begin(epoch)
            order = self.rng.permutation(n) if shuffle else np.arange(n)
            started, seen, loss_sum, correct_sum = time.perf_counter(), 0, 0.0, 0.0
            for batch, start in enumerate(range(0, n, batch_size)):
                index = order[start : start + batch_size]
                logs = self.train_on_batch(x[index], y[index])
                seen += len(index)
                loss_sum += logs["loss"] * len(index)
                correct_sum += logs["accuracy"] * len(index)
                logs["size"] = len(index)
                for callback in callbacks[1:]:
                    callback.on_batch_end(batch, logs)
                if self.stop_training:
                    break
            logs = {"loss": loss_sum / max(seen, 1), "accuracy": correct_sum / max(seen, 1)}
            if validation_data is not None:
                logs["val_loss"], logs["val_accuracy"] = self._loss_and_accuracy(xv, yv)
            if verbose:
                metrics = " - ".join(f"{k} {v:.4f}" for k, v in logs.items())
                print(f"Epoch {epoch + 1}/{epochs} - {time.perf_counter() - started:.1f}s - {metrics}",
                      file=sys.stdout, flush=True)
            for callback in callbacks:
                callback.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        for callback in callbacks:
            callback.on_train_end()
        return history

    def _loss_and_accuracy(self, x, y_onehot):
        y_pred = self.predict(x)
        return self.compute_loss(y_pred, y_onehot), accuracy(y_pred, y_onehot)

    # ------------------------------------------------------------------ description
    def summary(self) -> str:
        """A Keras-style table: layer (type), output shape, params, and totals."""
        rows = [(f"{layer.name} ({type(layer).__name__})", str((None, *layer.output_shape)), f"{layer.count_params():,}")
                for layer in self.layers]
        widths = [max(len(h), *(len(r[i]) for r in rows)) + 2 for i, h in enumerate(("Layer (type)", "Output Shape", "Param #"))]
        line = lambda cells: "".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
        total = self.count_params()
        trainable = sum(p.size for layer in self.layers if layer.trainable for p in layer.params.values())
        rule = "=" * sum(widths)
        out = [f'Model: "{self.name}"', rule, line(("Layer (type)", "Output Shape", "Param #")), rule]
        out += [line(row) for row in rows]
        out += [rule, f"Total params: {total:,}", f"Trainable params: {trainable:,}",
                f"Non-trainable params: {total - trainable:,}"]
        return "\n".join(out)

    def get_config(self) -> dict:
        """The architecture as JSON-ready data; ``Sequential.from_config`` rebuilds it."""
        return {
            "class_name": "Sequential",
            "config": {
                "name": self.name,
                "input_shape": list(self.input_shape) if self.input_shape else None,
                "dtype": self.dtype.name,
                "layers": [{"class_name": type(layer).__name__, "config": layer.get_config()} for layer in self.layers],
            },
        }

    def to_json(self) -> str:
        return json.dumps(self.get_config())

    @classmethod
    def from_config(cls, config: dict, seed=None) -> "Sequential":
        """Checks the whole configuration (``schema``) and the model's size before building anything."""
        body = check_architecture(config)
        layers = [layer_from_config(entry["class_name"], dict(entry.get("config", {}))) for entry in body["layers"]]
        check_model_size(body["input_shape"], layers)
        model = cls(seed=seed, dtype=body.get("dtype", "float32"), name=body.get("name", "sequential"))
        model.add(Input(input_shape=tuple(body["input_shape"])))
        for layer in layers:
            model.add(layer)
        return model

    @classmethod
    def from_json(cls, text: str, seed=None) -> "Sequential":
        return cls.from_config(parse_json(text), seed=seed)

    # ------------------------------------------------------------------ weights
    def save_weights(self, path) -> None:
        from .weights import save_weights

        save_weights(self, path)

    def load_weights(self, path) -> None:
        from .weights import load_weights

        load_weights(self, path)

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of all variables keyed ``layername/kernel``, ``layername/bias``, ``layername/moving_mean``..."""
        return {f"{layer.name}/{key}": value.copy() for layer in self.layers
                for key, value in layer.variables().items()}

    def set_weights(self, weights: dict) -> None:
        """Set parameters from ``get_weights``-style keys; checks everything before changing anything."""
        from .weights import check_weights

        checked = check_weights(self, weights)
        for layer in self.layers:
            for key, value in layer.variables().items():
                value[...] = checked[f"{layer.name}/{key}"]


def fused_softmax_crossentropy(layers, loss: str) -> bool:
    """Cross-entropy on a softmax output: differentiated together, dE/da = (p − y) / N."""
    return loss == "categorical_crossentropy" and getattr(layers[-1], "activation", None) == "softmax"


def backpropagate(layers, loss: str, y_pred, y_true, need_input_grad: bool = True):
    """Backpropagate ``loss`` of the last forward of ``layers`` (y_pred, y_true one-hot (N, K));
    fills every layer's grads and returns dE/dx of the input (None when not ``need_input_grad``)."""
    last = layers[-1]
    if fused_softmax_crossentropy(layers, loss):
        last.dz = None
        grad = last.backward_from_delta(L.softmax_crossentropy_delta(y_pred, y_true),
                                        need_input_grad or len(layers) > 1)
    else:
        grad = last.backward(L.LOSSES[loss][1](y_pred, y_true), need_input_grad or len(layers) > 1)
    for index in range(len(layers) - 2, -1, -1):
        grad = layers[index].backward(grad, need_input_grad or index > 0)
    return grad


def accuracy(y_pred: np.ndarray, y_onehot: np.ndarray) -> float:
    """Fraction of samples whose largest output is the true class."""
    if len(y_pred) == 0:
        return 0.0
    return float((y_pred.argmax(axis=1) == y_onehot.argmax(axis=1)).mean())
