"""The model presets the app and the CLI offer, stored as JSON in resources/models/."""
from __future__ import annotations

from pathlib import Path

from .engine.model import Sequential
from .paths import MODELS

PRESETS = ("lecture", "kerasy-mnist", "lenet", "same-padding", "dense")


def load_model_file(path, seed=None) -> Sequential:
    """A model from a JSON architecture file (``Sequential.get_config`` format)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot read the model file ({error})") from None
    try:
        return Sequential.from_json(text, seed=seed)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def load_preset(name: str, seed=0) -> Sequential:
    """A fresh (untrained) model of a preset: 'lecture', 'kerasy-mnist', 'lenet', 'same-padding' or 'dense'."""
    if name not in PRESETS:
        raise ValueError(f"unknown model preset {name!r}; expected one of {list(PRESETS)}")
    return load_model_file(MODELS / f"{name}.json", seed=seed)


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
