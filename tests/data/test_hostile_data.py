"""Hostile datasets and images: a clear ValueError naming the file, refused from headers before the
big allocation, never a hang. Regression tests for the cases of issue 12 plus property-based tests."""
import gzip
import io
import os
import pickle
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from cnnviz import limits
from cnnviz.data import cifar, formats, load_dataset
from tests.memory import peak_megabytes

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])




def idx_bytes(shape, body=b""):
    return bytes([0, 0, 8, len(shape)]) + b"".join(n.to_bytes(4, "big") for n in shape) + body


def idx_folder(folder, n_train=4, n_test=2, images=None):
    """An MNIST-layout folder; ``images`` replaces the training images file's bytes."""
    rng = np.random.default_rng(0)
    files = {"train-images-idx3-ubyte": images or idx_bytes((n_train, 4, 4), rng.bytes(n_train * 16)),
             "train-labels-idx1-ubyte": idx_bytes((n_train,), bytes(k % 2 for k in range(n_train))),
             "t10k-images-idx3-ubyte": idx_bytes((n_test, 4, 4), rng.bytes(n_test * 16)),
             "t10k-labels-idx1-ubyte": idx_bytes((n_test,), bytes(k % 2 for k in range(n_test)))}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def png_header_only(width, height):
    """A PNG whose header says width x height (CRC correct) followed by a tiny, short IDAT."""
    def chunk(kind, data):
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(100))) + \
        chunk(b"IEND", b"")


# ---------------------------------------------------------------- IDX
def test_an_idx_gzip_bomb_is_refused_after_reading_only_what_the_header_says(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    with gzip.open(path, "wb", compresslevel=1) as stream:
        stream.write(idx_bytes((10, 28, 28)))
        for _ in range(20):
            stream.write(bytes(5_000_000))  # 100 MB of zeros after a header that announces 7,840 bytes
    assert path.stat().st_size < 500_000
    result, peak = peak_megabytes(lambda: formats.read_idx(path, 3))
    assert isinstance(result, ValueError) and "holds more than the 7,840 bytes expected" in str(result)
    assert peak < 5


def test_an_idx_header_announcing_billions_of_images_is_refused_from_the_header(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(idx_bytes((4_000_000_000, 28, 28), bytes(100)))
    result, peak = peak_megabytes(lambda: formats.read_idx(path, 3))
    assert isinstance(result, ValueError) and f"{limits.MAX_DATASET_VALUES:,} values" in str(result) and peak < 1


def test_an_idx_set_with_no_images_is_refused(tmp_path):
    idx_folder(tmp_path, n_train=0, n_test=0)
    with pytest.raises(ValueError, match="holds no training images"):
        load_dataset(tmp_path)


# ---------------------------------------------------------------- npz
def test_an_npz_dataset_with_a_label_of_a_billion_is_refused(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 4, 4), np.uint8), y=np.array([0, 1, 2, 10 ** 9]))
    result, peak = peak_megabytes(lambda: load_dataset(tmp_path / "d.npz"))
    assert isinstance(result, ValueError) and "labels must be whole numbers from 0 to 9,999" in str(result)
    assert peak < 5


def test_an_empty_npz_dataset_is_refused_clearly(tmp_path):
    np.savez(tmp_path / "empty.npz", x=np.zeros((0, 4, 4), np.uint8), y=np.zeros(0, np.int64))
    with pytest.raises(ValueError, match="empty.npz: holds no training images"):
        load_dataset(tmp_path / "empty.npz")


@pytest.mark.parametrize("fraction", [2, 0, 1, -0.5, float("nan"), True, "0.2"])
def test_test_fraction_outside_0_1_is_refused_for_every_source(fraction):
    for source in ("bars", "mnist"):
        with pytest.raises(ValueError, match="test_fraction must be a number between 0 and 1"):
            load_dataset(source, test_fraction=fraction)


# ---------------------------------------------------------------- CIFAR pickles
def cifar_batch(path, data):
    path.write_bytes(pickle.dumps(data, protocol=2))
    return path


def test_a_billion_laughs_pickle_is_refused_without_expanding(tmp_path):
    laughs = [0] * 10
    for _ in range(9):
        laughs = [laughs] * 10  # 10^10 ints once expanded, a few hundred bytes pickled
    path = cifar_batch(tmp_path / "data_batch_1", {"data": laughs, "labels": []})
    assert path.stat().st_size < 1000
    result, peak = peak_megabytes(lambda: cifar.read_batch(path))
    assert isinstance(result, ValueError) and "more than 200,000 objects" in str(result) and peak < 300


def test_a_self_referencing_pickle_is_refused(tmp_path):
    loop = []
    loop.append(loop)
    path = cifar_batch(tmp_path / "data_batch_1", {"data": loop, "labels": []})
    with pytest.raises(ValueError, match="refers to itself"):
        cifar.read_batch(path)


def test_a_real_shaped_cifar_batch_still_loads(tmp_path):
    data = np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072)
    path = cifar_batch(tmp_path / "data_batch_1", {b"data": data, b"labels": [3, 7]})
    x, y = cifar.read_batch(path)
    assert x.shape == (2, 32, 32, 3) and y.tolist() == [3, 7]


# ---------------------------------------------------------------- images
def test_a_tiny_jpeg_declaring_65500_squared_pixels_is_refused_from_its_header(tmp_path):
    buffer = io.BytesIO()
    Image.new("L", (8, 8)).save(buffer, "JPEG")
    raw = bytearray(buffer.getvalue())
    sof = raw.index(b"\xff\xc0")
    raw[sof + 5 : sof + 9] = (65500).to_bytes(2, "big") * 2
    path = tmp_path / "bomb.jpg"
    path.write_bytes(bytes(raw))
    assert len(raw) < 1000
    result, peak = peak_megabytes(lambda: formats.read_image(path))
    assert isinstance(result, ValueError) and "bomb.jpg" in str(result) and "50,000,000 pixels" in str(result)
    assert peak < 5


def test_a_30000_squared_png_is_refused_from_its_header(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(png_header_only(30_000, 30_000))
    result, peak = peak_megabytes(lambda: formats.read_image(path))
    assert isinstance(result, ValueError) and "up to 50,000,000 pixels" in str(result) and peak < 5


def test_a_fifo_chosen_as_an_image_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe.png")
    with pytest.raises(ValueError, match="pipe.png: is not a regular file"):
        formats.read_image(tmp_path / "pipe.png")


def test_cnnviz_data_never_imports_qt():
    import subprocess
    import sys

    code = ("import sys, cnnviz.data, cnnviz.data.formats as f; import numpy, PIL.Image; "
            "print(any(m.startswith('PyQt5') for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


# ---------------------------------------------------------------- properties
def mutated(data: st.DataObject, raw: bytes) -> bytes:
    raw = bytearray(raw)
    for _ in range(data.draw(st.integers(0, 6))):
        if raw:
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    return bytes(raw[: data.draw(st.integers(0, len(raw)))])


@FAST
@given(data=st.data())
def test_any_idx_file_loads_or_is_refused_clearly(tmp_path, data):
    shape = tuple(data.draw(st.lists(st.integers(0, 2 ** 32 - 1) | st.integers(0, 6), min_size=3, max_size=3)))
    raw = idx_bytes(shape, data.draw(st.binary(max_size=300)))
    path = tmp_path / ("train-images-idx3-ubyte" + data.draw(st.sampled_from(["", ".gz"])))
    path.write_bytes(gzip.compress(mutated(data, raw)) if path.suffix == ".gz" else mutated(data, raw))
    try:
        images = formats.read_idx(path, 3)
    except ValueError as error:
        assert str(path) in str(error)
        return
    assert images.dtype == np.uint8 and images.ndim == 3


NPZ_VALUES = st.builds(lambda shape, dtype: np.zeros(shape, dtype),
                       st.lists(st.integers(0, 5), max_size=4).map(tuple),
                       st.sampled_from(["uint8", "float32", "float64", "int64", "bool", "complex64", "U3"]))


@FAST
@given(arrays=st.dictionaries(st.sampled_from(["x", "y", "x_train", "y_train", "x_test", "y_test", "class_names"]),
                              NPZ_VALUES, max_size=6),
       fraction=st.floats(-1, 2) | st.just(float("nan")))
@example(arrays={"x": np.array(0, np.uint8), "y": np.array(0, np.uint8), "x_train": np.zeros((0, 0, 0), np.uint8)},
         fraction=0.5)  # x and y with a stray x_train: a KeyError ('y_train') once
def test_any_npz_dataset_loads_or_is_refused_clearly(tmp_path, arrays, fraction):
    path = tmp_path / "d.npz"
    np.savez(path, **arrays)
    try:
        data = load_dataset(path, test_fraction=fraction)
    except ValueError as error:
        assert str(path) in str(error) or "test_fraction" in str(error)
        return
    assert len(data.x_train) > 0 and data.x_train.dtype == np.float32


def test_x_and_y_with_a_stray_x_train_load_from_x_and_y(tmp_path):
    path = tmp_path / "d.npz"
    x, y = np.zeros((20, 8, 8), np.uint8), np.arange(20) % 2
    np.savez(path, x=x, y=y, x_train=np.zeros((3, 4, 4), np.uint8))
    data = load_dataset(path, test_fraction=0.25)
    assert len(data.x_train) + len(data.x_test) == 20 and data.x_train.shape[1:] == (8, 8, 1)


PLAIN = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=4) | st.binary(max_size=8),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner,
                                                                                 max_size=3),
                     max_leaves=20)


@FAST
@given(data=st.data(), content=PLAIN, protocol=st.integers(0, 5))
def test_any_cifar_pickle_loads_or_is_refused_clearly(tmp_path, data, content, protocol):
    path = tmp_path / "data_batch_1"
    path.write_bytes(mutated(data, pickle.dumps({"data": content, "labels": [1]}, protocol=protocol)))
    try:
        cifar.read_batch(path)
    except ValueError as error:
        assert str(path) in str(error)


def image_file(kind: str, size, mode) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, 128).save(buffer, kind)
    return buffer.getvalue()


@FAST
@given(data=st.data(), kind=st.sampled_from(["PNG", "JPEG", "BMP", "GIF", "PPM"]),
       size=st.tuples(st.integers(1, 12), st.integers(1, 12)), mode=st.sampled_from(["L", "RGB"]))
def test_any_image_file_loads_or_is_refused_clearly(tmp_path, data, kind, size, mode):
    path = tmp_path / f"image.{kind.lower()}"
    path.write_bytes(mutated(data, image_file(kind, size, mode)))
    try:
        pixels, _ = formats.read_image(path)
    except ValueError as error:
        assert str(path) in str(error)
        return
    assert pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3
