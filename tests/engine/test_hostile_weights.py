"""Hostile weights files: a clear ValueError naming the file, bounded memory, the model unchanged.

Regression tests for the cases of issue 12, plus property-based tests (hypothesis) that
generate random arrays, dtypes, shapes and corrupted bytes for the weights of a small model.
"""
import io
import json
import os
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.lib import format as npy

from cnnviz import limits
from cnnviz.engine import Conv2D, Dense, Flatten, Input, Sequential
from cnnviz.engine.importers import import_weights
from cnnviz.engine.model import load_model
from cnnviz.engine.weights import save_weights
from tests.memory import peak_megabytes

h5py = pytest.importorskip("h5py")

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def small(seed=0, dtype="float32"):
    return Sequential([Input(input_shape=(6, 6, 1)), Conv2D(2, 3, activation="relu"), Flatten(), Dense(3)],
                      seed=seed, dtype=dtype)


def refused(load, model, match=None):
    """``load()`` raises ValueError (matching ``match``) and leaves ``model``'s weights as they were."""
    before = model.weights_by_name()
    with pytest.raises(ValueError, match=match) as error:
        load()
    for key, value in model.weights_by_name().items():
        np.testing.assert_array_equal(value, before[key])
    return str(error.value)




def npz_with_header(path, name, shape, descr="<f8", body=b"\0" * 64, compress=True):
    """An .npz whose member ``name`` claims ``shape`` in its header but holds only ``body``."""
    header = io.BytesIO()
    npy.write_array_header_1_0(header, {"descr": descr, "fortran_order": False, "shape": shape})
    mode = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", mode) as archive:
        archive.writestr(f"{name}.npy", header.getvalue() + body)


# ---------------------------------------------------------------- values that must not get in
def test_a_float64_weight_too_large_for_float32_is_refused(tmp_path):
    model = small()
    arrays = {k: v.astype(np.float64) for k, v in model.weights_by_name().items()}
    arrays["dense_1/bias"][0] = 1e39  # finite in float64, inf in float32
    np.savez(tmp_path / "big.npz", **arrays)
    message = refused(lambda: model.load_weights(tmp_path / "big.npz"), model)
    assert "big.npz" in message and "dense_1/bias" in message and "too large for float32" in message


def test_complex_weights_are_refused(tmp_path):
    model = small()
    arrays = {k: v.astype(np.complex64) for k, v in model.weights_by_name().items()}
    np.savez(tmp_path / "complex.npz", **arrays)
    message = refused(lambda: model.load_weights(tmp_path / "complex.npz"), model)
    assert "complex64" in message and "not complex" in message


def test_safetensors_values_too_large_for_float32_are_refused(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    model = small()
    tensors = {"conv.weight": np.zeros((2, 1, 3, 3)), "conv.bias": np.zeros(2),
               "fc.weight": np.full((3, 32), 1e39), "fc.bias": np.zeros(3)}
    safetensors_numpy.save_file(tensors, str(tmp_path / "w.safetensors"))
    message = refused(lambda: import_weights(model, tmp_path / "w.safetensors"), model)
    assert "NaN or infinite" in message


# ---------------------------------------------------------------- memory bounded by the headers
def test_an_npz_header_claiming_terabytes_is_refused_before_allocating(tmp_path):
    npz_with_header(tmp_path / "huge.npz", "dense_1/kernel", (1 << 20, 1 << 19))
    model = small()
    result, peak = peak_megabytes(lambda: model.load_weights(tmp_path / "huge.npz"))
    assert isinstance(result, ValueError) and "4,398,046,511,104 bytes" in str(result)
    assert f"{limits.MAX_FILE_BYTES:,}" in str(result) and peak < 50


def test_an_npz_deflate_bomb_is_refused_from_its_header(tmp_path, monkeypatch):
    # 80 MB of zeros in a few kB; with the limit lowered to 8 MB it must be refused unread.
    npz_with_header(tmp_path / "bomb.npz", "dense_1/kernel", (10_000_000,), body=bytes(80_000_000))
    assert os.path.getsize(tmp_path / "bomb.npz") < 200_000
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 8_000_000)
    result, peak = peak_megabytes(lambda: small().load_weights(tmp_path / "bomb.npz"))
    assert isinstance(result, ValueError) and "more than the 8,000,000 cnnviz reads" in str(result) and peak < 20


def test_a_truncated_npz_body_is_refused(tmp_path):
    npz_with_header(tmp_path / "short.npz", "dense_1/kernel", (1000,), body=b"\0" * 10)
    message = refused(lambda: small().load_weights(tmp_path / "short.npz"), small())
    assert "truncated" in message


def test_an_npz_of_an_unknown_dtype_is_refused(tmp_path):
    npz_with_header(tmp_path / "banana.npz", "dense_1/kernel", (3,), descr="banana")
    assert "not a readable .npy array" in refused(lambda: small().load_weights(tmp_path / "banana.npz"), small())


def test_a_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe.npz")
    assert "not a regular file" in refused(lambda: small().load_weights(tmp_path / "pipe.npz"), small())


# ---------------------------------------------------------------- HDF5 references out of the file
def keras_h5(path, make_dataset):
    """A Keras 2 weights file whose dense_1 bias dataset is made by ``make_dataset(group, name)``."""
    model = small()
    with h5py.File(path, "w") as h5:
        h5.attrs["layer_names"] = [b"conv2d_1", b"dense_1"]
        for layer in ("conv2d_1", "dense_1"):
            group = h5.create_group(layer)
            group.attrs["weight_names"] = [f"{layer}/kernel:0".encode(), f"{layer}/bias:0".encode()]
            sub = group.create_group(layer)
            sub["kernel:0"] = model.get_layer(layer).params["kernel"]
            if layer == "dense_1":
                make_dataset(sub, "bias:0")
            else:
                sub["bias:0"] = np.zeros(2, np.float32)
    return path


def test_external_storage_is_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"root:x:0:0" * 10)
    path = keras_h5(tmp_path / "ext.h5", lambda group, name: group.create_dataset(
        name, shape=(3,), dtype="<u1", external=[(str(secret), 0, 3)]))
    model = small()
    message = refused(lambda: import_weights(model, path), model)
    assert "external storage" in message and "never follows" in message


def test_an_external_link_is_refused(tmp_path):
    with h5py.File(tmp_path / "other.h5", "w") as other:
        other["bias"] = np.ones(3, np.float32)
    path = keras_h5(tmp_path / "link.h5", lambda group, name: group.__setitem__(
        name, h5py.ExternalLink(str(tmp_path / "other.h5"), "/bias")))
    message = refused(lambda: import_weights(small(), path), small())
    assert "external link" in message


def test_a_virtual_dataset_is_refused(tmp_path):
    with h5py.File(tmp_path / "source.h5", "w") as source:
        source["bias"] = np.ones(3, np.float32)

    def virtual(group, name):
        layout = h5py.VirtualLayout(shape=(3,), dtype="f4")
        layout[:] = h5py.VirtualSource(str(tmp_path / "source.h5"), "bias", shape=(3,))
        group.create_virtual_dataset(name, layout)

    path = keras_h5(tmp_path / "virtual.h5", virtual)
    assert "virtual dataset" in refused(lambda: import_weights(small(), path), small())


def test_a_keras_archive_bomb_is_refused_from_the_zip_directory(tmp_path, monkeypatch):
    with zipfile.ZipFile(tmp_path / "bomb.keras", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", "{}")
        archive.writestr("model.weights.h5", bytes(40_000_000))
    monkeypatch.setattr("cnnviz.engine.importers.MAX_FILE_BYTES", 4_000_000)
    result, peak = peak_megabytes(lambda: import_weights(small(), tmp_path / "bomb.keras"))
    assert isinstance(result, ValueError) and "model.weights.h5 would take 40,000,000 bytes" in str(result)
    assert peak < 10


def test_a_good_keras_h5_still_loads(tmp_path):
    path = keras_h5(tmp_path / "good.h5", lambda group, name: group.__setitem__(name, np.arange(3.0)))
    model = import_weights(small(seed=1), path)
    np.testing.assert_array_equal(model.get_layer("dense_1").params["bias"], [0, 1, 2])


# ---------------------------------------------------------------- saving never replaces good with bad
def test_non_finite_weights_are_never_saved_and_the_old_file_stays(tmp_path):
    model = small()
    save_weights(model, tmp_path / "good.npz")
    good = (tmp_path / "good.npz").read_bytes()
    model.get_layer("dense_1").params["kernel"][0, 0] = np.nan
    with pytest.raises(ValueError, match="'dense_1/kernel' contains NaN or infinite values.*never saved"):
        model.save_weights(tmp_path / "good.npz")
    assert (tmp_path / "good.npz").read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.npz"]


def test_temporaries_of_a_killed_save_are_removed_by_the_next_save(tmp_path):
    dead = 2**22 + 12345  # above the default pid_max: no such process
    leftover = tmp_path / f".w.npz.{dead}.tmp"
    leftover.write_bytes(b"half a file")
    other = tmp_path / ".other.npz.1.tmp"
    other.write_bytes(b"not ours")
    small().save_weights(tmp_path / "w.npz")
    assert not leftover.exists() and other.exists()
    assert load_model(tmp_path / "w.npz").count_params() == small().count_params()


# ---------------------------------------------------------------- properties
def filled(shape, dtype, value):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.full(shape, np.float64(value)).astype(dtype)


ARRAYS = st.one_of(
    st.builds(filled,
              st.lists(st.integers(0, 40), max_size=3).map(tuple),
              st.sampled_from(["float16", "float32", "float64", "int8", "uint8", "int64", "complex64", "bool"]),
              st.sampled_from([0, 1, -1, 0.5, 1e39, -1e300, float("nan"), float("inf")])),
    st.text(max_size=5).map(np.array),
)


@FAST
@given(replacements=st.dictionaries(st.sampled_from(["conv2d_1/kernel", "conv2d_1/bias", "dense_1/kernel",
                                                     "dense_1/bias", "__architecture__", "other"]),
                                    ARRAYS, max_size=4),
       dtype=st.sampled_from(["float32", "float64"]))
def test_any_weights_file_loads_correctly_or_is_refused_clearly(tmp_path, replacements, dtype):
    model = small(dtype=dtype)
    arrays = {**small(seed=5).weights_by_name(), **replacements}
    path = tmp_path / "w.npz"
    np.savez(path, **arrays)
    before = model.weights_by_name()
    try:
        model.load_weights(path)
    except ValueError as error:
        assert str(path) in str(error)
        for key, value in model.weights_by_name().items():
            np.testing.assert_array_equal(value, before[key])
        return
    for key, value in model.weights_by_name().items():
        assert np.all(np.isfinite(value)) and value.dtype == model.dtype
        np.testing.assert_array_equal(value, np.asarray(arrays[key]).astype(dtype))


@FAST
@given(data=st.data())
def test_corrupted_weights_files_are_refused_clearly(tmp_path, data):
    path = tmp_path / "w.npz"
    small().save_weights(path)
    raw = bytearray(path.read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    path.write_bytes(bytes(raw[:cut]))
    model = small()
    try:
        load_model(path)
    except ValueError as error:
        assert str(path) in str(error)
    try:
        model.load_weights(path)
    except ValueError as error:
        assert str(path) in str(error)


def test_an_hdf5_dataset_bigger_than_the_limit_is_refused_from_its_shape(tmp_path, monkeypatch):
    # Never written chunks read as the fill value: a 1 kB file can claim 400 MB.
    path = keras_h5(tmp_path / "bomb.h5", lambda group, name: group.create_dataset(
        name, shape=(100_000_000,), dtype="f4", chunks=(1_000_000,), compression="gzip"))
    assert path.stat().st_size < 100_000
    monkeypatch.setattr("cnnviz.engine.importers.MAX_FILE_BYTES", 40_000_000)
    result, peak = peak_megabytes(lambda: import_weights(small(), path))
    assert isinstance(result, ValueError) and "more than the 40,000,000 bytes" in str(result) and peak < 10


def test_kill_9_during_saves_leaves_a_whole_file_and_the_next_save_cleans_up(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    path = tmp_path / "w.npz"
    script = ("import sys; from cnnviz.engine import Dense, Flatten, Input, Sequential\n"
              "m = Sequential([Input(input_shape=(64, 64, 1)), Flatten(), Dense(1000)], seed=0)\n"
              "print('ready', flush=True)\n"
              "while True: m.save_weights(sys.argv[1])\n")
    survivors = 0
    for attempt in range(3):
        process = subprocess.Popen([sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE)
        process.stdout.readline()
        time.sleep(0.2 + 0.1 * attempt)
        process.send_signal(signal.SIGKILL)
        process.wait()
        survivors += len(list(tmp_path.glob(".w.npz.*.tmp")))
        if path.exists():
            assert load_model(path).count_params() == 64 * 64 * 1000 + 1000  # the file is always whole
    small().save_weights(path)
    assert not list(tmp_path.glob(".w.npz.*.tmp")), "the next save removes what killed saves left"
    assert survivors >= 1, "a kill in the middle of a save leaves its temporary behind (else the test saw nothing)"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), suffix=st.sampled_from([".h5", ".keras", ".safetensors"]))
def test_corrupted_keras_and_safetensors_files_are_refused_clearly(tmp_path, data, suffix):
    model = small()
    path = tmp_path / f"w{suffix}"
    if suffix == ".safetensors":
        safetensors_numpy = pytest.importorskip("safetensors.numpy")
        safetensors_numpy.save_file({"conv.weight": np.zeros((2, 1, 3, 3), np.float32),
                                     "conv.bias": np.zeros(2, np.float32),
                                     "fc.weight": np.zeros((3, 32), np.float32), "fc.bias": np.zeros(3, np.float32)},
                                    str(path))
    else:
        keras_h5(tmp_path / "w.h5", lambda group, name: group.__setitem__(name, np.arange(3.0)))
        if suffix == ".keras":
            with zipfile.ZipFile(path, "w") as archive:
                archive.writestr("config.json", json.dumps({"class_name": "Sequential", "config": {}}))
                archive.write(tmp_path / "w.h5", "model.weights.h5")
    raw = bytearray(path.read_bytes())
    for _ in range(data.draw(st.integers(1, 6))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    path.write_bytes(bytes(raw[: data.draw(st.integers(0, len(raw)))]))
    before = model.weights_by_name()
    try:
        import_weights(model, path)
    except ValueError as error:
        assert str(path) in str(error)
        assert all(np.array_equal(value, before[key]) for key, value in model.weights_by_name().items())
