"""The model presets the app and the CLI offer, stored as JSON in resources/models/."""
from __future__ import annotations

from .engine.model import Sequential
from .limits import read_json
from .paths import MODELS

PRESETS = ("lecture", "kerasy-mnist", "lenet", "same-padding")


def load_model_file(path, seed=None) -> Sequential:
    """A model from a JSON architecture file (``Sequential.get_config`` format)."""
    config = read_json(path, "JSON architecture file")
    try:
        return Sequential.from_config(config, seed=seed)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def load_preset(name: str, seed=0) -> Sequential:
    """A fresh (untrained) model of a preset: 'lecture', 'kerasy-mnist', 'lenet' or 'same-padding'."""
    if name not in PRESETS:
        raise ValueError(f"unknown model preset {name!r}; expected one of {list(PRESETS)}")
    return load_model_file(MODELS / f"{name}.json", seed=seed)
