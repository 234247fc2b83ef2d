"""``keras.layers`` for cnnviz: the engine's layers behind Keras' signatures (see ``cnnviz.keras.adapters``).

Input, Conv2D, MaxPooling2D (MaxPool2D), AveragePooling2D (AvgPool2D), Flatten, Dense, Dropout,
Activation; also as ``layers.pooling``, ``layers.core`` and ``layers.convolutional`` like older Keras.
"""
from ...engine import layers as engine
from ...engine.model import refuse_unsupported
from ..adapters import keras_signature

_CONV_DEFAULTS = {"data_format": (None, "channels_last"), "dilation_rate": (1, 1), "groups": 1,
                  "kernel_initializer": "glorot_uniform", "bias_initializer": "zeros", "kernel_regularizer": None,
                  "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None,
                  "bias_constraint": None}
_POOL_DEFAULTS = {"data_format": (None, "channels_last")}

Conv2D = keras_signature(engine.Conv2D, _CONV_DEFAULTS)
Dense = keras_signature(engine.Dense, {key: value for key, value in _CONV_DEFAULTS.items()
                                       if key not in ("data_format", "dilation_rate", "groups")})
MaxPooling2D = MaxPool2D = keras_signature(engine.MaxPooling2D, _POOL_DEFAULTS)
AveragePooling2D = AvgPool2D = keras_signature(engine.AveragePooling2D, _POOL_DEFAULTS)
Flatten = keras_signature(engine.Flatten, _POOL_DEFAULTS)
Dropout = keras_signature(engine.Dropout, {"noise_shape": None, "seed": None})
Activation = keras_signature(engine.Activation, {})


def Input(shape=None, batch_size=None, dtype=None, batch_shape=None, name=None, **unsupported):  # noqa: N802
    """``Input(shape=(28, 28, 1))``: the input of a Sequential model, without the batch axis."""
    refuse_unsupported("Input", {**unsupported, **({"dtype": dtype} if dtype not in (None, "float32") else {})},
                       ("shape", "batch_shape", "batch_size", "name"))
    if shape is None and batch_shape is not None:
        shape = tuple(batch_shape)[1:]
    return engine.Input(shape=tuple(shape) if isinstance(shape, (list, tuple)) else shape)


def InputLayer(shape=None, input_shape=None, **kwargs):  # noqa: N802
    """``InputLayer(shape=...)`` (Keras 3) or ``InputLayer(input_shape=...)`` (Keras 2)."""
    return Input(shape=shape if shape is not None else input_shape, **kwargs)
