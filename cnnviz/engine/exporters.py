"""Models out to other frameworks: Keras 3 ``.keras`` archives, Keras HDF5 ``.h5`` files, a PyTorch
``nn.Sequential`` and ONNX. Knows no model class: every function takes a built ``Sequential``.

- ``.keras``: a zip of ``metadata.json``, ``config.json`` (the Keras Sequential config) and
  ``model.weights.h5``, whose weights sit at ``layers/<type>[_<n>]/vars/0, 1`` (Keras 3 names the
  paths by layer type and position, not by the layers' names). Needs h5py.
- ``.h5``: the Keras HDF5 layout ``keras.models.load_model`` reads: ``model_config`` and
  ``training_config`` attributes, ``model_weights/<layer>/<model>/<layer>/kernel``. Needs h5py.
- ``to_torch``: NCHW layers; the first dense layer after Flatten gets its kernel rows permuted
  from cnnviz's (H, W, C) order to PyTorch's (C, H, W) flattening. Needs torch.
- ``export_onnx``: takes NHWC input like cnnviz, transposes to NCHW for Conv/pooling and back
  before Flatten; nodes and weights carry the layers' names. Needs onnx (``pip install cnnviz[export]``).

Weights are written as float32 whatever the model's dtype. Every file is written atomically.
"""
from __future__ import annotations

import datetime
import io
import json
import zipfile
from collections import OrderedDict
from contextlib import contextmanager

import numpy as np

from .importers import KERAS_OPTIMIZERS, keras3_layer_paths
from .layers import (Activation, AveragePooling2D, BatchNormalization, Conv2D, Dense, Dropout, Flatten,
                     GlobalAveragePooling2D, MaxPooling2D)
from .weights import atomic_write

KERAS_FORMAT_VERSION = "3.0.0"  # the Keras saving format these files follow


def _require(module: str, extra: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ValueError(f"this export needs {module.split('.')[0]}: pip install {extra}") from None


EXPORT_SUFFIXES = (".keras", ".h5", ".onnx", ".npz")


class CannotWrite(OSError, ValueError):
    """A file could not be written: an OSError as the cause was, and a ValueError like every other
    message for people, so the app and the CLI report it."""


@contextmanager
def writing(path):
    """Turn an OSError while writing ``path`` into CannotWrite, whose message names the file and the
    reason (the writes are atomic: any file already at ``path`` is as it was)."""
    try:
        yield
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
        raise CannotWrite(f"{path}: cannot write the file ({reason}); nothing was written") from None


def export_model(model, path) -> None:
    """Write ``model`` in the format its suffix names: ``.keras``, ``.h5``, ``.npz`` (``model.save``)
    or ``.onnx`` (``export_onnx``); atomically, so a failure leaves an existing file as it was."""
    if str(path).lower().endswith(".onnx"):
        export_onnx(model, path)
    else:
        model.save(path)


# ---------------------------------------------------------------- Keras
def keras_layer_config(layer) -> dict:
    """One layer as Keras 3 serializes it (``{"module", "class_name", "config"}``)."""
    kind = type(layer).__name__
    config = {"name": layer.name, "trainable": layer.trainable, "dtype": "float32"}
    if isinstance(layer, (Conv2D, MaxPooling2D, AveragePooling2D)) and not isinstance(layer.padding, str):
        raise ValueError(f"layer {layer.name}: padding={layer.padding} has no Keras equivalent (Keras pads 'valid' "
                         "or 'same'); export to ONNX or PyTorch instead, or use padding='same'")
    if isinstance(layer, Conv2D):
        config.update(filters=layer.filters, kernel_size=list(layer.kernel_size), strides=list(layer.strides),
                      padding=layer.padding, data_format="channels_last", dilation_rate=[1, 1], groups=1,
                      activation=layer.activation, use_bias=layer.use_bias)
    elif isinstance(layer, (MaxPooling2D, AveragePooling2D)):
        config.update(pool_size=list(layer.pool_size), strides=list(layer.strides), padding=layer.padding,
                      data_format="channels_last")
    elif isinstance(layer, Dense):
        config.update(units=layer.units, activation=layer.activation, use_bias=layer.use_bias)
    elif isinstance(layer, Dropout):
        config.update(rate=layer.rate)
    elif isinstance(layer, Activation):
        config.update(activation=layer.activation)
    elif isinstance(layer, Flatten):
        config.update(data_format="channels_last")
    elif isinstance(layer, GlobalAveragePooling2D):
        config.update(data_format="channels_last", keepdims=False)
    elif isinstance(layer, BatchNormalization):
        config.update(axis=-1, momentum=layer.momentum, epsilon=layer.epsilon, center=layer.center,
                      scale=layer.scale)
    else:
        raise ValueError(f"layer {layer.name}: {kind} cannot be exported to Keras")
    entry = {"module": "keras.layers", "class_name": kind, "config": config, "registered_name": None}
    if layer.variables():
        entry["build_config"] = {"input_shape": [None, *layer.input_shape]}
    return entry


def keras_compile_config(model) -> dict | None:
    """Optimizer, loss and metrics as Keras 3 stores them; None if the model is not compiled or its
    optimizer uses settings Keras would read differently (cnnviz's L2 weight_decay, lr_decay)."""
    optimizer = model.optimizer
    if optimizer is None or model.loss is None or optimizer.name not in KERAS_OPTIMIZERS:
        return None
    if optimizer.weight_decay or optimizer.lr_decay != 1.0:
        return None
    class_name, keys = KERAS_OPTIMIZERS[optimizer.name]
    settings = optimizer.get_config()
    return {"optimizer": {"module": "keras.optimizers", "class_name": class_name,
                          "config": {"name": optimizer.name, **{key: settings[key] for key in keys}},
                          "registered_name": None},
            "loss": model.loss, "loss_weights": None, "metrics": list(model.metrics) or None,
            "weighted_metrics": None, "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False}


def keras_model_config(model) -> dict:
    """The Keras 3 ``Sequential`` config of ``model`` (an InputLayer, then its layers)."""
    input_layer = {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
                   "config": {"batch_shape": [None, *model.input_shape], "dtype": "float32", "sparse": False,
                              "name": "input_layer"}}
    return {"module": "keras", "class_name": "Sequential", "registered_name": None,
            "config": {"name": model.name, "trainable": True, "dtype": "float32",
                       "layers": [input_layer, *(keras_layer_config(layer) for layer in model.layers)],
                       "build_input_shape": [None, *model.input_shape]},
            "build_config": {"input_shape": [None, *model.input_shape]}}


def _h5_bytes(write) -> bytes:
    """An HDF5 file built in memory by ``write(h5file)``."""
    h5py = _require("h5py", "h5py (pip install cnnviz[import])")
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        write(h5)
    return buffer.getvalue()


def _write_keras3_weights(model, h5) -> None:
    layers = h5.create_group("layers")
    for layer, path in zip(model.layers, keras3_layer_paths([type(layer).__name__ for layer in model.layers])):
        variables = layers.create_group(path).create_group("vars")
        variables.attrs["name"] = layer.name
        for index, value in enumerate(layer.variables().values()):  # Keras' order: kernel, bias; gamma, beta, ...
            variables.create_dataset(str(index), data=value.astype(np.float32))
    h5.create_group("vars").attrs["name"] = model.name


def save_keras_weights(model, path) -> None:
    """The weights alone in the Keras 3 ``model.weights.h5`` layout (``keras_model.load_weights`` reads it)."""
    data = _h5_bytes(lambda h5: _write_keras3_weights(model, h5))
    atomic_write(path, lambda stream: stream.write(data))


def save_keras(model, path) -> None:
    """A Keras 3 ``.keras`` archive that ``keras.models.load_model`` opens (weights without optimizer state)."""
    config = keras_model_config(model)
    compile_config = keras_compile_config(model)
    if compile_config is not None:
        config["compile_config"] = compile_config
    metadata = {"keras_version": KERAS_FORMAT_VERSION, "saved_by": "cnnviz",
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    weights = _h5_bytes(lambda h5: _write_keras3_weights(model, h5))

    def write(stream):
        with zipfile.ZipFile(stream, "w") as archive:
            archive.writestr("metadata.json", json.dumps(metadata))
            archive.writestr("config.json", json.dumps(config))
            archive.writestr("model.weights.h5", weights)

    atomic_write(path, write)


def save_keras_h5(model, path) -> None:
    """A Keras HDF5 (legacy ``model.save('m.h5')``) file that Keras 3 opens with ``load_model``."""
    config = keras_model_config(model)
    compile_config = keras_compile_config(model)

    def write(h5):
        h5.attrs["keras_version"] = KERAS_FORMAT_VERSION
        h5.attrs["backend"] = "numpy"
        h5.attrs["model_config"] = json.dumps(config)
        if compile_config is not None:
            training = {key: value for key, value in compile_config.items() if key != "optimizer"}
            optimizer = compile_config["optimizer"]
            training["optimizer_config"] = {"class_name": optimizer["class_name"], "config": optimizer["config"]}
            h5.attrs["training_config"] = json.dumps(training)
        root = h5.create_group("model_weights")
        root.attrs["backend"] = "numpy"
        root.attrs["keras_version"] = KERAS_FORMAT_VERSION
        root.attrs["layer_names"] = [layer.name.encode("utf8") for layer in model.layers]
        for layer in model.layers:
            group = root.create_group(layer.name)
            names = [f"{model.name}/{layer.name}/{key}" for key in layer.variables()]
            group.attrs["weight_names"] = [name.encode("utf8") for name in names]
            for name in names:
                group.create_dataset(name, data=layer.variables()[name.rsplit("/", 1)[1]].astype(np.float32))
        root.create_group("top_level_model_weights").attrs["weight_names"] = np.zeros(0, dtype="S1")

    data = _h5_bytes(write)
    atomic_write(path, lambda stream: stream.write(data))


# ---------------------------------------------------------------- PyTorch
def torch_dense_kernel(layer, flatten) -> np.ndarray:
    """A dense kernel (n_in, units) as PyTorch's Linear weight (units, n_in); rows permuted from
    (H, W, C) to (C, H, W) order when ``flatten`` (the Flatten of an image before it) is given."""
    kernel = layer.params["kernel"]
    if flatten is not None:
        h, w, c = flatten.input_shape
        kernel = kernel.reshape(h, w, c, -1).transpose(2, 0, 1, 3).reshape(h * w * c, -1)
    return kernel.T


def _first_dense_after_flatten(model):
    """{id(dense layer): the Flatten of an image before it} for the first layer with weights after each such Flatten."""
    found, flatten = {}, None
    for layer in model.layers:
        if isinstance(layer, Flatten) and len(layer.input_shape) == 3:
            flatten = layer
        elif layer.params and flatten is not None:
            found[id(layer)] = flatten
            flatten = None
    return found


def to_torch(model):
    """An equivalent ``torch.nn.Sequential`` in eval mode: input (N, C, H, W) float32, the same outputs.

    Modules are named after the layers (``conv2d_1``, ``conv2d_1_relu``, ``flatten_1``, ...), so
    ``state_dict()`` keys read ``conv2d_1.weight``, ``dense_1.bias``.
    """
    torch = _require("torch", "torch (see pytorch.org)")
    nn = torch.nn
    activations = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "softmax": lambda: nn.Softmax(dim=1)}
    dense_after_flatten = _first_dense_after_flatten(model)
    modules = OrderedDict()
    for layer in model.layers:
        name = layer.name
        pads = getattr(layer, "pads", ((0, 0), (0, 0)))
        (top, bottom), (left, right) = pads
        symmetric = top == bottom and left == right
        if isinstance(layer, Conv2D):
            if not symmetric:
                modules[f"{name}_pad"] = nn.ZeroPad2d((left, right, top, bottom))
            module = nn.Conv2d(layer.input_shape[2], layer.filters, layer.kernel_size, layer.strides,
                               padding=(top, left) if symmetric else 0, bias=layer.use_bias)
            module.weight.data = torch.from_numpy(np.ascontiguousarray(layer.params["kernel"].transpose(3, 2, 0, 1),
                                                                       dtype=np.float32))
            if layer.use_bias:
                module.bias.data = torch.from_numpy(layer.params["bias"].astype(np.float32))
        elif isinstance(layer, MaxPooling2D):
            if top or bottom or left or right:
                modules[f"{name}_pad"] = nn.ConstantPad2d((left, right, top, bottom), float("-inf"))
            module = nn.MaxPool2d(layer.pool_size, layer.strides)
        elif isinstance(layer, AveragePooling2D):
            if top or bottom or left or right:
                raise ValueError(f"layer {layer.name}: padded average pooling (over the real cells only) has no "
                                 "PyTorch equivalent; export to ONNX instead")
            module = nn.AvgPool2d(layer.pool_size, layer.strides)
        elif isinstance(layer, Flatten):
            module = nn.Flatten()
        elif isinstance(layer, Dense):
            module = nn.Linear(layer.input_shape[0], layer.units, bias=layer.use_bias)
            kernel = torch_dense_kernel(layer, dense_after_flatten.get(id(layer)))
            module.weight.data = torch.from_numpy(np.ascontiguousarray(kernel, dtype=np.float32))
            if layer.use_bias:
                module.bias.data = torch.from_numpy(layer.params["bias"].astype(np.float32))
        elif isinstance(layer, Dropout):
            module = nn.Dropout(layer.rate)
        elif isinstance(layer, GlobalAveragePooling2D):
            modules[f"{name}_pool"] = nn.AdaptiveAvgPool2d(1)
            module = nn.Flatten()
        elif isinstance(layer, BatchNormalization):
            norm = nn.BatchNorm2d if len(layer.input_shape) == 3 else nn.BatchNorm1d
            channels = layer.input_shape[-1]
            module = norm(channels, eps=layer.epsilon, momentum=1 - layer.momentum)  # torch: the new batch's share
            ones, zeros = np.ones(channels, np.float32), np.zeros(channels, np.float32)
            for tensor, value in ((module.weight, layer.params.get("gamma", ones)),
                                  (module.bias, layer.params.get("beta", zeros)),
                                  (module.running_mean, layer.state["moving_mean"]),
                                  (module.running_var, layer.state["moving_variance"])):
                tensor.data = torch.from_numpy(np.asarray(value, np.float32).copy())
        elif isinstance(layer, Activation):
            module = None
        else:
            raise ValueError(f"layer {layer.name}: {type(layer).__name__} cannot be exported to PyTorch")
        if module is not None:
            modules[name] = module
        activation = getattr(layer, "activation", "linear")
        if activation != "linear":
            modules[name if module is None else f"{name}_{activation}"] = activations[activation]()
    return nn.Sequential(modules).eval()


# ---------------------------------------------------------------- ONNX
ONNX_OPSET = 17
ONNX_IR_VERSION = 8  # readable by every ONNX Runtime since 1.10


def onnx_model(model):
    """The model as an ``onnx.ModelProto``: input 'input' (N, H, W, C) float32, output 'output' (N, K)."""
    onnx = _require("onnx", "cnnviz[export]")
    helper, numpy_helper, TensorProto = onnx.helper, onnx.numpy_helper, onnx.TensorProto
    nodes, initializers = [], []
    current, channels_first = "input", False

    def add(op, name, inputs, **attributes):
        nonlocal current
        nodes.append(helper.make_node(op, [current, *inputs], [name], name=name, **attributes))
        current = name

    def weight(name, array):
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name))
        return name

    def to_nchw(layer):
        nonlocal channels_first
        if not channels_first:
            add("Transpose", f"{layer.name}/to_nchw", [], perm=[0, 3, 1, 2])
            channels_first = True

    for layer in model.layers:
        name = layer.name
        if isinstance(layer, (Conv2D, MaxPooling2D, AveragePooling2D)):
            to_nchw(layer)
            (top, bottom), (left, right) = layer.pads
            window = layer.kernel_size if isinstance(layer, Conv2D) else layer.pool_size
            common = dict(kernel_shape=list(window), strides=list(layer.strides), pads=[top, left, bottom, right])
            if isinstance(layer, Conv2D):
                inputs = [weight(f"{name}/kernel", layer.params["kernel"].transpose(3, 2, 0, 1))]
                if layer.use_bias:
                    inputs.append(weight(f"{name}/bias", layer.params["bias"]))
                add("Conv", name, inputs, **common)
            elif isinstance(layer, MaxPooling2D):
                add("MaxPool", name, [], **common)
            else:
                add("AveragePool", name, [], count_include_pad=0, **common)
        elif isinstance(layer, Flatten):
            if channels_first:
                add("Transpose", f"{name}/to_nhwc", [], perm=[0, 2, 3, 1])
                channels_first = False
            add("Flatten", name, [], axis=1)
        elif isinstance(layer, Dense):
            inputs = [weight(f"{name}/kernel", layer.params["kernel"])]
            if layer.use_bias:
                inputs.append(weight(f"{name}/bias", layer.params["bias"]))
            add("Gemm", name, inputs)
        elif isinstance(layer, Dropout):
            continue  # inference: the identity
        elif isinstance(layer, GlobalAveragePooling2D):
            to_nchw(layer)
            add("GlobalAveragePool", f"{name}/pool", [])
            add("Flatten", name, [], axis=1)
            channels_first = False
        elif isinstance(layer, BatchNormalization):
            if len(layer.input_shape) == 3:
                to_nchw(layer)
            channels = layer.input_shape[-1]
            add("BatchNormalization", name, [
                weight(f"{name}/gamma", layer.params.get("gamma", np.ones(channels))),
                weight(f"{name}/beta", layer.params.get("beta", np.zeros(channels))),
                weight(f"{name}/moving_mean", layer.state["moving_mean"]),
                weight(f"{name}/moving_variance", layer.state["moving_variance"])], epsilon=layer.epsilon)
        elif not isinstance(layer, Activation):
            raise ValueError(f"layer {name}: {type(layer).__name__} cannot be exported to ONNX")
        activation = getattr(layer, "activation", "linear")
        if activation != "linear":
            op = {"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid", "softmax": "Softmax"}[activation]
            add(op, name if isinstance(layer, Activation) else f"{name}/{activation}", [],
                **({"axis": 1 if channels_first else -1} if op == "Softmax" else {}))
    if channels_first:
        add("Transpose", "to_nhwc", [], perm=[0, 2, 3, 1])
    nodes.append(helper.make_node("Identity", [current], ["output"], name="output"))
    graph = helper.make_graph(
        nodes, model.name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", *model.input_shape])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", *model.output_shape])],
        initializers)
    proto = helper.make_model(graph, producer_name="cnnviz", opset_imports=[helper.make_opsetid("", ONNX_OPSET)])
    proto.ir_version = ONNX_IR_VERSION
    onnx.checker.check_model(proto)
    return proto


def export_onnx(model, path) -> None:
    """Write ``onnx_model(model)`` to ``path`` (atomically)."""
    data = onnx_model(model).SerializeToString()
    with writing(path):
        atomic_write(path, lambda stream: stream.write(data))
