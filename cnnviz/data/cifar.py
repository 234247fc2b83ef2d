"""CIFAR-10 without unpickling.

The python version of CIFAR-10 (``data_batch_1`` .. ``data_batch_5``, ``test_batch``) is a
set of pickles, and loading a pickle can run any code. ``read_batch`` never does: it walks the
opcodes with ``pickletools.genops`` (a parser that executes nothing) and rebuilds only plain
data: dicts, lists, tuples, strings, bytes, ints and uint8-style NumPy arrays. Any other
content (a function call other than the few NumPy/codecs reconstructors arrays are stored
with) is refused.

The binary version (``data_batch_1.bin`` .., ``test_batch.bin``: per image one label byte and
3,072 pixel bytes) is read too.
"""
from __future__ import annotations

import math
import pickletools
from pathlib import Path

import numpy as np

from ..limits import MAX_DATASET_VALUES, MAX_FILE_BYTES, check_size, readable_file, short_repr

CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
TRAIN_FILES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_FILE = "test_batch"
RECORD = 1 + 3 * 32 * 32  # binary version: label byte + R, G, B planes of 32x32

_RECONSTRUCT = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")}
_ALLOWED_GLOBALS = _RECONSTRUCT | {("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}
_MARK = object()
MAX_PICKLE_OBJECTS = 200_000  # a batch holds about 20,000 (labels and file names)
MAX_PICKLE_DEPTH = 32


class _ArrayPlaceholder:
    """What ``numpy.core.multiarray._reconstruct`` returns before BUILD fills it in."""

    array = None


def _call(where, function, args):
    """The three calls pickled arrays need, done by hand; nothing else is ever called."""
    if function == ("_codecs", "encode") and len(args) == 2 and isinstance(args[0], str) and args[1] == "latin1":
        return args[0].encode("latin1")
    if function in _RECONSTRUCT and args and args[0] == ("numpy", "ndarray"):
        return _ArrayPlaceholder()
    if function == ("numpy", "dtype") and args and isinstance(args[0], (str, bytes)):
        code = args[0].decode("latin1") if isinstance(args[0], bytes) else args[0]
        dtype = np.dtype(code)
        if dtype.kind not in "biuf":
            raise ValueError(f"{where}: refuses a pickled array of dtype {code!r}")
        return dtype
    raise ValueError(f"{where}: refuses to call {'.'.join(map(str, function))} from a pickle")


def _build(where, target, state):
    if isinstance(target, np.dtype):
        return target.newbyteorder(">") if isinstance(state, tuple) and len(state) > 1 and state[1] == ">" else target
    if isinstance(target, _ArrayPlaceholder) and isinstance(state, tuple) and len(state) == 5:
        _, shape, dtype, fortran, raw = state
        if not isinstance(dtype, np.dtype) or not isinstance(raw, bytes):
            raise ValueError(f"{where}: malformed pickled array")
        if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise ValueError(f"{where}: malformed pickled array shape {short_repr(shape)}")
        count = math.prod(shape)
        if len(raw) != count * dtype.itemsize:
            raise ValueError(f"{where}: truncated array: {len(raw)} bytes for shape {tuple(shape)} of {dtype}")
        target.array = np.frombuffer(raw, dtype).reshape(shape, order="F" if fortran else "C")
        return target
    raise ValueError(f"{where}: malformed pickle (BUILD on {type(target).__name__})")


def _resolve(value, budget: list, depth: int = 0):
    """``value`` with arrays in place of their placeholders; ``budget[0]`` counts the objects still
    allowed, so that a pickle whose memo repeats containers inside each other ("billion laughs")
    or refers to itself is refused instead of expanded."""
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_PICKLE_DEPTH:
        raise ValueError(f"nested more than {MAX_PICKLE_DEPTH} deep, refers to itself or holds more than "
                         f"{MAX_PICKLE_OBJECTS:,} objects; a CIFAR-10 batch is a flat dict of arrays and lists")
    if isinstance(value, _ArrayPlaceholder):
        return value.array
    if isinstance(value, dict):
        return {_resolve(k, budget, depth + 1): _resolve(v, budget, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_resolve(v, budget, depth + 1) for v in value]
        return items if isinstance(value, list) else tuple(items)
    return value


def _pop_to_mark(stack):
    for index in range(len(stack) - 1, -1, -1):
        if stack[index] is _MARK:
            items = stack[index + 1 :]
            del stack[index:]
            return items
    raise ValueError("malformed pickle: no MARK")


def read_pickled_data(path) -> object:
    """Plain data (dicts, lists, strings, ints, numeric arrays) from a pickle file, without unpickling."""
    path = readable_file(path, "CIFAR-10 batch")
    where = str(path)
    check_size(path, path.stat().st_size, MAX_FILE_BYTES, "this pickle")
    data = path.read_bytes()
    stack, memo = [], {}
    try:
        for opcode, arg, _ in pickletools.genops(data):
            name = opcode.name
            if name in ("PROTO", "FRAME"):
                continue
            if name == "STOP":
                return _resolve(stack.pop(), [MAX_PICKLE_OBJECTS])
            if name == "MARK":
                stack.append(_MARK)
            elif name in ("EMPTY_DICT", "EMPTY_LIST", "EMPTY_TUPLE"):
                stack.append({"EMPTY_DICT": {}, "EMPTY_LIST": [], "EMPTY_TUPLE": ()}[name])
            elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
                memo[arg] = stack[-1]
            elif name == "MEMOIZE":
                memo[len(memo)] = stack[-1]
            elif name in ("BINGET", "LONG_BINGET", "GET"):
                stack.append(memo[arg])
            elif name in ("SHORT_BINSTRING", "BINSTRING"):  # Python 2 str: bytes
                stack.append(arg.encode("latin1"))
            elif name in ("SHORT_BINBYTES", "BINBYTES", "BINBYTES8", "SHORT_BINUNICODE", "BINUNICODE",
                          "BINUNICODE8", "BININT", "BININT1", "BININT2", "LONG1"):
                stack.append(arg)
            elif name in ("NONE", "NEWTRUE", "NEWFALSE"):
                stack.append({"NONE": None, "NEWTRUE": True, "NEWFALSE": False}[name])
            elif name == "TUPLE":
                stack.append(tuple(_pop_to_mark(stack)))
            elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
                size = int(name[-1])
                items = tuple(stack[-size:])
                del stack[-size:]
                stack.append(items)
            elif name == "APPEND":
                value = stack.pop()
                stack[-1].append(value)
            elif name == "APPENDS":
                items = _pop_to_mark(stack)
                stack[-1].extend(items)
            elif name == "SETITEM":
                value, key = stack.pop(), stack.pop()
                stack[-1][key] = value
            elif name == "SETITEMS":
                items = _pop_to_mark(stack)
                stack[-1].update(zip(items[::2], items[1::2]))
            elif name in ("GLOBAL", "STACK_GLOBAL"):
                if name == "GLOBAL":
                    module, _, attribute = arg.partition(" ")
                else:
                    attribute, module = stack.pop(), stack.pop()
                if (module, attribute) not in _ALLOWED_GLOBALS:
                    raise ValueError(f"{where}: refuses to load {module}.{attribute} from a pickle")
                stack.append((module, attribute))
            elif name == "REDUCE":
                args, function = stack.pop(), stack.pop()
                stack.append(_call(where, function, args))
            elif name == "BUILD":
                state = stack.pop()
                stack[-1] = _build(where, stack[-1], state)
            else:
                raise ValueError(f"{where}: unsupported pickle content (opcode {name})")
    except ValueError as error:
        message = str(error)
        if not message.startswith(where):
            message = f"{where}: not a readable pickle ({message})"
        raise ValueError(message) from None
    except (IndexError, KeyError, TypeError, AttributeError, OverflowError, RecursionError) as error:
        raise ValueError(f"{where}: malformed or truncated pickle ({type(error).__name__}: {error})") from None
    raise ValueError(f"{where}: truncated pickle (no STOP)")


def read_batch(path) -> tuple[np.ndarray, np.ndarray]:
    """One python-version CIFAR-10 batch -> images uint8 (N, 32, 32, 3), labels int64 (N,)."""
    batch = read_pickled_data(path)
    if not isinstance(batch, dict):
        raise ValueError(f"{path}: expected a CIFAR-10 batch (a dict with 'data' and 'labels')")
    batch = {key.decode("latin1") if isinstance(key, bytes) else key: value for key, value in batch.items()}
    data, labels = batch.get("data"), batch.get("labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != RECORD - 1:
        found = getattr(data, "shape", type(data).__name__)
        raise ValueError(f"{path}: expected 'data' as uint8 (N, 3072) (RGB 32x32 planes), found {found}")
    if not isinstance(labels, list) or len(labels) != len(data) or not all(isinstance(v, int) for v in labels):
        count = len(labels) if isinstance(labels, list) else type(labels).__name__
        raise ValueError(f"{path}: expected 'labels' as {len(data)} ints, found {count}")
    return _planes_to_nhwc(data), np.asarray(labels, dtype=np.int64)


def read_binary_batch(path) -> tuple[np.ndarray, np.ndarray]:
    """One binary-version CIFAR-10 batch (``*.bin``) -> images uint8 (N, 32, 32, 3), labels int64 (N,)."""
    path = readable_file(path, "CIFAR-10 binary batch")
    check_size(path, path.stat().st_size, MAX_FILE_BYTES, "this batch")
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % RECORD:
        raise ValueError(f"{path}: expected records of {RECORD} bytes (label + 32x32x3 pixels), "
                         f"got {raw.size} bytes ({raw.size / RECORD:.2f} records); truncated?")
    records = raw.reshape(-1, RECORD)
    return _planes_to_nhwc(records[:, 1:]), records[:, 0].astype(np.int64)


def _planes_to_nhwc(data: np.ndarray) -> np.ndarray:
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


def read_cifar10(folder) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x_train (50000, 32, 32, 3) uint8, y_train, x_test, y_test from a CIFAR-10 folder (python or binary)."""
    folder = Path(folder)
    binary = (folder / "data_batch_1.bin").exists()
    suffix, read = (".bin", read_binary_batch) if binary else ("", read_batch)
    parts, values = [], 0
    for names in (TRAIN_FILES, [TEST_FILE]):
        images, labels = [], []
        for name in names:
            path = folder / f"{name}{suffix}"
            if not path.is_file():
                raise ValueError(f"{path}: missing; a CIFAR-10 folder holds {', '.join(TRAIN_FILES)} and {TEST_FILE}"
                                 f"{' (.bin)' if binary else ''}")
            x, y = read(path)
            values += x.size
            if values > MAX_DATASET_VALUES:
                raise ValueError(f"{path}: the batches hold more than the {MAX_DATASET_VALUES:,} pixel values cnnviz "
                                 "reads for one dataset")
            if y.size and y.max() >= len(CLASS_NAMES):
                raise ValueError(f"{path}: labels must be 0-9, found {y.max()}")
            images.append(x)
            labels.append(y)
        parts += [np.concatenate(images), np.concatenate(labels)]
    return tuple(parts)
