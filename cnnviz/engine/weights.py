"""Save and load weights as ``.npz``: keys ``layername/kernel``, ``layername/bias`` and the
architecture as JSON under ``__architecture__``. Knows no model class (the model imports this
module; ``cnnviz.engine.model.load_model`` builds a model from a file).

Loading never unpickles, reads array sizes from the headers before inflating anything
(``cnnviz.limits``) and checks every array before it changes
anything: a file that does not fit leaves the model exactly as it was.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .. import limits
from ..limits import remove_stale_temporaries, temporary_name

ARCHITECTURE_KEY = "__architecture__"


def atomic_write(path, write) -> None:
    """Call ``write(file_object)`` on a temporary file beside ``path``, then rename it into place.

    A crash half-way leaves any existing file untouched; the temporary is named
    ``.NAME.PID.tmp`` so that, if the process is killed before it can remove it, the next save of
    ``path`` does. The file gets the permissions a plain ``open(path, "w")`` would give.
    """
    path = Path(path)
    remove_stale_temporaries(path)
    temporary = temporary_name(path)
    try:
        with open(temporary, "wb") as stream:
            os.chmod(temporary, 0o666 & ~current_umask())
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def current_umask() -> int:
    """The process umask (os.umask can only be read by setting it, so set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_finite(arrays: dict) -> None:
    """ValueError naming the first array that holds NaN or infinite values."""
    for name, value in arrays.items():
        if not np.all(np.isfinite(value)):
            raise ValueError(f"'{name}' contains NaN or infinite values (training diverged?); "
                             "non-finite weights are never saved")


def save_weights(model, path) -> None:
    """Write the weights and architecture atomically; refuses non-finite weights (the old file stays)."""
    arrays = model.weights_by_name()
    check_finite(arrays)
    arrays[ARCHITECTURE_KEY] = np.array(model.to_json())
    atomic_write(path, lambda stream: np.savez(stream, **arrays))


def read_npz(path) -> dict[str, np.ndarray]:
    """All arrays of an ``.npz`` weights file, read without unpickling; ValueError for a bad file."""
    return limits.read_npz(path, ".npz weights file")


def architecture_of(arrays: dict) -> dict | None:
    """The architecture JSON stored in a weights file, or None if it has none."""
    if ARCHITECTURE_KEY not in arrays:
        return None
    stored = arrays[ARCHITECTURE_KEY]
    if stored.dtype.kind not in "US" or stored.shape != ():
        raise ValueError(f"the stored architecture is {stored.dtype} {stored.shape}, expected one JSON string")
    try:
        return limits.parse_json(str(stored))
    except ValueError as error:
        raise ValueError(f"the stored architecture is {error}") from None


def check_weights(model, arrays: dict) -> dict[str, np.ndarray]:
    """Check that ``arrays`` holds a finite array of the right shape for every parameter.

    Returns the arrays cast to the model dtype; raises ValueError naming the layer and the
    shapes expected and found.
    """
    checked = {}
    for layer in model.layers:
        for key, param in layer.variables().items():
            name = f"{layer.name}/{key}"
            if name not in arrays:
                found = sorted(k for k in arrays if k != ARCHITECTURE_KEY)
                raise ValueError(f"layer {layer.name}: no '{name}' in the weights (expected shape {param.shape}); "
                                 f"the file has {found}")
            value = np.asarray(arrays[name])
            if value.dtype.kind not in "iuf":
                raise ValueError(f"layer {layer.name}: '{name}' has dtype {value.dtype}, "
                                 "expected numbers (real, not complex)")
            if value.shape != param.shape:
                raise ValueError(f"layer {layer.name}: '{name}' has shape {value.shape}, expected {param.shape}")
            with np.errstate(over="ignore", invalid="ignore"):
                value = value.astype(model.dtype)  # checked after the cast: 1e39 is inf in float32
            if not np.all(np.isfinite(value)):
                raise ValueError(f"layer {layer.name}: '{name}' contains NaN or infinite values "
                                 f"(or values too large for {model.dtype})")
            checked[name] = value
    return checked


def load_weights(model, path) -> None:
    """Load ``save_weights`` output into ``model`` (all or nothing)."""
    arrays = read_npz(path)
    try:
        model.set_weights(arrays)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
