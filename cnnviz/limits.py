"""What cnnviz is willing to read, checked from headers before anything big is allocated.

Every reader of user files (weights, architectures, datasets, images) goes through these
checks, so a hostile or broken file gets a ``ValueError`` that names the file, what was wrong
and what is expected, in bounded time and memory. The limits are generous for real use (the
full CIFAR-10 and MNIST sets, VGG-sized teaching models, photos) and each message states the
limit it hit. ``ValueError`` is the one type of error meant for people: every entry point
(CLI, GUI, the Python API) shows its message; any other exception is a bug and keeps its
traceback.
"""
from __future__ import annotations

import json
import os
import stat
import zipfile
from pathlib import Path

import numpy as np

MAX_FILE_BYTES = 800_000_000        # bytes read (after decompression) from one weights or dataset file
MAX_DATASET_VALUES = 200_000_000    # pixel values in one dataset (CIFAR-10 holds 184,320,000)
MAX_CLASSES = 10_000
MAX_IMAGE_PIXELS = 50_000_000       # width x height of one image file (a 7000 x 7000 photo)
MAX_JSON_BYTES = 10 << 20           # an architecture file
MAX_LAYERS = 1_000
MAX_PARAMS = 50_000_000             # weights of one model (200 MB as float32)
MAX_VALUES_PER_SAMPLE = 16_777_216  # per sample: values of the input, and of all layer outputs together
MAX_DIMENSION = 65_536              # any one size (a side, channels, units, filters, kernel, stride)


def readable_file(path, what: str) -> Path:
    """``path`` as a Path if it is an existing regular file; ValueError otherwise.

    A FIFO, device or folder is refused before it is opened (reading a FIFO would block forever).
    """
    path = as_path(path, what)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file; expected {_a(what)}") from None
    except OSError as error:
        raise ValueError(f"{path}: cannot open it ({error.strerror or error}); expected {_a(what)}") from None
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a pipe, device or socket)"
        raise ValueError(f"{path}: is {kind}; expected {_a(what)}")
    return path


def _a(what: str) -> str:
    return f"{'an' if what[0] in 'aeiouAEIOU.' else 'a'} {what}"


def as_path(path, what: str) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"expected the path of {_a(what)} (a str or Path), got {type(path).__name__} "
                         f"{short_repr(path)}")
    return Path(path)


def check_size(path, size: int, limit: int, what: str) -> None:
    if size > limit:
        raise ValueError(f"{path}: {what} would take {size:,} bytes, more than the {limit:,} cnnviz reads from "
                         "one file")


def read_json(path, what: str = "architecture file", limit: int = MAX_JSON_BYTES):
    """Parsed JSON of a text file of at most ``limit`` bytes; ValueError for a missing, bigger, undecodable
    or too deeply nested one."""
    path = readable_file(path, what)
    check_size(path, path.stat().st_size, limit, f"this {what}")
    try:
        return parse_json(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot read the {what} ({error})") from None
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def parse_json(text: str):
    """json.loads with ValueError (not RecursionError) for absurdly nested documents."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"not a valid JSON document ({error})") from None
    except RecursionError:
        raise ValueError("the JSON is nested too deeply to be a cnnviz file") from None


def read_npz(path, what: str = ".npz file") -> dict[str, np.ndarray]:
    """All arrays of an ``.npz``, never unpickling, never inflating more than MAX_FILE_BYTES.

    Each member's ``.npy`` header is read first: its shape and dtype say how big the array is
    before any of it is decompressed; the zip's own sizes bound what a corrupt header could add.
    """
    path = readable_file(path, what)
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: not a readable {what} (not a zip archive, or truncated)")
    arrays, total = {}, 0
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                name = info.filename[: -len(".npy")]
                with archive.open(info) as member:
                    shape, fortran, dtype = _npy_header(member, path, name)
                    count = int(np.prod(shape, dtype=object))
                    nbytes = count * dtype.itemsize
                    total += nbytes
                    check_size(path, total, MAX_FILE_BYTES, f"array {name!r} of shape {shape} ({dtype})")
                    arrays[name] = _npy_body(member, shape, fortran, dtype, nbytes, f"{path}: array {name!r}")
    except (OSError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError) as error:
        raise ValueError(f"{path}: not a readable {what} ({error or type(error).__name__})") from None
    return arrays


def _npy_header(stream, path, name: str):
    """(shape, fortran_order, dtype) from a ``.npy`` header; refuses object arrays (pickles) and odd dtypes."""
    from numpy.lib import format as npy

    try:
        version = npy.read_magic(stream)
        read_header = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
        shape, fortran, dtype = read_header(stream, max_header_size=10_000)
    except (ValueError, SyntaxError, TypeError, OverflowError, EOFError, KeyError, RecursionError) as error:
        raise ValueError(f"{path}: array {name!r} is not a readable .npy array ({error})") from None
    if dtype.hasobject:
        raise ValueError(f"{path}: holds pickled Python objects, which cnnviz never loads (array {name!r})")
    if dtype.kind not in "biufcUS" or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(f"{path}: array {name!r} has dtype {dtype}; expected plain numbers or strings")
    return shape, fortran, dtype


def _npy_body(stream, shape, fortran: bool, dtype, nbytes: int, where: str) -> np.ndarray:
    """The array that follows a header, read straight into its own buffer."""
    buffer = bytearray(nbytes)
    view, filled = memoryview(buffer), 0
    while filled < nbytes:  # in chunks: ZipExtFile.readinto of everything would hold a second copy
        got = stream.readinto(view[filled : filled + (16 << 20)])
        if not got:
            raise ValueError(f"{where}: truncated: the header says {nbytes:,} bytes, the file holds {filled:,}")
        filled += got
    array = np.frombuffer(buffer, dtype)
    return array.reshape(shape[::-1]).T if fortran else array.reshape(shape)


def read_capped(stream, limit: int, path, what: str) -> bytes:
    """At most ``limit`` bytes of ``stream``; ValueError if it holds more (e.g. a gzip bomb)."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{path}: {what} holds more than the {limit:,} bytes expected; the rest was not read")
    return data


def bounded_count(value, low: int, high: int, where: str) -> int:
    """``value`` as an int if it is a whole number (not a bool) in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{where}: expected a whole number, got {type(value).__name__} {short_repr(value)}")
    if not low <= value <= high:
        raise ValueError(f"{where}: {short_repr(value)} is outside the range {low:,} to {high:,}")
    return int(value)


def short_repr(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def remove_stale_temporaries(path) -> None:
    """Delete temporaries that interrupted saves of ``path`` left behind (see ``temporary_name``)."""
    path = Path(path)
    for candidate in path.parent.glob(f".{path.name}.*.tmp"):
        pid = candidate.name[len(path.name) + 2 : -len(".tmp")]
        if pid.isdigit() and not _alive(int(pid)):
            try:
                candidate.unlink()
            except OSError:
                pass


def temporary_name(path) -> Path:
    """``.NAME.PID.tmp`` beside ``path``: the next save of ``path`` removes it if this process died."""
    path = Path(path)
    return path.parent / f".{path.name}.{os.getpid()}.tmp"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process is not writing that file now: it is a leftover of ours
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
