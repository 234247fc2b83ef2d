"""Weights files: round trip, every kind of bad file (model left exactly as it was), atomic saving."""
import os
import zipfile

import numpy as np
import pytest

from cnnviz.engine import Sequential
from cnnviz.engine.layers import Conv2D, Dense, Flatten, Input, MaxPooling2D
from cnnviz.engine.model import load_model
from cnnviz.engine.weights import ARCHITECTURE_KEY, read_npz


def cnn(seed=0, dtype="float32"):
    model = Sequential(seed=seed, dtype=dtype)
    model.add(Input(input_shape=(6, 6, 1)))
    model.add(Conv2D(2, 3, activation="relu"))
    model.add(MaxPooling2D(2))
    model.add(Flatten())
    model.add(Dense(8, activation="relu"))
    model.add(Dense(3, activation="softmax"))
    return model


X = np.random.default_rng(0).random((5, 6, 6, 1)).astype(np.float32)


def assert_same_weights(model, weights):
    now = model.weights_by_name()
    assert now.keys() == weights.keys()
    for key in weights:
        np.testing.assert_array_equal(now[key], weights[key])
        assert now[key].dtype == weights[key].dtype


def test_round_trip(tmp_path):
    path = tmp_path / "w.npz"
    model = cnn(seed=1)
    model.save_weights(path)
    other = cnn(seed=2)
    assert not np.array_equal(other.predict(X), model.predict(X))
    other.load_weights(path)
    assert_same_weights(other, model.weights_by_name())
    np.testing.assert_array_equal(other.predict(X), model.predict(X))


def test_file_layout_keys_and_architecture(tmp_path):
    path = tmp_path / "w.npz"
    cnn().save_weights(path)
    arrays = read_npz(path)
    assert set(arrays) == {"conv2d_1/kernel", "conv2d_1/bias", "dense_1/kernel", "dense_1/bias", "dense_2/kernel",
                           "dense_2/bias", ARCHITECTURE_KEY}
    assert arrays["conv2d_1/kernel"].shape == (3, 3, 1, 2)
    rebuilt = load_model(path)
    assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in cnn().layers]
    np.testing.assert_array_equal(rebuilt.predict(X), cnn().predict(X))


def test_float64_weights_load_into_float32_model(tmp_path):
    path = tmp_path / "w.npz"
    source = cnn(seed=3, dtype="float64")
    source.save_weights(path)
    target = cnn(seed=4)
    target.load_weights(path)
    assert target.layers[0].params["kernel"].dtype == np.float32
    np.testing.assert_allclose(target.predict(X), source.predict(X), rtol=1e-5)


def write_npz(path, arrays):
    np.savez(path, **arrays)
    return path


def bad_files(tmp_path):
    good = tmp_path / "good.npz"
    cnn(seed=5).save_weights(good)
    arrays = read_npz(good)
    files = {}
    missing = {key: value for key, value in arrays.items() if not key.startswith("dense_2/")}
    files["missing layer"] = write_npz(tmp_path / "missing.npz", missing)
    wrong = dict(arrays, **{"dense_1/kernel": np.zeros((8, 9), np.float32)})
    files["wrong shape"] = write_npz(tmp_path / "wrong.npz", wrong)
    nan = dict(arrays)
    nan["conv2d_1/kernel"] = nan["conv2d_1/kernel"].copy()
    nan["conv2d_1/kernel"][0, 0, 0, 0] = np.nan
    files["nan"] = write_npz(tmp_path / "nan.npz", nan)
    inf = dict(arrays, **{"dense_2/bias": np.array([0, np.inf, 0], np.float32)})
    files["inf"] = write_npz(tmp_path / "inf.npz", inf)
    files["random bytes"] = tmp_path / "random.npz"
    files["random bytes"].write_bytes(np.random.default_rng(0).bytes(2000))
    files["truncated"] = tmp_path / "truncated.npz"
    data = good.read_bytes()
    files["truncated"].write_bytes(data[: len(data) // 2])
    files["corrupted"] = tmp_path / "corrupted.npz"
    corrupted = bytearray(data)
    start = data.index(b"conv2d_1/kernel.npy") + 200  # inside that array's data
    corrupted[start : start + 8] = bytes(8)
    files["corrupted"].write_bytes(bytes(corrupted))
    pickled = dict(arrays, **{"dense_1/bias": np.array([{"evil": 1}] * 8, dtype=object)})
    files["object array"] = write_npz(tmp_path / "pickled.npz", pickled)
    strings = dict(arrays, **{"dense_1/bias": np.array(["a"] * 8)})
    files["strings"] = write_npz(tmp_path / "strings.npz", strings)
    files["empty"] = tmp_path / "empty.npz"
    files["empty"].write_bytes(b"")
    files["no such file"] = tmp_path / "absent.npz"
    return files


EXPECTED = {
    "missing layer": r"layer dense_2: no 'dense_2/kernel' in the weights \(expected shape \(8, 3\)\)",
    "wrong shape": r"layer dense_1: 'dense_1/kernel' has shape \(8, 9\), expected \(8, 8\)",
    "nan": "layer conv2d_1: 'conv2d_1/kernel' contains NaN or infinite values",
    "inf": "layer dense_2: 'dense_2/bias' contains NaN or infinite values",
    "random bytes": r"not a readable \.npz weights file \(not a zip archive, or truncated\)",
    "truncated": r"not a readable \.npz weights file \(not a zip archive, or truncated\)",
    "corrupted": r"not a readable \.npz weights file \(Bad CRC-32",
    "object array": "holds pickled Python objects, which cnnviz never loads",
    "strings": r"layer dense_1: 'dense_1/bias' has dtype <U1, expected numbers",
    "empty": r"not a readable \.npz weights file \(not a zip archive, or truncated\)",
    "no such file": "no such file",
}


@pytest.mark.parametrize("case", EXPECTED)
def test_bad_file_raises_and_leaves_model_unchanged(tmp_path, case):
    path = bad_files(tmp_path)[case]
    model = cnn(seed=6)
    before = model.weights_by_name()
    expected_output = model.predict(X)
    with pytest.raises(ValueError, match=EXPECTED[case]) as error:
        model.load_weights(path)
    assert str(path) in str(error.value)
    assert_same_weights(model, before)
    np.testing.assert_array_equal(model.predict(X), expected_output)


def test_object_array_is_never_unpickled(tmp_path, monkeypatch):
    path = bad_files(tmp_path)["object array"]
    import pickle

    def refuse(*args, **kwargs):
        raise AssertionError("something was unpickled")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    with pytest.raises(ValueError, match="pickled"):
        cnn().load_weights(path)


def test_load_model_without_architecture(tmp_path):
    path = write_npz(tmp_path / "bare.npz", cnn().weights_by_name())
    with pytest.raises(ValueError, match="has no stored architecture"):
        load_model(path)
    model = cnn(seed=9)
    model.load_weights(path)  # still fine for a model of the right shape
    assert_same_weights(model, cnn().weights_by_name())


def test_failing_save_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "w.npz"
    cnn(seed=1).save_weights(path)
    old = path.read_bytes()

    def broken_savez(stream, **arrays):
        stream.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        cnn(seed=2).save_weights(path)
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["w.npz"]  # no temporary file left behind
    assert zipfile.is_zipfile(path)


def test_save_to_a_missing_directory_raises(tmp_path):
    with pytest.raises(OSError):
        cnn().save_weights(tmp_path / "absent" / "w.npz")


def test_saved_file_gets_the_usual_permissions_not_private_ones(tmp_path):
    old_mask = os.umask(0o022)
    try:
        path = tmp_path / "w.npz"
        cnn().save_weights(path)
    finally:
        os.umask(old_mask)
    assert path.stat().st_mode & 0o777 == 0o644
