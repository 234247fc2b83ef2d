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
