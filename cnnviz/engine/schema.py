"""The schema of an architecture (``Sequential.get_config`` JSON), checked before anything is built.

``check_architecture(config)`` checks every field's type and range and names it by its path
(``layers[2].config.use_bias``), so ``"use_bias": "false"`` or an ``input_shape`` that is a
number is refused with a message rather than misread or crashing later. ``check_model_size``
then walks the output shapes and adds up the weights without allocating any, so a model too
big to build (``MAX_PARAMS``, ``MAX_VALUES_PER_SAMPLE``, ``MAX_LAYERS``) is refused first.
"""
from __future__ import annotations

import math

from ..limits import MAX_DIMENSION, MAX_LAYERS, MAX_PARAMS, MAX_VALUES_PER_SAMPLE, bounded_count
from ..limits import short_repr as _short
from . import functional as F

MODEL_FIELDS = ("name", "input_shape", "dtype", "layers")
COMMON_FIELDS = {"name": "name", "trainable": "bool", "input_shape": "shape"}
LAYER_FIELDS = {
    "Conv2D": {"filters": "count", "kernel_size": "pair", "strides": "pair", "padding": "padding",
               "activation": "activation", "use_bias": "bool"},
    "MaxPooling2D": {"pool_size": "pair", "strides": "pair_or_none", "padding": "padding"},
    "AveragePooling2D": {"pool_size": "pair", "strides": "pair_or_none", "padding": "padding"},
    "Flatten": {},
    "Dense": {"units": "count", "activation": "activation", "use_bias": "bool"},
    "Dropout": {"rate": "rate"},
    "Activation": {"activation": "activation"},
    "BatchNormalization": {"axis": "integer", "momentum": "number", "epsilon": "number", "center": "bool",
                           "scale": "bool"},
    "GlobalAveragePooling2D": {},
}
REQUIRED = {"Conv2D": ("filters",), "Dense": ("units",), "Dropout": ("rate",), "Activation": ("activation",)}


def check_architecture(config) -> dict:
    """The model body ({name, input_shape, dtype, layers}) of ``config``; ValueError naming the bad field."""
    if not isinstance(config, dict):
        raise ValueError(f"a model configuration must be a JSON object, got {type(config).__name__}")
    body, prefix = (config["config"], "config.") if "config" in config else (config, "")
    if not isinstance(body, dict):
        raise ValueError(f"{prefix or 'the configuration'}: expected an object with {list(MODEL_FIELDS)}")
    unknown = sorted(map(str, set(body) - set(MODEL_FIELDS) - {"class_name"}))
    if unknown:
        raise ValueError(f"{prefix}{unknown[0]}: unknown field; a model has {list(MODEL_FIELDS)}")
    for field in ("input_shape", "layers"):
        if field not in body:
            raise ValueError(f"{prefix}{field}: missing; a model configuration needs 'input_shape' and a list "
                             "of 'layers'")
    _check_value(body.get("name", "sequential"), "name", f"{prefix}name")
    if body.get("dtype", "float32") not in ("float32", "float64"):
        raise ValueError(f"{prefix}dtype: {_short(body['dtype'])}; expected 'float32' or 'float64'")
    _check_value(body["input_shape"], "shape", f"{prefix}input_shape")
    layers = body["layers"]
    if not isinstance(layers, list):
        raise ValueError(f"{prefix}layers: expected a list of layers, got {type(layers).__name__}")
    if len(layers) > MAX_LAYERS:
        raise ValueError(f"{prefix}layers: {len(layers):,} layers, more than the {MAX_LAYERS:,} cnnviz builds")
    for index, entry in enumerate(layers):
        _check_layer(entry, f"{prefix}layers[{index}]")
    return body


def _check_layer(entry, where: str) -> None:
    from .layers import LAYER_TYPES

    if not isinstance(entry, dict) or not isinstance(entry.get("config", {}), dict):
        raise ValueError(f"{where}: expected an object with 'class_name' and 'config'")
    kind = entry.get("class_name")
    if kind not in LAYER_TYPES:
        raise ValueError(f"{where}.class_name: unknown layer type {_short(kind)}; expected one of "
                         f"{sorted(LAYER_TYPES)}")
    config = entry.get("config", {})
    fields = {**COMMON_FIELDS, **LAYER_FIELDS.get(kind, {})}
    for key, value in config.items():
        if kind in LAYER_FIELDS and key not in fields:
            raise ValueError(f"{where}.config.{key}: unknown setting for {kind}; expected {sorted(fields)}")
        _check_value(value, fields.get(key, "scalar"), f"{where}.config.{key}")
    for key in REQUIRED.get(kind, ()):
        if key not in config:
            raise ValueError(f"{where}.config.{key}: missing; {kind} needs it")


def _check_value(value, kind: str, where: str) -> None:
    """One field against its kind; ValueError naming ``where``, what was found and what is expected."""
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{where}: expected true or false, got {type(value).__name__} {_short(value)}")
    elif kind == "name":
        if value is not None and (not isinstance(value, str) or not 0 < len(value) <= 200):
            raise ValueError(f"{where}: expected a name of 1 to 200 characters, got {_short(value)}")
    elif kind == "count":
        bounded_count(value, 1, MAX_DIMENSION, where)
    elif kind in ("pair", "pair_or_none"):
        if value is None and kind == "pair_or_none":
            return
        items = value if isinstance(value, list) and len(value) == 2 else [value]
        if isinstance(value, list) and len(value) != 2:
            raise ValueError(f"{where}: expected a whole number or a pair of them, got {_short(value)}")
        for item in items:
            bounded_count(item, 1, MAX_DIMENSION, where)
    elif kind == "padding":
        if not (isinstance(value, str) and value.lower() in F.PADDING_MODES):
            if isinstance(value, str):
                raise ValueError(f"{where}: {_short(value)}; expected 'valid', 'same' or a whole number")
            bounded_count(value, 0, MAX_DIMENSION, where)
    elif kind == "activation":
        F.check_activation(value, where)
    elif kind == "integer":
        bounded_count(value, -8, 8, where)
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{where}: expected a number, got {_short(value)}")
    elif kind == "rate":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise ValueError(f"{where}: expected a number in [0, 1), got {_short(value)}")
    elif kind == "shape":
        if not isinstance(value, list) or not 1 <= len(value) <= 3:
            raise ValueError(f"{where}: expected a list of 1 to 3 sizes like [28, 28, 1], got {_short(value)}")
        for item in value:
            bounded_count(item, 1, MAX_DIMENSION, where)
        if math.prod(value) > MAX_VALUES_PER_SAMPLE:
            raise ValueError(f"{where}: {value} holds {math.prod(value):,} values per sample, more than the "
                             f"{MAX_VALUES_PER_SAMPLE:,} cnnviz handles")
    else:  # a setting of a layer kind without a schema here: plain JSON values of bounded size
        items = value if isinstance(value, list) and len(value) <= 8 else [value]
        for item in items:
            if isinstance(item, bool) or item is None or isinstance(item, float) or (
                    isinstance(item, str) and len(item) <= 200):
                continue
            bounded_count(item, -MAX_DIMENSION, MAX_DIMENSION, where)


def check_model_size(input_shape, layers) -> None:
    """Walk the output shapes of ``layers`` (made, not built) adding up their weights and output values.

    ValueError before anything is allocated if a layer output or the weights exceed the limits.
    A layer that does not fit its input is left for ``Sequential.add`` to explain.
    """
    shape, weights, values = tuple(input_shape), 0, 0
    for index, layer in enumerate(layers):
        try:
            output = tuple(layer.compute_output_shape(shape))
        except ValueError:
            return
        weights += _weight_count(layer, shape)
        values += math.prod(output)
        name = layer.name or f"layers[{index}] ({type(layer).__name__})"
        if values > MAX_VALUES_PER_SAMPLE:
            raise ValueError(f"layer {name}: the layer outputs up to here hold {values:,} values per sample (this "
                             f"one {output}), more than the {MAX_VALUES_PER_SAMPLE:,} cnnviz handles")
        if weights > MAX_PARAMS:
            raise ValueError(f"layer {name}: the model would have {weights:,} weights by this layer, more than the "
                             f"{MAX_PARAMS:,} cnnviz builds")
        shape = output


def _weight_count(layer, input_shape) -> int:
    kind = type(layer).__name__
    bias = getattr(layer, "use_bias", False)
    if kind == "Conv2D":
        kh, kw = layer.kernel_size
        return kh * kw * input_shape[-1] * layer.filters + layer.filters * bias
    if kind == "Dense":
        return math.prod(input_shape) * layer.units + layer.units * bias
    return 4 * input_shape[-1]  # at most scale, shift and two statistics per channel (normalization layers)

