"""Open weights trained elsewhere: Keras HDF5 (``.h5``; also Keras 3 ``.keras`` archives) and
PyTorch ``state_dict``s saved as ``.safetensors``. Needs the optional extras
(``pip install cnnviz[import]``: h5py, safetensors), imported only when a file is opened.
Never unpickles: ``.pt``/``.pth`` files are refused. Knows no model class: the model's
``load_model`` builds a model from ``keras_architecture(path)`` and fills it with ``import_weights``.

``import_weights(model, path)`` puts a file's weights into a model. Layers with parameters are
matched in order; layouts are converted so that predictions match the source framework:

- Keras stores conv kernels (kh, kw, c_in, c_out) and dense kernels (n_in, n_out) like
  cnnviz, and flattens NHWC like cnnviz: nothing to convert.
- PyTorch stores conv weights (c_out, c_in, kh, kw) -> (kh, kw, c_in, c_out), linear
  weights (n_out, n_in) -> (n_in, n_out), and flattens NCHW: the rows of the first dense
  layer after Flatten are permuted from (C, H, W) order to cnnviz's (H, W, C) order.
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np

from ..limits import MAX_FILE_BYTES, MAX_JSON_BYTES, as_path, check_size, parse_json, read_capped, readable_file

from .layers import Flatten

KERAS_SUFFIXES = (".h5", ".hdf5", ".keras")
SAFETENSORS_SUFFIXES = (".safetensors",)
PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".pkl", ".ckpt")


def check_path(path) -> Path:
    """``path`` as a Path if it names a readable regular file of a format this module reads; else ValueError."""
    path = as_path(path, "weights file")
    suffix = path.suffix.lower()
    if suffix in PICKLE_SUFFIXES:
        raise ValueError(f"{path}: PyTorch pickles can run arbitrary code and cnnviz never unpickles; save the "
                         "state_dict as safetensors instead: "
                         "safetensors.torch.save_file(model.state_dict(), 'weights.safetensors')")
    if suffix not in KERAS_SUFFIXES + SAFETENSORS_SUFFIXES:
        raise ValueError(f"{path}: unknown weights format; expected .h5/.hdf5/.keras (Keras) or .safetensors (PyTorch)")
    readable_file(path, "weights file")
    return path


def import_weights(model, path):
    """``model`` (a Sequential) with the weights of a Keras ``.h5``/``.keras`` or PyTorch ``.safetensors`` file.

    Checks everything before changing the model, so a file that does not fit leaves ``model`` as
    it was. Returns the model. (A model built from the file's own architecture:
    ``cnnviz.engine.model.load_model``.)
    """
    path = check_path(path)
    if model is None:
        raise ValueError(f"{path}: import_weights needs a model to put the weights in; "
                         "cnnviz.engine.model.load_model(path) builds one from a Keras file")
    if path.suffix.lower() in KERAS_SUFFIXES:
        return _import_keras(model, path)
    return _import_safetensors(model, path)


def keras_architecture(path) -> dict:
    """The architecture a Keras ``model.save`` file stores, as a ``Sequential.get_config`` dict.

    ValueError for files that store none (``save_weights`` output, PyTorch state_dicts) or an
    architecture cnnviz cannot build.
    """
    path = check_path(path)
    if path.suffix.lower() in SAFETENSORS_SUFFIXES:
        raise ValueError(f"{path}: a PyTorch state_dict holds no architecture; say which model it belongs to "
                         "(cnnviz-train --model ..., load_model(path, architecture=model), or a model in the app)")
    h5, config = _open_keras(path, _require("h5py"))
    h5.close()
    if config is None:
        raise ValueError(f"{path}: holds only weights (save_weights); say which architecture they belong to "
                         "(cnnviz-train --model ...)")
    return _keras_config_to_cnnviz(config, path)


KERAS_OPTIMIZERS = {"sgd": ("SGD", ("learning_rate", "momentum", "nesterov")),
                    "adam": ("Adam", ("learning_rate", "beta_1", "beta_2", "epsilon")),
                    "rmsprop": ("RMSprop", ("learning_rate", "rho", "epsilon")),
                    "adagrad": ("Adagrad", ("learning_rate", "initial_accumulator_value", "epsilon")),
                    "adadelta": ("Adadelta", ("learning_rate", "rho", "epsilon"))}


def keras_training_config(path) -> dict | None:
    """``compile`` arguments (optimizer, loss, metrics) from a Keras ``model.save`` file, or None when
    it stores none or ones cnnviz does not implement (then the model is left uncompiled, as Keras
    leaves a model whose compile settings it cannot restore)."""
    path = check_path(path)
    h5, config = _open_keras(path, _require("h5py"))
    with h5:
        if "compile_config" in (config or {}):
            training = config["compile_config"]
        else:
            text = h5.attrs.get("training_config")
            try:
                training = json.loads(text.decode("utf8") if isinstance(text, bytes) else text) if text else None
            except json.JSONDecodeError:
                return None
    if not isinstance(training, dict):
        return None
    optimizer = training.get("optimizer") if "optimizer" in training else training.get("optimizer_config")
    loss, metrics = training.get("loss"), training.get("metrics") or []
    if isinstance(optimizer, dict):
        settings = optimizer.get("config") if isinstance(optimizer.get("config"), dict) else {}
        name = str(optimizer.get("class_name", "")).lower()
    else:
        settings, name = {}, str(optimizer).lower()
    if name not in KERAS_OPTIMIZERS or not isinstance(loss, str) or not isinstance(metrics, list) \
            or not all(isinstance(metric, str) for metric in metrics):
        return None
    keys = KERAS_OPTIMIZERS[name][1]
    return {"optimizer": {"name": name, **{key: settings[key] for key in keys if isinstance(settings.get(key),
                                                                                     (int, float, bool))}},
            "loss": loss, "metrics": metrics}


def _require(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ValueError(f"opening this file needs {module.split('.')[0]}: pip install cnnviz[import]") from None


def natural_key(name: str):
    """'features.10.weight' sorts after 'features.9.weight'."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name) if part]


def param_layers(model):
    """The layers whose variables a file holds, in order."""
    return [layer for layer in model.layers if layer.variables()]


def _assign(model, found: list[tuple[str, dict[str, np.ndarray]]], path, source: str,
            original_shapes=None):
    """Set ``found`` (source layer name, {'kernel', 'bias', 'gamma', ...} arrays in cnnviz layout, or
    a list of arrays in the layer's own variable order, as Keras 3 numbers them), in order, on the model.

    ``original_shapes[i][key]`` names the shape in the source framework's layout for messages.
    """
    layers = param_layers(model)
    if len(found) != len(layers):
        raise ValueError(f"{path}: has weights for {len(found)} layers ({', '.join(n for n, _ in found)}) but the "
                         f"model has {len(layers)} layers with weights ({', '.join(l.name for l in layers)})")
    arrays = {}
    for index, (layer, (name, params)) in enumerate(zip(layers, found)):
        if isinstance(params, list):  # numbered variables: in the order the layer lists them
            if len(params) != len(layer.variables()):
                raise ValueError(f"{path}: {source} layer {name} has {len(params)} variables but layer {layer.name} "
                                 f"has {len(layer.variables())} ({', '.join(layer.variables())})")
            params = dict(zip(layer.variables(), params))
        for key, expected in layer.variables().items():
            if key not in params:
                raise ValueError(f"{path}: {source} layer {name} has no {key} for layer {layer.name} "
                                 f"(expected shape {expected.shape})")
            if params[key].shape != expected.shape:
                original = original_shapes[index][key] if original_shapes else ""
                raise ValueError(f"{path}: {source} layer {name} {key} has shape {params[key].shape}{original} "
                                 f"but layer {layer.name} ({layer.describe()}) expects {expected.shape}")
            arrays[f"{layer.name}/{key}"] = params[key]
        extra = set(params) - set(layer.variables())
        if extra:
            raise ValueError(f"{path}: {source} layer {name} has {sorted(extra)} but layer {layer.name} has no such "
                             f"parameter (use_bias={getattr(layer, 'use_bias', None)})")
    try:
        model.set_weights(arrays)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    return model


# ---------------------------------------------------------------- Keras HDF5
def _attr_list(group, name: str) -> list[str] | None:
    """A string-list attribute; Keras splits long ones into name0, name1, ..."""
    if name in group.attrs:
        values = list(np.asarray(group.attrs[name]).reshape(-1))
    elif f"{name}0" in group.attrs:
        values, index = [], 0
        while f"{name}{index}" in group.attrs:
            values += list(np.asarray(group.attrs[f"{name}{index}"]).reshape(-1))
            index += 1
    else:
        return None
    return [v.decode("utf8") if isinstance(v, bytes) else str(v) for v in values]


def _h5_node(group, name: str, path):
    """``group[name]`` without ever following a link out of the file; None if there is no such name.

    External links, and datasets whose data lives in other files (external storage, virtual
    datasets), could make an HDF5 file read any file on the machine: they are refused.
    """
    import h5py

    node = group
    for part in (p for p in name.split("/") if p):
        link = node.get(part, getlink=True)
        if link is None:
            return None
        if isinstance(link, h5py.ExternalLink):
            raise ValueError(f"{path}: {node.name.rstrip('/')}/{part} is an external link to {link.filename}; "
                             "cnnviz never follows references out of a file")
        node = node[part]
        if node.file.id != group.file.id:
            raise ValueError(f"{path}: {name} leads out of the file; cnnviz never follows references out of a file")
    return node


def _h5_array(dataset, path, budget: list) -> np.ndarray:
    """A dataset's values, after checking that they are numbers stored in this file and not too many."""
    import h5py

    where = f"{path}: dataset {dataset.name}"
    if not isinstance(dataset, h5py.Dataset):
        raise ValueError(f"{where} is a group; expected an array of weights")
    if dataset.is_virtual or dataset.id.get_create_plist().get_external_count():
        raise ValueError(f"{where} keeps its data in other files (external storage or a virtual dataset); "
                         "cnnviz never follows references out of a file")
    if dataset.dtype.kind not in "iuf":
        raise ValueError(f"{where} has dtype {dataset.dtype}; expected real numbers")
    budget[0] -= dataset.size * dataset.dtype.itemsize
    if budget[0] < 0:
        raise ValueError(f"{where}: the weights would take more than the {MAX_FILE_BYTES:,} bytes cnnviz reads "
                         "from one file")
    return np.asarray(dataset)


def _keras_param_key(weight_name: str) -> str:
    """'conv2d/kernel:0' -> 'kernel'."""
    return weight_name.rsplit("/", 1)[-1].split(":")[0]


def _read_keras_weights(h5, path, class_names) -> list[tuple[str, dict[str, np.ndarray]]]:
    """(layer name, {'kernel', 'bias'}) for every Keras layer with weights, in model order.

    ``class_names``: the layer types of the model in order (the file's config, or the model the
    weights go into); Keras 3 files need them to find each layer's weights.
    """
    def has(name):  # without resolving the link (``name in h5`` would open an external file)
        return h5.get(name, getlink=True) is not None

    if has("layers") and "layer_names" not in h5.attrs and not has("model_weights"):
        return _read_keras3_weights(_h5_node(h5, "layers", path), class_names, path)
    root = _h5_node(h5, "model_weights", path) if has("model_weights") else h5
    budget = [MAX_FILE_BYTES]
    names = _attr_list(root, "layer_names")
    if names is None:
        raise ValueError(f"{path}: not a Keras weights file (no 'layer_names' attribute at /{root.name.strip('/')})")
    found = []
    for name in names:
        group = _h5_node(root, name, path)
        if group is None:
            raise ValueError(f"{path}: layer {name} is listed in layer_names but has no group")
        weight_names = _attr_list(group, "weight_names") or []
        params = {}
        for weight_name in weight_names:
            dataset = _h5_node(group, weight_name, path)
            if dataset is None:
                raise ValueError(f"{path}: layer {name}: weight {weight_name} is listed but missing")
            params[_keras_param_key(weight_name)] = _h5_array(dataset, path, budget)
        if params:
            found.append((name, params))
    return found


def keras_path_name(class_name: str) -> str:
    """Keras' snake case of a class name: 'MaxPooling2D' -> 'max_pooling2d' (keras.src.utils.naming)."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def keras3_layer_paths(class_names) -> list[str]:
    """Where Keras 3 stores each layer of a Sequential model: by type and position, whatever the
    layers are called (``conv2d``, ``conv2d_1``, ``max_pooling2d``, ``dense``, ``dense_1``, ...)."""
    used: dict[str, int] = {}
    paths = []
    for class_name in class_names:
        base = keras_path_name(class_name)
        used[base] = used.get(base, -1) + 1
        paths.append(f"{base}_{used[base]}" if used[base] else base)
    return paths


def _read_keras3_weights(layers_group, class_names, path):
    """Keras 3 layout (``.keras`` archives, ``save_weights('x.weights.h5')``): layers/<path>/vars/0, 1, ...

    Each layer is found at the path its type and position give (``keras3_layer_paths``); the
    layer's own name is only an attribute there (vars/@name), used in messages.
    """
    found, budget = [], [MAX_FILE_BYTES]
    for layer_path in keras3_layer_paths(class_names):
        variables = _h5_node(layers_group, f"{layer_path}/vars", path)  # None: a layer without weights
        if variables is not None and len(variables):
            name = variables.attrs.get("name", layer_path)
            name = name.decode("utf8") if isinstance(name, bytes) else str(name)
            keys = sorted(variables, key=_vars_index(path, layer_path))
            arrays = [_h5_array(_h5_node(variables, key, path), path, budget) for key in keys]
            found.append((name, arrays))
    expected = set(keras3_layer_paths(class_names))
    extra = sorted(name for name in layers_group
                   if name not in expected and len(_h5_node(layers_group, f"{name}/vars", path) or ()))
    if extra:
        raise ValueError(f"{path}: holds weights for layers {extra} that the model's structure "
                         f"({', '.join(class_names)}) does not have")
    return found


def _vars_index(path, layer_path):
    def key(name):
        if not name.isdigit():
            raise ValueError(f"{path}: layers/{layer_path}/vars/{name}: expected numbered variables 0, 1, ...")
        return int(name)
    return key


def _keras_class_names(config) -> list[str]:
    """The layer types of a Keras Sequential config, in order, without the InputLayer."""
    body = (config or {}).get("config", {})
    entries = body.get("layers", []) if isinstance(body, dict) else body
    return [entry.get("class_name") for entry in entries if entry.get("class_name") != "InputLayer"]


def _keras_config_to_cnnviz(config, path) -> dict:
    """A Keras Sequential ``model_config`` -> a cnnviz ``Sequential.get_config`` dict."""
    if config.get("class_name") != "Sequential":
        raise ValueError(f"{path}: the Keras model is a {config.get('class_name')}; "
                         "only Sequential models are supported")
    body = config.get("config", {})
    keras_layers = body.get("layers", []) if isinstance(body, dict) else body
    input_shape, layers = None, []
    for entry in keras_layers:
        kind, cfg = entry.get("class_name"), dict(entry.get("config", {}))
        shape = cfg.get("batch_input_shape") or cfg.get("batch_shape")
        if shape and input_shape is None:
            input_shape = list(shape[1:])
        if kind == "InputLayer":
            continue
        where = f"{path}: Keras layer {cfg.get('name')} ({kind})"
        if cfg.get("data_format", "channels_last") != "channels_last":
            raise ValueError(f"{where}: data_format {cfg['data_format']} is not supported (cnnviz is channels_last)")
        if kind == "Conv2D":
            if tuple(cfg.get("dilation_rate", (1, 1))) not in ((1, 1), (1,)) or cfg.get("groups", 1) != 1:
                raise ValueError(f"{where}: dilated or grouped convolutions are not supported")
            keep = ("filters", "kernel_size", "strides", "padding", "activation", "use_bias")
        elif kind in ("MaxPooling2D", "AveragePooling2D"):
            keep = ("pool_size", "strides", "padding")
        elif kind == "Dense":
            keep = ("units", "activation", "use_bias")
        elif kind == "Dropout":
            keep = ("rate",)
        elif kind == "Activation":
            keep = ("activation",)
        elif kind in ("Flatten", "GlobalAveragePooling2D"):
            if cfg.get("keepdims"):
                raise ValueError(f"{where}: keepdims=True is not supported")
            keep = ()
        elif kind == "BatchNormalization":
            if cfg.get("axis", -1) not in (-1, 3, [-1], [3]):
                raise ValueError(f"{where}: normalizing axis {cfg.get('axis')} is not supported (cnnviz: the channels)")
            keep = ("momentum", "epsilon", "center", "scale")
        else:
            raise ValueError(f"{where}: this layer type is not supported; cnnviz supports Conv2D, MaxPooling2D, "
                             "AveragePooling2D, GlobalAveragePooling2D, BatchNormalization, Flatten, Dense, "
                             "Dropout and Activation")
        layers.append({"class_name": kind,
                       "config": {"name": cfg.get("name"), **{k: cfg[k] for k in keep if k in cfg}}})
    if input_shape is None:
        raise ValueError(f"{path}: the stored Keras model has no input shape; open the file into a model "
                         "(cnnviz-train --model ...)")
    return {"class_name": "Sequential",
            "config": {"name": body.get("name", "keras") if isinstance(body, dict) else "keras",
                       "input_shape": input_shape, "layers": layers}}


def _open_keras(path, h5py):
    """(open HDF5 file, model config or None) of a Keras .h5/.hdf5 file or a Keras 3 .keras archive."""
    if path.suffix.lower() == ".keras":
        try:
            with zipfile.ZipFile(path) as archive:
                config = parse_json(_read_member(archive, "config.json", MAX_JSON_BYTES, path).decode("utf8"))
                weights = _read_member(archive, "model.weights.h5", MAX_FILE_BYTES, path)
        except (zipfile.BadZipFile, KeyError, OSError, UnicodeDecodeError, NotImplementedError) as error:
            raise ValueError(f"{path}: not a readable Keras .keras archive with config.json and model.weights.h5 "
                             f"({error})") from None
        try:
            return h5py.File(io.BytesIO(weights), "r"), config
        except OSError as error:
            raise ValueError(f"{path}: model.weights.h5 is not a readable HDF5 file ({error})") from None
    try:
        h5 = h5py.File(path, "r")
    except OSError as error:
        raise ValueError(f"{path}: not a readable HDF5 file ({error})") from None
    text = h5.attrs.get("model_config")
    if text is None:
        return h5, None
    try:
        return h5, parse_json(text.decode("utf8", "replace") if isinstance(text, bytes) else str(text))
    except ValueError as error:
        h5.close()
        raise ValueError(f"{path}: the stored model_config is {error}") from None


def _read_member(archive: zipfile.ZipFile, name: str, limit: int, path) -> bytes:
    """One member of a zip archive, refused from its size in the directory (and capped while inflating)."""
    info = archive.getinfo(name)
    check_size(path, info.file_size, limit, name)
    with archive.open(info) as stream:
        return read_capped(stream, limit, path, name)


def _import_keras(model, path):
    h5py = _require("h5py")
    h5, config = _open_keras(path, h5py)
    with h5:
        class_names = _keras_class_names(config) if config else [type(layer).__name__ for layer in model.layers]
        found = _read_keras_weights(h5, path, class_names)
    known = {"kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance"}
    for _, params in found:
        unknown = set() if isinstance(params, list) else set(params) - known
        if unknown:
            raise ValueError(f"{path}: weights {sorted(unknown)} belong to a layer type cnnviz does not support")
    return _assign(model, found, path, "Keras")


# ---------------------------------------------------------------- PyTorch safetensors
def _torch_groups(tensors: dict[str, np.ndarray], path, layer_names) -> list[tuple[str, dict[str, np.ndarray]]]:
    """{'features.0.weight': ...} -> [(module name, {'weight', 'bias', ...})] in model order.

    safetensors stores keys sorted, so the order is rebuilt: the model's (``layer_names``) when the
    modules carry its layers' names; else convolutions (4-D weights)
    first, then linear layers, each in natural name order ('fc2' before 'fc10'); with BatchNorm
    layers among them, in natural name order alone (an nn.Sequential's '0', '1', ..., '10').
    """
    groups: dict[str, dict[str, np.ndarray]] = {}
    for key, value in tensors.items():
        module, _, kind = key.rpartition(".")
        if kind == "num_batches_tracked":
            continue  # BatchNorm's step counter: cnnviz's moving statistics use a fixed momentum
        if kind not in ("weight", "bias", "running_mean", "running_var"):
            raise ValueError(f"{path}: unexpected tensor {key}; expected <module>.weight and <module>.bias "
                             "(and BatchNorm's running_mean and running_var)")
        groups.setdefault(module, {})[kind] = value
    for module, params in groups.items():
        if "weight" not in params and "running_mean" not in params:
            raise ValueError(f"{path}: {module}.bias has no {module}.weight")
        if "running_mean" not in params and params["weight"].ndim not in (2, 4):
            raise ValueError(f"{path}: {module}.weight has shape {params['weight'].shape}; only Conv2d (4-D), "
                             "Linear (2-D) and BatchNorm weights are supported")
    if set(groups) == set(layer_names):  # named after the model's layers (as to_torch names them)
        return [(name, groups[name]) for name in layer_names]
    if any("running_mean" in params for params in groups.values()):  # BatchNorm between the others:
        return sorted(groups.items(), key=lambda item: natural_key(item[0]))  # nn.Sequential's own order
    return sorted(groups.items(), key=lambda item: (item[1]["weight"].ndim != 4, natural_key(item[0])))


def _import_safetensors(model, path):
    numpy_api = _require("safetensors.numpy")
    from safetensors import SafetensorError

    check_size(path, path.stat().st_size, MAX_FILE_BYTES, "this file")
    try:
        tensors = numpy_api.load_file(str(path))
    except (SafetensorError, OSError, ValueError, TypeError) as error:
        raise ValueError(f"{path}: not a readable safetensors file of float32/float64 tensors ({error})") from None
    groups = _torch_groups(tensors, path, [layer.name for layer in param_layers(model)])
    layers = param_layers(model)
    flatten, first_dense = _flatten_and_next_dense(model)
    found, original_shapes = [], []
    for index, (module, params) in enumerate(groups):
        if "running_mean" in params:  # BatchNorm: weight and bias are γ and β
            names = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean",
                     "running_var": "moving_variance"}
            found.append((module, {names[key]: value for key, value in params.items()}))
            original_shapes.append({name: f" (PyTorch {module}.{key})" for key, name in names.items()})
            continue
        weight = params["weight"]
        converted = {"bias": params["bias"]} if "bias" in params else {}
        if weight.ndim == 4:
            converted["kernel"] = weight.transpose(2, 3, 1, 0)
        else:
            kernel = weight.T
            if first_dense is not None and index < len(layers) and layers[index] is first_dense:
                h, w, c = flatten.input_shape
                if kernel.shape[0] == h * w * c:  # rows from (C, H, W) order to (H, W, C)
                    kernel = kernel.reshape(c, h, w, -1).transpose(1, 2, 0, 3).reshape(h * w * c, -1)
            converted["kernel"] = kernel
        found.append((module, converted))
        original_shapes.append({"kernel": f" (PyTorch {module}.weight {weight.shape})",
                                "bias": f" (PyTorch {module}.bias)"})
    return _assign(model, found, path, "PyTorch", original_shapes)


def _flatten_and_next_dense(model):
    """The first Flatten of an image (H, W, C) and the first layer with weights after it, or (None, None)."""
    for index, layer in enumerate(model.layers):
        if isinstance(layer, Flatten) and len(layer.input_shape) == 3:
            following = [later for later in model.layers[index + 1 :] if later.params]
            return layer, following[0] if following else None
    return None, None
