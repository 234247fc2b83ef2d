"""Save and load weights as ``.npz``: keys ``layername/kernel``, ``layername/bias`` and the
architecture as JSON under ``__architecture__``. Knows no model class (the model imports this
module; ``cnnviz.engine.model.load_model`` builds a model from a file).

Loading never unpickles (``allow_pickle=False``) and checks every array before it changes
anything: a file that does not fit leaves the model exactly as it was.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

ARCHITECTURE_KEY = "__architecture__"


def atomic_write(path, write) -> None:
    """Call ``write(file_object)`` on a temporary file beside ``path``, then rename it into place.

    A crash half-way leaves any existing file untouched. The file gets the permissions a
    plain ``open(path, "w")`` would give (mkstemp alone would make it private to its owner).
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        os.chmod(temporary, 0o666 & ~current_umask())
        with os.fdopen(handle, "wb") as stream:
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


def save_weights(model, path) -> None:
    arrays = model.weights_by_name()
    arrays[ARCHITECTURE_KEY] = np.array(model.to_json())
    atomic_write(path, lambda stream: np.savez(stream, **arrays))


def read_npz(path) -> dict[str, np.ndarray]:
    """All arrays of an ``.npz`` file, read without unpickling; ValueError for a bad file."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    # np.load would take any other file for a pickle (and, refusing it, say so).
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: not a readable .npz weights file (not a zip archive, or truncated)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except ValueError as error:
        if "pickle" in str(error).lower():
            raise ValueError(f"{path}: holds pickled Python objects, which cnnviz never loads") from None
        raise ValueError(f"{path}: not a readable .npz weights file ({error})") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as error:
        raise ValueError(f"{path}: not a readable .npz weights file ({error or type(error).__name__})") from None


def architecture_of(arrays: dict) -> dict | None:
    """The architecture JSON stored in a weights file, or None if it has none."""
    if ARCHITECTURE_KEY not in arrays:
        return None
    try:
        return json.loads(str(arrays[ARCHITECTURE_KEY]))
    except json.JSONDecodeError as error:
        raise ValueError(f"the stored architecture is not valid JSON: {error}") from None


def check_weights(model, arrays: dict) -> dict[str, np.ndarray]:
    """Check that ``arrays`` holds a finite array of the right shape for every parameter.

    Returns the arrays cast to the model dtype; raises ValueError naming the layer and the
    shapes expected and found.
    """
    checked = {}
    for layer in model.layers:
        for key, param in layer.params.items():
            name = f"{layer.name}/{key}"
            if name not in arrays:
                found = sorted(k for k in arrays if k != ARCHITECTURE_KEY)
                raise ValueError(f"layer {layer.name}: no '{name}' in the weights (expected shape {param.shape}); "
                                 f"the file has {found}")
            value = np.asarray(arrays[name])
            if value.dtype == object or not np.issubdtype(value.dtype, np.number):
                raise ValueError(f"layer {layer.name}: '{name}' has dtype {value.dtype}, expected numbers")
            if value.shape != param.shape:
                raise ValueError(f"layer {layer.name}: '{name}' has shape {value.shape}, expected {param.shape}")
            if not np.all(np.isfinite(value)):
                raise ValueError(f"layer {layer.name}: '{name}' contains NaN or infinite values")
            checked[name] = value.astype(model.dtype)
    return checked


def load_weights(model, path) -> None:
    """Load ``save_weights`` output into ``model`` (all or nothing)."""
    arrays = read_npz(path)
    try:
        model.set_weights(arrays)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
