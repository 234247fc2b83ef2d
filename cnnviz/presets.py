"""The model presets the app and the CLI offer, stored as JSON in resources/models/."""
from __future__ import annotations

from .engine.model import Sequential
from .limits import as_path, read_json
from .paths import MODELS, WEIGHTS

PRESETS = ("lecture", "kerasy-mnist", "lenet", "same-padding", "allconv-bn", "dense")


def load_model_file(path, seed=None) -> Sequential:
    """A model from a JSON architecture file (``Sequential.get_config`` format)."""
    config = read_json(path, "JSON architecture file")
    try:
        return Sequential.from_config(config, seed=seed)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def load_preset(name: str, seed=0) -> Sequential:
    """A fresh (untrained) model of a preset (one of PRESETS)."""
    if name not in PRESETS:
        raise ValueError(f"unknown model preset {name!r}; expected one of {list(PRESETS)}")
    return load_model_file(MODELS / f"{name}.json", seed=seed)


def build_model(spec, seed=None) -> Sequential:
    """A preset name or a JSON architecture file -> a fresh (untrained) model."""
    if spec is None:
        raise ValueError(f"--model is needed: a preset {list(PRESETS)} or a JSON architecture file")
    if spec in PRESETS:
        return load_preset(spec, seed=seed)
    if not as_path(spec, "JSON architecture file").is_file():
        raise ValueError(f"--model {spec!r}: not a preset {list(PRESETS)} nor an existing JSON file")
    return load_model_file(spec, seed=seed)


def preset_model(spec, weights=None, seed=None) -> Sequential:
    """``build_model`` with weights: the file ``weights``, else a preset's shipped weights if any."""
    model = build_model(spec, seed)
    shipped = WEIGHTS / f"{spec}.npz" if spec in PRESETS else None
    if weights is not None:
        model.load_weights(weights)
    elif shipped is not None and shipped.is_file():
        model.load_weights(shipped)
    return model


def preset_for(name: str, input_shape, classes: int, seed=0) -> Sequential:
    """Preset ``name`` rebuilt for images of ``input_shape`` (H, W, C) and ``classes`` outputs (its last
    Dense layer resized); ValueError with the engine's reason when its layers do not fit that input."""
    config = load_preset(name).get_config()
    body = config["config"]
    body["input_shape"] = list(input_shape)
    dense = [layer for layer in body["layers"] if layer["class_name"] == "Dense"]
    if not dense:
        raise ValueError(f"preset {name!r} has no Dense layer to give {classes} outputs")
    dense[-1]["config"]["units"] = int(classes)
    if tuple(input_shape) != tuple(load_preset(name).input_shape) or classes != 10:
        body["name"] = f"{name} {'x'.join(map(str, input_shape))}"
    return Sequential.from_config(config, seed=seed)
