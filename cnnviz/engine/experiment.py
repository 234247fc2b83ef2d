"""The single-image experiment of the teaching notebooks: train on one image towards a chosen
class and watch, step by step, how long it takes the prediction to flip."""
from __future__ import annotations

import numpy as np

from .layers import Conv2D, Dense

TRAIN_CHOICES = {"all": None, "conv": Conv2D, "dense": Dense}


def single_image_experiment(model, x, target=None, train: str = "all", max_steps: int = 100, optimizer=None):
    """Train ``model`` on the single image ``x`` (H, W, C) or (1, H, W, C) labelled ``target``.

    target: a class id; None picks the class the model now finds least likely.
    train: "all", "conv" or "dense": which layers learn; the others, and layers already frozen,
    keep their weights. No ``trainable`` flag is touched, so the step-by-step views may trace
    the model while the experiment runs. optimizer: takes the steps (default: the
    model's own; another one leaves the model's optimizer and its state untouched). The model's
    weights DO change: save them first (``model.get_weights()``) to undo the experiment.

    Returns an iterator of dicts, first for iteration 0 (before any training), then one per
    training step: iteration, target, target_probability, predicted, probabilities (K,),
    flipped (predicted == target), loss (the training loss of that step; None at 0). It stops
    after the first flipped dict or after ``max_steps`` steps. Arguments are checked at once.
    """
    if getattr(model, "optimizer", None) is None or getattr(model, "loss", None) is None:
        raise ValueError("the model is not compiled; call model.compile(optimizer=..., loss=...) first")
    if train not in TRAIN_CHOICES:
        raise ValueError(f"train must be one of {sorted(TRAIN_CHOICES)}, got {train!r}")
    if not isinstance(max_steps, (int, np.integer)) or max_steps < 0:
        raise ValueError(f"max_steps must be a non-negative int, got {max_steps!r}")
    x = np.asarray(x)
    if x.shape == tuple(model.input_shape):
        x = x[None]
    if x.shape[0] != 1:
        raise ValueError(f"the experiment takes one image of shape {tuple(model.input_shape)}, got {x.shape}")
    x = model.check_x(x)
    classes = model.output_shape[-1]
    if target is not None and (not isinstance(target, (int, np.integer)) or not 0 <= target < classes):
        raise ValueError(f"target must be a class id in [0, {classes - 1}], got {target!r}")
    wanted = TRAIN_CHOICES[train]
    learning = [layer for layer in model.layers if layer.trainable and layer.params
                and (wanted is None or isinstance(layer, wanted))]
    if not learning:
        raise ValueError(f"no trainable layer to train with train={train!r}")
    return _run(model, x, target, learning, max_steps, optimizer)


def _run(model, x, target, learning, max_steps, optimizer):
    probabilities = model.predict(x)[0]
    if target is None:
        target = int(np.argmin(probabilities))
    target = int(target)
    loss = None
    for iteration in range(max_steps + 1):
        if iteration:
            loss = model.train_on_batch(x, np.array([target]), optimizer, layers=learning)["loss"]
            probabilities = model.predict(x)[0]
        predicted = int(np.argmax(probabilities))
        yield {"iteration": iteration, "target": target, "target_probability": float(probabilities[target]),
               "predicted": predicted, "probabilities": probabilities.copy(), "flipped": predicted == target,
               "loss": loss}
        if predicted == target:
            return
