"""Models out to Keras (.keras, .h5), PyTorch and ONNX, and back (cnnviz.engine.exporters).

The file layouts are checked with h5py alone; the predictions with the real Keras 3, PyTorch and
ONNX Runtime on the 1,000 shipped test digits, each test skipped when its library is absent.
"""
import importlib.util
import json
import os
import zipfile

import numpy as np
import pytest

from cnnviz.data import load_dataset
from cnnviz.engine import Conv2D, Dense, Dropout, Flatten, Input, MaxPooling2D, Sequential
from cnnviz.engine.importers import import_weights
from cnnviz.engine.model import load_model
from cnnviz.paths import WEIGHTS
from cnnviz.presets import PRESETS

h5py = pytest.importorskip("h5py")
if importlib.util.find_spec("torch") is not None:
    os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras 3 needs a backend; torch is the one tests install

TOLERANCE = 1e-5  # max abs difference of float32 outputs


@pytest.fixture(scope="module")
def digits():
    return load_dataset("mnist").x_test  # (1000, 28, 28, 1)


def trained(preset):
    """A model trained in cnnviz: the preset with its shipped weights, compiled."""
    model = load_model(WEIGHTS / f"{preset}.npz")
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.fixture(scope="module")
def reference(digits):
    """preset -> (trained model, test digits, its predictions): all 1,000 digits for the lecture net,
    the first 200 for the others (the big kerasy-mnist net is slow in every framework)."""
    cache = {}

    def get(preset):
        if preset not in cache:
            model = trained(preset)
            x = digits if preset == "lecture" else digits[:200]
            cache[preset] = model, x, model.predict(x)
        return cache[preset]

    return get


def named_against_keras_defaults():
    """Custom names, and names that collide with another layer's Keras default path."""
    model = Sequential(seed=3, name="collide")
    model.add(Input(input_shape=(10, 10, 1)))
    model.add(Conv2D(3, 3, activation="relu", name="conv2d_1"))    # stored at layers/conv2d
    model.add(Conv2D(4, 3, padding="same", name="conv2d"))         # stored at layers/conv2d_1
    model.add(MaxPooling2D(2, name="pool"))
    model.add(Flatten(name="flat"))
    model.add(Dense(5, activation="relu", name="dense_1"))         # stored at layers/dense
    model.add(Dropout(0.5, name="my_dropout"))
    model.add(Dense(3, activation="softmax", name="logits"))       # stored at layers/dense_1
    rng = np.random.default_rng(4)
    model.set_weights([rng.normal(0, 0.5, w.shape) for w in model.get_weights()])
    return model


def images(n=6, shape=(10, 10, 1)):
    return np.random.default_rng(2).random((n, *shape)).astype(np.float32)


def text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# ---------------------------------------------------------------- file layouts, no framework needed
def test_dot_keras_archive_layout(tmp_path):
    model = named_against_keras_defaults()
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        assert sorted(archive.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        config = json.loads(archive.read("config.json"))
        metadata = json.loads(archive.read("metadata.json"))
        weights = archive.read("model.weights.h5")
    assert metadata["keras_version"].startswith("3.")
    assert config["class_name"] == "Sequential" and config["module"] == "keras"
    layers = config["config"]["layers"]
    assert layers[0]["class_name"] == "InputLayer" and layers[0]["config"]["batch_shape"] == [None, 10, 10, 1]
    assert [entry["config"]["name"] for entry in layers[1:]] == [layer.name for layer in model.layers]
    assert layers[2]["config"]["padding"] == "same" and layers[-1]["config"]["activation"] == "softmax"
    import io

    with h5py.File(io.BytesIO(weights), "r") as h5:
        assert sorted(h5["layers"]) == ["conv2d", "conv2d_1", "dense", "dense_1", "dropout", "flatten",
                                        "max_pooling2d"]
        assert h5["layers/conv2d/vars"].attrs["name"] == "conv2d_1"
        assert h5["layers/conv2d_1/vars"].attrs["name"] == "conv2d"
        np.testing.assert_array_equal(h5["layers/conv2d_1/vars/0"][()], model.get_layer("conv2d").params["kernel"])
        np.testing.assert_array_equal(h5["layers/dense_1/vars/1"][()], model.get_layer("logits").params["bias"])
        assert len(h5["layers/dropout/vars"]) == 0


def test_keras_files_load_back_by_structure_not_by_name(tmp_path):
    """Keras 3 stores weights by type and position; names that collide with those paths must not shift them."""
    model = named_against_keras_defaults()
    x = images()
    for suffix in (".keras", ".h5"):
        model.save(tmp_path / f"m{suffix}")
        back = load_model(tmp_path / f"m{suffix}")
        assert [layer.name for layer in back.layers] == [layer.name for layer in model.layers]
        np.testing.assert_array_equal(back.predict(x), model.predict(x))
        into = named_against_keras_defaults()
        into.set_weights([np.zeros_like(w) for w in into.get_weights()])
        np.testing.assert_array_equal(import_weights(into, tmp_path / f"m{suffix}").predict(x), model.predict(x))


def test_legacy_h5_layout(tmp_path):
    model = trained("lecture")
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r") as h5:
        config = json.loads(h5.attrs["model_config"])
        training = json.loads(h5.attrs["training_config"])
        root = h5["model_weights"]
        names = [text(name) for name in root.attrs["layer_names"]]
        assert names == [layer.name for layer in model.layers]
        assert [text(n) for n in root["conv2d_1"].attrs["weight_names"]] == ["lecture/conv2d_1/kernel",
                                                                               "lecture/conv2d_1/bias"]
        np.testing.assert_array_equal(root["conv2d_1/lecture/conv2d_1/kernel"][()],
                                      model.get_layer("conv2d_1").params["kernel"])
    assert config["class_name"] == "Sequential"
    assert training["loss"] == "categorical_crossentropy" and training["optimizer_config"]["class_name"] == "Adam"


def test_compile_settings_travel_with_keras_files(tmp_path, digits):
    model = trained("lecture")
    model.compile(optimizer={"name": "sgd", "learning_rate": 0.05, "momentum": 0.9}, loss="categorical_crossentropy",
                  metrics=["accuracy"])
    for suffix in (".keras", ".h5"):
        model.save(tmp_path / f"m{suffix}")
        back = load_model(tmp_path / f"m{suffix}")
        assert (back.optimizer.name, back.optimizer.learning_rate, back.optimizer.momentum) == ("sgd", 0.05, 0.9)
        assert back.loss == "categorical_crossentropy" and back.metrics == ["accuracy"]
        labels = load_dataset("mnist").y_test
        assert back.evaluate(digits, labels, verbose=0) == pytest.approx(model.evaluate(digits, labels, verbose=0))
        assert load_model(tmp_path / f"m{suffix}", compile=False).optimizer is None


def test_save_weights_h5_is_the_keras3_weights_layout(tmp_path):
    model = named_against_keras_defaults()
    model.save_weights(tmp_path / "m.weights.h5")
    with h5py.File(tmp_path / "m.weights.h5", "r") as h5:
        assert "layers/conv2d/vars/0" in h5 and "model_weights" not in h5
    other = named_against_keras_defaults()
    other.set_weights([np.zeros_like(w) for w in other.get_weights()])
    other.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_array_equal(other.predict(images()), model.predict(images()))


def test_float64_models_export_float32_weights(tmp_path):
    model = Sequential.from_config(named_against_keras_defaults().get_config())
    model64 = Sequential.from_config({**model.get_config(), "config": {**model.get_config()["config"],
                                                                       "dtype": "float64"}}, seed=1)
    model64.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        import io

        with h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as h5:
            assert h5["layers/conv2d/vars/0"].dtype == np.float32


def test_bad_exports_say_why_and_keep_the_old_file(tmp_path):
    model = named_against_keras_defaults()
    with pytest.raises(ValueError, match=r"m.onnx: model.save writes .keras .*\.h5 .*\.npz .*export_onnx"):
        model.save(tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="the folder .*missing does not exist"):
        model.save(tmp_path / "missing" / "m.keras")
    padded = Sequential.from_config({"input_shape": [6, 6, 1], "layers": [
        {"class_name": "Conv2D", "config": {"filters": 2, "kernel_size": [3, 3], "padding": 1}},
        {"class_name": "Flatten", "config": {}}, {"class_name": "Dense", "config": {"units": 2}}]})
    (tmp_path / "keep.keras").write_bytes(b"the old file")
    with pytest.raises(ValueError, match=r"layer conv2d_1: padding=1 has no Keras equivalent .* ONNX or PyTorch"):
        padded.save(tmp_path / "keep.keras")
    assert (tmp_path / "keep.keras").read_bytes() == b"the old file"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.keras"], "no temporary file left behind"
    savers = [model.save, model.save_weights] + ([model.export_onnx] if importlib.util.find_spec("onnx") else [])
    for save in savers:  # /proc: a folder nobody can write in, root included
        with pytest.raises(ValueError, match=r"/proc/cnnviz-test.npz: cannot write the file \(.*\); nothing was written"):
            save("/proc/cnnviz-test.npz")


# ---------------------------------------------------------------- real frameworks
@pytest.mark.parametrize("preset", PRESETS)
def test_keras3_opens_cnnviz_files_and_predicts_the_same(tmp_path, reference, preset):
    keras = pytest.importorskip("keras")
    model, digits, expected = reference(preset)
    for suffix in (".keras", ".h5"):
        model.save(tmp_path / f"m{suffix}")
        keras_model = keras.models.load_model(tmp_path / f"m{suffix}")
        predicted = np.asarray(keras_model.predict(digits, verbose=0))
        assert np.abs(predicted - expected).max() <= TOLERANCE
        assert np.array_equal(predicted.argmax(axis=1), expected.argmax(axis=1))
        assert [layer.name for layer in keras_model.layers] == [layer.name for layer in model.layers]


def test_a_keras3_file_with_colliding_names_opens_in_cnnviz(tmp_path):
    keras = pytest.importorskip("keras")
    layers = keras.layers
    keras_model = keras.Sequential([keras.Input((10, 10, 1)), layers.Conv2D(3, 3, activation="relu", name="conv2d_1"),
                                    layers.Conv2D(4, 3, padding="same", name="conv2d"), layers.MaxPooling2D(2),
                                    layers.Flatten(name="flat"), layers.Dense(5, activation="relu", name="dense_1"),
                                    layers.Dense(3, activation="softmax", name="head")])
    keras_model.save(tmp_path / "k.keras")
    x = images()
    model = load_model(tmp_path / "k.keras")
    assert [layer.name for layer in model.layers][:2] == ["conv2d_1", "conv2d"]
    assert np.abs(model.predict(x) - np.asarray(keras_model.predict(x, verbose=0))).max() <= TOLERANCE


@pytest.mark.parametrize("preset", PRESETS)
def test_to_torch_predicts_the_same_and_its_state_dict_comes_back(tmp_path, reference, preset):
    torch = pytest.importorskip("torch")
    model, digits, expected = reference(preset)
    net = model.to_torch()
    with torch.no_grad():
        predicted = net(torch.from_numpy(digits.transpose(0, 3, 1, 2).copy())).numpy()
    assert np.abs(predicted - expected).max() <= TOLERANCE
    assert np.array_equal(predicted.argmax(axis=1), expected.argmax(axis=1))
    safetensors_torch = pytest.importorskip("safetensors.torch")
    safetensors_torch.save_file(net.state_dict(), str(tmp_path / "n.safetensors"))
    back = load_model(tmp_path / "n.safetensors", architecture=Sequential.from_config(model.get_config(), seed=9))
    np.testing.assert_allclose(back.predict(digits), expected, atol=TOLERANCE)


def test_to_torch_module_names_follow_the_layers():
    pytest.importorskip("torch")
    net = trained("lecture").to_torch()
    names = [name for name, _ in net.named_children()]
    assert names[:2] == ["conv2d_1", "conv2d_1_relu"] and "flatten_1" in names
    assert "conv2d_1.weight" in net.state_dict()


@pytest.mark.parametrize("preset", PRESETS)
def test_onnx_runtime_predicts_the_same(tmp_path, reference, preset):
    pytest.importorskip("onnx")
    onnxruntime = pytest.importorskip("onnxruntime")
    model, digits, expected = reference(preset)
    model.export_onnx(tmp_path / "m.onnx")
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    predicted = session.run(["output"], {"input": digits})[0]
    assert np.abs(predicted - expected).max() <= TOLERANCE
    assert np.array_equal(predicted.argmax(axis=1), expected.argmax(axis=1))


def test_onnx_graph_names_its_nodes_after_the_layers(tmp_path):
    onnx = pytest.importorskip("onnx")
    model = named_against_keras_defaults()
    model.export_onnx(tmp_path / "m.onnx")
    graph = onnx.load(str(tmp_path / "m.onnx")).graph
    nodes = [node.name for node in graph.node]
    assert {"conv2d_1", "conv2d", "pool", "flat", "dense_1", "logits"} <= set(nodes)
    assert {"conv2d_1/kernel", "logits/bias"} <= {tensor.name for tensor in graph.initializer}
    assert [d.dim_param or d.dim_value for d in graph.input[0].type.tensor_type.shape.dim] == ["N", 10, 10, 1]


def test_onnx_padded_average_pooling_counts_only_real_cells(tmp_path):
    pytest.importorskip("onnx")
    onnxruntime = pytest.importorskip("onnxruntime")
    model = Sequential.from_config({"input_shape": [5, 5, 2], "layers": [
        {"class_name": "AveragePooling2D", "config": {"pool_size": [2, 2], "padding": "same"}},
        {"class_name": "Conv2D", "config": {"filters": 2, "kernel_size": [2, 2], "padding": 1}},
        {"class_name": "MaxPooling2D", "config": {"pool_size": [3, 3], "strides": [1, 1], "padding": 1}},
        {"class_name": "Flatten", "config": {}}, {"class_name": "Dense", "config": {"units": 3}}]}, seed=2)
    x = np.random.default_rng(0).normal(size=(4, 5, 5, 2)).astype(np.float32)
    model.export_onnx(tmp_path / "m.onnx")
    predicted = onnxruntime.InferenceSession(str(tmp_path / "m.onnx")).run(None, {"input": x})[0]
    np.testing.assert_allclose(predicted, model.predict(x), atol=TOLERANCE)
