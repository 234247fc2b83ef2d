"""Keras signatures over the engine: ``keras_signature(EngineClass, defaults)`` gives a function
that takes Keras' arguments, checks those cnnviz does not implement and builds the engine object.

An argument cnnviz does not implement is accepted only with the value that means what cnnviz
does anyway (``data_format='channels_last'``, ``kernel_initializer='glorot_uniform'``, ...);
any other value, or an unknown argument, is refused by name with what cnnviz takes instead.
"""
from __future__ import annotations

import inspect

from ..engine.model import refuse_unsupported

LAYER_COMMON = {"name": None, "trainable": True, "input_shape": None}
LAYER_DEFAULTS = {"dtype": (None, "float32")}  # Keras-only arguments every layer accepts with these values


def _same(value, allowed) -> bool:
    """``value`` means the same as ``allowed``: a value, a pair such as (1, 1), or a tuple of alternatives."""
    alternatives = allowed if isinstance(allowed, tuple) and not all(isinstance(v, int) for v in allowed) \
        else (allowed,)
    return any(_equal(value, option) for option in alternatives)


def _equal(value, option) -> bool:
    if isinstance(option, tuple):  # a pair: 1, (1, 1) and [1, 1] are the same
        value = [value] * len(option) if isinstance(value, int) else value
        return isinstance(value, (list, tuple)) and list(value) == list(option)
    return value == option


def keras_signature(engine_class, keras_only: dict, renamed: dict | None = None, layer: bool = True):
    """A constructor with ``engine_class``'s arguments plus ``keras_only`` ({name: value(s) that
    mean cnnviz's behaviour}); ``renamed`` maps older Keras names to the engine's ({'lr': 'learning_rate'})."""
    takes = [name for name in inspect.signature(engine_class.__init__).parameters if name not in ("self", "kwargs")]
    if layer:
        takes += list(LAYER_COMMON)
    keras_only = {**(LAYER_DEFAULTS if layer else {}), **keras_only}
    renamed = renamed or {}
    kind = engine_class.__name__

    def build(*args, **kwargs):
        refused = {}
        for key in list(kwargs):
            if key in renamed and renamed[key] not in kwargs:
                kwargs[renamed[key]] = kwargs.pop(key)
            elif key in keras_only:
                value = kwargs.pop(key)
                if not _same(value, keras_only[key]):
                    allowed = keras_only[key]
                    allowed = allowed[-1] if isinstance(allowed, tuple) and None in allowed else allowed
                    refused[f"{key}={value!r} (cnnviz works as {key}={allowed!r})"] = value
            elif key not in takes:
                refused[key] = kwargs.pop(key)
        refuse_unsupported(kind, refused, takes)
        return engine_class(*args, **kwargs)

    build.__name__ = build.__qualname__ = kind
    build.__doc__ = engine_class.__doc__
    return build
