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
from pathlib import Path

import numpy as np

from ..limits import parse_json
from . import exporters, importers
from . import losses as L
from . import weights as W
from .callbacks import Callback, History, ProgbarLogger, steps_per_epoch  # noqa: F401 (Callback: part of the API)
from .layers import Input, Layer, layer_from_config
from .metrics import accuracy, check_metrics
from .optimizers import get_optimizer
from .schema import check_architecture, check_model_size

SEEDS = [None]  # set_random_seed's generator: models built without a seed of their own draw one from it


def set_random_seed(seed: int) -> None:
    """Make what follows reproducible, as Keras' ``keras.utils.set_random_seed``: models built
    without ``seed=`` draw theirs from this seed; Python's and NumPy's global generators are seeded too."""
    import random

    random.seed(seed)
    np.random.seed(seed)
    SEEDS[0] = np.random.default_rng(seed)


SAVE_FORMATS = {".keras": "a Keras 3 archive", ".h5": "a Keras HDF5 file", ".npz": "cnnviz weights and architecture"}


class UnsupportedArgument(TypeError, ValueError):
    """A Keras argument cnnviz does not implement (a TypeError as Python's own, and a ValueError
    like every other bad setting, so the app and the CLI report it)."""


def refuse_unsupported(where: str, arguments: dict, supported) -> None:
    """Raise UnsupportedArgument naming ``arguments`` (those cnnviz does not take) and what it takes instead."""
    if arguments:
        names = ", ".join(sorted(arguments))
        raise UnsupportedArgument(f"{where}: {'argument' if len(arguments) == 1 else 'arguments'} {names} "
                                  f"not supported by cnnviz; it takes {', '.join(supported)}")


def verbosity(verbose) -> int:
    """Keras' verbose: 'auto' is 1; 0 silent, 1 progress bar, 2 one line per epoch."""
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2) or isinstance(verbose, float):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}")
    return int(verbose)


class Sequential:
    """A linear stack of layers.

    ``Sequential(layers=None, seed=None, dtype="float32")``; the same seed gives the same
    initial weights, shuffles and dropout masks.
    """

    def __init__(self, layers=None, seed=None, dtype="float32", name: str = "sequential"):
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"Sequential: dtype must be float32 or float64, got {dtype!r}")
        if seed is None and SEEDS[0] is not None:
            seed = int(SEEDS[0].integers(2**63))
        self.seed = seed
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.layers: list[Layer] = []
        self.input_shape = None
        self.optimizer = None
        self.loss = None
        self.metrics: list[str] = []
        self.stop_training = False
        self.history = None  # the History of the last fit
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

    def compile(self, optimizer="sgd", loss="categorical_crossentropy", metrics=None, **unsupported) -> None:
        """optimizer: a name ('adam'), a config dict or an optimizer; loss: a name or a Keras loss
        function/object; metrics: accuracy names (``cnnviz.engine.metrics.ACCURACY_NAMES``)."""
        refuse_unsupported("compile", unsupported, ("optimizer", "loss", "metrics"))
        optimizer, loss, metrics = get_optimizer(optimizer), L.check_loss(loss), check_metrics(metrics)
        self.optimizer, self.loss, self.metrics = optimizer, loss, metrics

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
            expected = f"(N, {', '.join(map(str, self.input_shape))})"
            hint = ""
            if (*x.shape[1:], 1) == tuple(self.input_shape):
                hint = f"; add the channel axis: x.reshape(-1, {', '.join(map(str, self.input_shape))}) " \
                       "or np.expand_dims(x, -1)"
            raise ValueError(f"input of shape {x.shape} does not fit the model: its first layer "
                             f"{self.layers[0].name} expects {expected}{hint}")
        if not np.issubdtype(x.dtype, np.number):
            raise ValueError(f"input must be numeric, got dtype {x.dtype}")
        return x.astype(self.dtype, copy=False)

    def check_y(self, y, n: int) -> np.ndarray:
        """Labels as one-hot (n, K) of the model dtype; accepts class ids (n,) or one-hot."""
        y = np.asarray(y)
        classes = self.output_shape[-1]
        if classes == 1 and y.ndim == 1:
            y = y.reshape(-1, 1)  # one output: the labels are the targets themselves
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

    def train_on_batch(self, x, y, optimizer=None, layers=None) -> dict:
        """forward + backward + update on one batch; returns {'loss', 'accuracy'} of that batch.
        ``optimizer`` takes the step instead of the model's own (which then stays untouched);
        ``layers``: only these learn (default: every trainable layer), no ``trainable`` flag changed."""
        self._check_compiled()
        x = self.check_x(x)
        y = self.check_y(y, x.shape[0])
        y_pred = self.forward(x, training=True)
        loss = self.compute_loss(y_pred, y)
        if not np.isfinite(loss):
            raise ValueError(f"the loss is {loss}: training diverged; try a lower learning rate")
        self.backward(y, need_input_grad=False)
        (optimizer or self.optimizer).apply(self.layers if layers is None else layers)
        return {"loss": loss, "accuracy": accuracy(y_pred, y)}

    # ------------------------------------------------------------------ fast path
    def predict(self, x, batch_size=None, verbose=0, **unsupported) -> np.ndarray:
        """Outputs (N, K) for x: (N, *input_shape), in batches of ``batch_size`` (256)."""
        refuse_unsupported("predict", unsupported, ("x", "batch_size", "verbose"))
        verbose = verbosity(verbose)
        started = time.perf_counter()
        x = self.check_x(x)
        batch_size = self._check_batch_size(batch_size, 256)
        outputs = [self.forward(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
        if verbose:
            self._print_done(len(outputs), started, {})
        return np.concatenate(outputs) if outputs else np.zeros((0, *self.output_shape), self.dtype)

    def evaluate(self, x, y, batch_size=None, verbose="auto", return_dict: bool = False, **unsupported):
        """``[loss, *metrics]`` (just the loss when compiled without metrics), or a dict with ``return_dict``."""
        refuse_unsupported("evaluate", unsupported, ("x", "y", "batch_size", "verbose", "return_dict"))
        self._check_compiled()
        verbose = verbosity(verbose)
        started = time.perf_counter()
        x = self.check_x(x)
        y = self.check_y(y, x.shape[0])
        batch_size = self._check_batch_size(batch_size, 32)
        logs = self._scores(self.predict(x, batch_size), y)
        if verbose:
            self._print_done(steps_per_epoch(len(x), batch_size), started, logs)
        if return_dict:
            return logs
        return [logs["loss"], *(logs[name] for name in self.metrics)] if self.metrics else logs["loss"]

    def _scores(self, y_pred, y_onehot) -> dict:
        """{'loss': ..., <metric>: ...} of predictions against one-hot labels."""
        logs = {"loss": self.compute_loss(y_pred, y_onehot)}
        for name in self.metrics:
            logs[name] = accuracy(y_pred, y_onehot)
        return logs

    @staticmethod
    def _check_batch_size(batch_size, default: int) -> int:
        if batch_size is None:
            return default
        if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        return int(batch_size)

    @staticmethod
    def _print_done(steps: int, started: float, logs: dict) -> None:
        from .callbacks import format_logs

        seconds = time.perf_counter() - started
        print(f"{steps}/{steps} - {seconds:.0f}s - {1000 * seconds / max(steps, 1):.0f}ms/step{format_logs(logs)}",
              file=sys.stdout, flush=True)

    def fit(self, x, y, batch_size=None, epochs: int = 1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle: bool = True, initial_epoch: int = 0, **unsupported) -> History:
        """Train with mini-batches (``batch_size`` 32); returns the History, also kept as ``model.history``.

        ``validation_split``: the last fraction of x, y (before shuffling) is held out and scored after
        each epoch, as in Keras; ``validation_data=(x_val, y_val)`` takes precedence. ``verbose``: 0
        silent, 1 a progress bar per epoch, 2 one line per epoch. Callbacks get ``on_batch_end(batch,
        logs)`` with the batch's loss, metrics and size and ``on_epoch_end(epoch, logs)`` with the
        epoch means and ``val_`` scores.
        """
        refuse_unsupported("fit", unsupported, ("x", "y", "batch_size", "epochs", "verbose", "callbacks",
                                                "validation_split", "validation_data", "shuffle", "initial_epoch"))
        self._check_compiled()
        verbose = verbosity(verbose)
        batch_size = self._check_batch_size(batch_size, 32)
        for label, value in (("epochs", epochs), ("initial_epoch", initial_epoch)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{label} must be a whole number >= 0, got {value!r}")
        x = self.check_x(x)
        y = self.check_y(y, x.shape[0])
        xv = yv = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("validation_data must be a tuple (x_val, y_val)")
            xv = self.check_x(validation_data[0])
            yv = self.check_y(validation_data[1], xv.shape[0])
        elif validation_split:
            if not isinstance(validation_split, (int, float)) or not 0 < validation_split < 1:
                raise ValueError(f"validation_split must be a fraction between 0 and 1, got {validation_split!r}")
            split = int(len(x) * (1 - validation_split))
            if split < 1 or split == len(x):
                raise ValueError(f"validation_split={validation_split} of {len(x)} samples leaves "
                                 f"{split} for training and {len(x) - split} for validation")
            x, xv, y, yv = x[:split], x[split:], y[:split], y[split:]
        history = History()
        callbacks = [history, *(callbacks or [])]
        if verbose:
            callbacks.append(ProgbarLogger(verbose))
        params = {"verbose": verbose, "epochs": epochs, "steps": steps_per_epoch(len(x), batch_size),
                  "samples": len(x)}
        self.history = history
        for callback in callbacks:
            callback.model = self
            callback.params = params
            callback.on_train_begin()
        self.stop_training = False
        n = len(x)
        for epoch in range(initial_epoch, epochs):
            self.optimizer.epoch = epoch
            for callback in callbacks:
                callback.on_epoch_begin(epoch)
            order = self.rng.permutation(n) if shuffle else np.arange(n)
            seen, sums = 0, {}
            for batch, start in enumerate(range(0, n, batch_size)):
                index = order[start : start + batch_size]
                result = self.train_on_batch(x[index], y[index])
                logs = {"loss": result["loss"], **{name: result["accuracy"] for name in self.metrics}}
                seen += len(index)
                for key, value in logs.items():
                    sums[key] = sums.get(key, 0.0) + value * len(index)
                logs["size"] = len(index)
                for callback in callbacks[1:]:
                    callback.on_batch_end(batch, logs)
                if self.stop_training:
                    break
            logs = {key: value / max(seen, 1) for key, value in sums.items()}
            if xv is not None:
                logs.update({f"val_{key}": value for key, value in self._scores(self.predict(xv), yv).items()})
            for callback in callbacks:
                callback.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        for callback in callbacks:
            callback.on_train_end()
        return history

    # ------------------------------------------------------------------ description
    def summary(self, print_fn=None, **unsupported) -> None:
        """Print the Keras-style table (``summary_text``); ``print_fn(line)`` gets each line instead."""
        refuse_unsupported("summary", unsupported, ("print_fn",))
        for line in self.summary_text().split("\n"):
            (print_fn or print)(line)

    def summary_text(self) -> str:
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

    # ------------------------------------------------------------------ weights and files
    def get_weights(self) -> list[np.ndarray]:
        """Copies of all variables as a list in Keras order (per layer: kernel, then bias; gamma, beta,
        moving_mean, moving_variance)."""
        return [value.copy() for layer in self.layers for value in layer.variables().values()]

    def weights_by_name(self) -> dict[str, np.ndarray]:
        """Copies of all variables keyed ``layername/kernel``, ``layername/bias``, ``layername/moving_mean``..."""
        return {f"{layer.name}/{key}": value.copy() for layer in self.layers
                for key, value in layer.variables().items()}

    def set_weights(self, weights) -> None:
        """Set every parameter from a ``get_weights`` list or a ``weights_by_name`` dict; checks
        everything before changing anything."""
        if not isinstance(weights, dict):
            weights = self._named(weights)
        checked = W.check_weights(self, weights)
        for layer in self.layers:
            for key, value in layer.variables().items():
                value[...] = checked[f"{layer.name}/{key}"]

    def _named(self, arrays) -> dict:
        """A ``get_weights``-style list as a ``weights_by_name`` dict (its length checked)."""
        names = [f"{layer.name}/{key}" for layer in self.layers for key in layer.variables()]
        arrays = list(arrays)
        if len(arrays) != len(names):
            raise ValueError(f"set_weights got a list of {len(arrays)} arrays but the model has {len(names)} "
                             f"({', '.join(names)})")
        return dict(zip(names, arrays))

    def save_weights(self, path) -> None:
        """``.npz`` (cnnviz: weights and architecture) or ``.h5`` (the Keras 3 ``.weights.h5`` layout)."""
        writers = {".npz": W.save_weights, ".h5": exporters.save_keras_weights}
        suffix = Path(path).suffix.lower()
        if suffix not in writers:
            raise ValueError(f"{path}: save_weights writes .npz (cnnviz) or .weights.h5 (Keras) files")
        with exporters.writing(path):
            writers[suffix](self, path)

    def load_weights(self, path) -> None:
        """Weights from a cnnviz ``.npz``, a Keras ``.h5``/``.keras`` or a PyTorch ``.safetensors`` file
        into this model (all or nothing)."""
        if Path(path).suffix.lower() == ".npz":
            W.load_weights(self, path)
        else:
            importers.import_weights(self, path)

    def save(self, path) -> None:
        """Save the model: ``.keras`` (a Keras 3 archive), ``.h5`` (Keras HDF5) or ``.npz`` (cnnviz),
        written atomically; ``load_model`` (here or in Keras) opens them."""
        suffix = Path(path).suffix.lower()
        if suffix not in SAVE_FORMATS:
            raise ValueError(f"{path}: model.save writes " +
                             ", ".join(f"{s} ({what})" for s, what in SAVE_FORMATS.items()) +
                             "; for ONNX use model.export_onnx(path)")
        folder = Path(path).resolve().parent
        if not folder.is_dir():
            raise ValueError(f"{path}: the folder {folder} does not exist")
        with exporters.writing(path):
            {".keras": exporters.save_keras, ".h5": exporters.save_keras_h5, ".npz": W.save_weights}[suffix](self, path)

    def to_torch(self):
        """An equivalent ``torch.nn.Sequential`` (input NCHW: ``torch.from_numpy(x.transpose(0, 3, 1, 2))``)."""
        return exporters.to_torch(self)

    def export_onnx(self, path) -> None:
        """Write an ONNX model (input 'input' NHWC float32, output 'output'); needs ``pip install cnnviz[export]``."""
        exporters.export_onnx(self, path)


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


def load_model(path, *, architecture=None, seed=None, compile: bool = True) -> Sequential:
    """A model from a file: a cnnviz ``.npz``, a Keras ``.keras``/``.h5`` (built from the
    architecture stored in it), or any weights file into ``architecture`` (a Sequential, needed for
    PyTorch ``.safetensors`` and weights-only files; it is the model returned).

    ``compile``: a Keras file's stored optimizer, loss and metrics are applied when cnnviz knows them.
    """
    path = Path(path)
    if architecture is not None:
        architecture.load_weights(path)
        return architecture
    if path.suffix.lower() == ".npz":
        arrays = W.read_npz(path)
        config = W.architecture_of(arrays)
        if config is None:
            raise ValueError(f"{path}: has no stored architecture; open it into a model of the right shape instead")
        model = _built(path, config, seed)
        try:
            model.set_weights(arrays)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None
        return model
    model = _built(path, importers.keras_architecture(path), seed)
    importers.import_weights(model, path)
    training = importers.keras_training_config(path) if compile else None
    if training is not None:
        model.compile(**training)
    return model


def _built(path, config, seed) -> Sequential:
    """``Sequential.from_config`` with the file named in its errors."""
    try:
        return Sequential.from_config(config, seed=seed)
    except ValueError as error:
        message = str(error)
        raise ValueError(message if message.startswith(str(path)) else f"{path}: {message}") from None
