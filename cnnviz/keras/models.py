"""``keras.models``: Sequential (the engine's model), load_model, save_model, model_from_json."""
from ..engine.model import Sequential, load_model  # noqa: F401


def save_model(model, filepath) -> None:
    """``model.save(filepath)``: .keras, .h5 or .npz."""
    model.save(filepath)


def model_from_json(json_string) -> Sequential:
    """A model from ``model.to_json()`` (cnnviz's JSON)."""
    return Sequential.from_json(json_string)


def Model(*args, **kwargs):  # noqa: N802
    """Keras' functional Model is not implemented: cnnviz builds Sequential models."""
    raise ValueError("cnnviz has no functional Model; build a Sequential model: "
                     "Sequential([Input(shape=...), Conv2D(...), ...])")
