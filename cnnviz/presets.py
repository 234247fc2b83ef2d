"""The model presets the app and the CLI offer, stored as JSON in resources/models/."""
from __future__ import annotations

from .engine.model import Sequential
from .limits import as_path, read_json
from .paths import MODELS, WEIGHTS

PRESETS = ("lecture", "kerasy-mnist", "lenet", "same-padding", "allconv-bn")


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
