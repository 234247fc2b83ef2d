"""Importing Keras .h5 and PyTorch .safetensors weights (cnnviz.engine.importers).

Files are written with the real h5py and safetensors libraries in the layouts Keras and
PyTorch write. Predictions are compared with PyTorch when it is installed, and always with a
hand computation from the framework's own definition of the layers.
"""
import json

import numpy as np
import pytest

from cnnviz.engine import Conv2D, Dense, Flatten, Input, Sequential
from cnnviz.engine.importers import import_weights, natural_key
from cnnviz.engine.model import load_model
from cnnviz.presets import load_preset

try:
    import h5py
except ImportError:
    h5py = None
try:
    import safetensors.numpy as safetensors_numpy
except ImportError:
    safetensors_numpy = None

needs_h5py = pytest.mark.skipif(h5py is None, reason="h5py is not installed")
needs_safetensors = pytest.mark.skipif(safetensors_numpy is None, reason="safetensors is not installed")

RNG = np.random.default_rng(0)


def images(n, shape=(28, 28, 1)):
    return np.random.default_rng(1).random((n, *shape)).astype(np.float32)


# ---------------------------------------------------------------- Keras files as Keras writes them
def keras_layer(kind, name, **config):
    """One entry of a tf.keras 2.x Sequential model_config, with the keys Keras adds."""
    base = {"name": name, "trainable": True, "dtype": "float32"}
    if kind == "Conv2D":
        base.update(strides=[1, 1], padding="valid", data_format="channels_last", dilation_rate=[1, 1], groups=1,
                    activation="linear", use_bias=True,
                    kernel_initializer={"class_name": "GlorotUniform", "config": {"seed": None}},
                    bias_initializer={"class_name": "Zeros", "config": {}}, kernel_regularizer=None)
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        base.update(pool_size=[2, 2], padding="valid", strides=[2, 2], data_format="channels_last")
    if kind == "Flatten":
        base.update(data_format="channels_last")
    if kind == "Dense":
        base.update(activation="linear", use_bias=True, kernel_regularizer=None)
    base.update(config)
    return {"class_name": kind, "config": base}


def keras_model_config(input_shape, layers):
    entries = [{"class_name": "InputLayer", "config": {"batch_input_shape": [None, *input_shape], "dtype": "float32",
                                                       "sparse": False, "ragged": False, "name": "input_1"}}]
    return {"class_name": "Sequential", "config": {"name": "sequential", "layers": entries + layers},
            "keras_version": "2.13.1", "backend": "tensorflow"}


def write_keras_h5(path, weights, model_config=None, chunk_layer_names=False):
    """``weights``: [(layer name, [(weight name, array)])] for every layer, with or without weights.

    With ``model_config`` the file is laid out as ``model.save`` writes it (weights under
    /model_weights, the config in the root attributes); without, as ``save_weights`` does.
    """
    with h5py.File(path, "w") as f:
        if model_config is not None:
            f.attrs["backend"] = b"tensorflow"
            f.attrs["keras_version"] = b"2.13.1"
            f.attrs["model_config"] = json.dumps(model_config).encode("utf8")
            f.attrs["training_config"] = json.dumps({"loss": "categorical_crossentropy"}).encode("utf8")
            root = f.create_group("model_weights")
        else:
            root = f
        names = np.array([name.encode("utf8") for name, _ in weights])
        if chunk_layer_names:  # what Keras does when the attribute would exceed HDF5's 64 kB limit
            root.attrs["layer_names0"], root.attrs["layer_names1"] = names[:2], names[2:]
        else:
            root.attrs["layer_names"] = names
        root.attrs["backend"] = b"tensorflow"
        root.attrs["keras_version"] = b"2.13.1"
        for name, arrays in weights:
            group = root.create_group(name)
            weight_names = [f"{name}/{key}:0".encode("utf8") for key, _ in arrays]
            group.attrs["weight_names"] = np.array(weight_names) if weight_names else np.array([])
            for weight_name, (_, array) in zip(weight_names, arrays):
                group.create_dataset(weight_name.decode(), data=array)


def lecture_keras_weights(rng):
    return [("conv2d", [("kernel", rng.normal(0, 0.3, (3, 3, 1, 4)).astype(np.float32)),
                        ("bias", rng.normal(0, 0.1, 4).astype(np.float32))]),
            ("max_pooling2d", []),
            ("conv2d_1", [("kernel", rng.normal(0, 0.3, (3, 3, 4, 8)).astype(np.float32)),
                          ("bias", rng.normal(0, 0.1, 8).astype(np.float32))]),
            ("max_pooling2d_1", []),
            ("flatten", []),
            ("dense", [("kernel", rng.normal(0, 0.1, (200, 10)).astype(np.float32)),
                       ("bias", rng.normal(0, 0.1, 10).astype(np.float32))])]


LECTURE_KERAS_CONFIG = keras_model_config((28, 28, 1), [
    keras_layer("Conv2D", "conv2d", filters=4, kernel_size=[3, 3], activation="relu"),
    keras_layer("MaxPooling2D", "max_pooling2d"),
    keras_layer("Conv2D", "conv2d_1", filters=8, kernel_size=[3, 3], activation="relu"),
    keras_layer("MaxPooling2D", "max_pooling2d_1"),
    keras_layer("Flatten", "flatten"),
    keras_layer("Dense", "dense", units=10, activation="softmax")])


def keras_forward_in_numpy(x, weights):
    """The lecture net as Keras defines it (NHWC, cross-correlation, channels-last flatten), by loops."""
    (k1, b1), (k2, b2), (kd, bd) = [dict(w).values() for _, w in weights if w]

    def conv_relu(x, k, b):
        kh, kw = k.shape[:2]
        out = np.zeros((x.shape[0], x.shape[1] - kh + 1, x.shape[2] - kw + 1, k.shape[3]))
        for i in range(out.shape[1]):
            for j in range(out.shape[2]):
                out[:, i, j] = np.einsum("nuvc,uvco->no", x[:, i:i + kh, j:j + kw], k) + b
        return np.maximum(out, 0)

    def pool(x):
        n, h, w, c = x.shape
        return x[:, :h // 2 * 2, :w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))

    a = pool(conv_relu(pool(conv_relu(x.astype(np.float64), k1, b1)), k2, b2)).reshape(len(x), -1) @ kd + bd
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@needs_h5py
def test_keras_model_save_file_builds_the_model_and_predicts_like_keras(tmp_path):
    weights = lecture_keras_weights(np.random.default_rng(2))
    write_keras_h5(tmp_path / "myCNN1.h5", weights, LECTURE_KERAS_CONFIG)
    model = load_model(tmp_path / "myCNN1.h5")
    assert [layer.name for layer in model.layers] == [name for name, _ in weights]
    assert model.input_shape == (28, 28, 1) and model.layers[0].activation == "relu"
    np.testing.assert_array_equal(model.get_layer("conv2d_1").params["kernel"], dict(weights[2][1])["kernel"])
    x = images(4)
    np.testing.assert_allclose(model.predict(x), keras_forward_in_numpy(x, weights), atol=1e-5)


@needs_h5py
def test_keras_save_weights_file_loads_into_a_preset(tmp_path):
    weights = lecture_keras_weights(np.random.default_rng(3))
    write_keras_h5(tmp_path / "w.h5", weights, chunk_layer_names=True)
    model = import_weights(load_preset("lecture"), tmp_path / "w.h5")
    assert model.name == "lecture"
    np.testing.assert_array_equal(model.get_layer("dense_1").params["bias"], dict(weights[5][1])["bias"])
    x = images(3)
    np.testing.assert_allclose(model.predict(x), keras_forward_in_numpy(x, weights), atol=1e-5)
    with pytest.raises(ValueError, match="holds only weights .*--model"):
        load_model(tmp_path / "w.h5")


@needs_h5py
def test_keras_old_style_config_list_and_same_padding(tmp_path):
    """Keras 2.2 wrote the Sequential config as a bare list, input shape on the first layer."""
    rng = np.random.default_rng(4)
    config = {"class_name": "Sequential", "config": [
        keras_layer("Conv2D", "conv2d_1", filters=2, kernel_size=[3, 3], padding="same", activation="tanh",
                    batch_input_shape=[None, 6, 6, 3]),
        keras_layer("AveragePooling2D", "average_pooling2d_1"),
        keras_layer("Flatten", "flatten_1"),
        keras_layer("Dropout", "dropout_1", rate=0.5),
        keras_layer("Dense", "dense_1", units=3, activation="sigmoid", use_bias=False)]}
    weights = [("conv2d_1", [("kernel", rng.normal(size=(3, 3, 3, 2))), ("bias", rng.normal(size=2))]),
               ("average_pooling2d_1", []), ("flatten_1", []), ("dropout_1", []),
               ("dense_1", [("kernel", rng.normal(size=(18, 3)))])]
    write_keras_h5(tmp_path / "old.h5", weights, config)
    model = load_model(tmp_path / "old.h5")
    assert [type(l).__name__ for l in model.layers] == ["Conv2D", "AveragePooling2D", "Flatten", "Dropout", "Dense"]
    assert model.layers[0].padding == "same" and model.layers[3].rate == 0.5 and not model.layers[4].use_bias
    assert model.layers[4].activation == "sigmoid"


@needs_h5py
def test_keras3_weights_h5_layout(tmp_path):
    weights = lecture_keras_weights(np.random.default_rng(5))
    with h5py.File(tmp_path / "model.weights.h5", "w") as f:
        layers = f.create_group("layers")
        for name, arrays in weights:
            variables = layers.create_group(name).create_group("vars")
            for index, (_, array) in enumerate(arrays):
                variables.create_dataset(str(index), data=array)
        f.create_group("optimizer").create_group("vars")
    model = import_weights(load_preset("lecture"), tmp_path / "model.weights.h5")
    x = images(2)
    np.testing.assert_allclose(model.predict(x), keras_forward_in_numpy(x, weights), atol=1e-5)


@needs_h5py
def test_keras3_dot_keras_archive(tmp_path):
    """Keras 3's model.save('x.keras'): a zip of config.json and model.weights.h5 (layers/<name>/vars/<i>)."""
    import io
    import zipfile

    weights = lecture_keras_weights(np.random.default_rng(11))
    config = {"module": "keras", "class_name": "Sequential", "registered_name": None, "config": {
        "name": "sequential", "trainable": True,
        "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}},
        "layers": [{"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
                    "config": {"batch_shape": [None, 28, 28, 1], "dtype": "float32", "name": "input_layer"}},
                   *[{**entry, "module": "keras.layers", "registered_name": None}
                     for entry in LECTURE_KERAS_CONFIG["config"]["layers"][1:]]]},
        "build_config": {"input_shape": [None, 28, 28, 1]}}
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        layers = f.create_group("layers")
        layers.create_group("input_layer").create_group("vars")
        for name, arrays in weights:
            variables = layers.create_group(name).create_group("vars")
            for index, (_, array) in enumerate(arrays):
                variables.create_dataset(str(index), data=array)
    with zipfile.ZipFile(tmp_path / "model.keras", "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.5.0"}))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", buffer.getvalue())
    model = load_model(tmp_path / "model.keras")
    assert [layer.name for layer in model.layers] == [name for name, _ in weights]
    x = images(3)
    np.testing.assert_allclose(model.predict(x), keras_forward_in_numpy(x, weights), atol=1e-5)
    (tmp_path / "broken.keras").write_bytes(b"PK not really")
    with pytest.raises(ValueError, match="broken.keras: not a readable Keras .keras archive"):
        load_model(tmp_path / "broken.keras")


@needs_h5py
def test_keras_mismatch_names_the_layer_and_shapes_and_leaves_the_model_alone(tmp_path):
    weights = lecture_keras_weights(np.random.default_rng(6))
    weights[2] = ("conv2d_1", [("kernel", np.zeros((5, 5, 4, 8), np.float32)), ("bias", np.zeros(8, np.float32))])
    write_keras_h5(tmp_path / "bad.h5", weights)
    model = load_preset("lecture")
    before = model.weights_by_name()
    with pytest.raises(ValueError, match=r"bad.h5: Keras layer conv2d_1 kernel has shape \(5, 5, 4, 8\)"
                                         r".* layer conv2d_2 "
                                         r".*expects \(3, 3, 4, 8\)"):
        import_weights(model, tmp_path / "bad.h5")
    assert all(np.array_equal(before[k], v) for k, v in model.weights_by_name().items())
    with pytest.raises(ValueError, match=r"has weights for 3 layers .* but the model has 5 layers with weights"):
        import_weights(load_preset("lenet"), tmp_path / "bad.h5")


@needs_h5py
def test_keras_unsupported_layer_and_unreadable_file(tmp_path):
    config = keras_model_config((8, 8, 1), [keras_layer("Conv2D", "conv2d", filters=2, kernel_size=[3, 3]),
                                            {"class_name": "LayerNormalization", "config": {"name": "ln"}}])
    write_keras_h5(tmp_path / "ln.h5", [("conv2d", []), ("ln", [])], config)
    with pytest.raises(ValueError, match=r"ln.h5: Keras layer ln \(LayerNormalization\): "
                                         r"this layer type is not supported"):
        load_model(tmp_path / "ln.h5")
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match="junk.h5: not a readable HDF5 file"):
        load_model(tmp_path / "junk.h5")


# ---------------------------------------------------------------- PyTorch safetensors
@needs_safetensors
def test_safetensors_layout_mapping_by_hand_without_torch(tmp_path):
    """A Conv2d(2, 3, 2) + Flatten + Linear(12, 4) state_dict, computed as PyTorch defines it (NCHW)."""
    rng = np.random.default_rng(7)
    conv_w, conv_b = rng.normal(size=(3, 2, 2, 2)).astype(np.float32), rng.normal(size=3).astype(np.float32)
    fc_w, fc_b = rng.normal(size=(4, 12)).astype(np.float32), rng.normal(size=4).astype(np.float32)
    safetensors_numpy.save_file({"0.weight": conv_w, "0.bias": conv_b, "2.weight": fc_w, "2.bias": fc_b},
                                str(tmp_path / "net.safetensors"))
    model = Sequential([Input(input_shape=(3, 3, 2)), Conv2D(3, 2, name="conv"), Flatten(), Dense(4, name="fc")])
    import_weights(model, tmp_path / "net.safetensors")
    kernel = model.get_layer("conv").params["kernel"]
    assert kernel.shape == (2, 2, 2, 3) and kernel[1, 0, 1, 2] == conv_w[2, 1, 1, 0]

    x_nchw = rng.normal(size=(2, 2, 3, 3))
    conv = np.zeros((2, 3, 2, 2))
    for o in range(3):
        for i in range(2):
            for j in range(2):
                conv[:, o, i, j] = conv_b[o] + np.sum(conv_w[o] * x_nchw[:, :, i:i + 2, j:j + 2], axis=(1, 2, 3))
    expected = conv.reshape(2, -1) @ fc_w.T + fc_b  # torch flattens (C, H, W)
    got = model.predict(x_nchw.transpose(0, 2, 3, 1).astype(np.float32))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    # The dense rows were permuted from (C, H, W) to (H, W, C) order: row of (h=1, w=0, c=2).
    np.testing.assert_array_equal(model.get_layer("fc").params["kernel"][1 * 6 + 0 * 3 + 2], fc_w[:, 2 * 4 + 1 * 2 + 0])


@needs_safetensors
def test_safetensors_order_is_rebuilt_from_names(tmp_path):
    # safetensors stores keys sorted; 'classifier' < 'features' and '10' < '2' alphabetically.
    assert sorted(["features.10.weight", "features.2.weight"], key=natural_key) == ["features.2.weight",
                                                                                      "features.10.weight"]
    rng = np.random.default_rng(8)
    tensors = {"features.0.weight": rng.normal(size=(4, 1, 3, 3)), "features.0.bias": rng.normal(size=4),
               "features.3.weight": rng.normal(size=(8, 4, 3, 3)), "features.3.bias": rng.normal(size=8),
               "classifier.1.weight": rng.normal(size=(10, 200)), "classifier.1.bias": rng.normal(size=10)}
    safetensors_numpy.save_file({k: v.astype(np.float32) for k, v in tensors.items()}, str(tmp_path / "n.safetensors"))
    model = import_weights(load_preset("lecture"), tmp_path / "n.safetensors")
    np.testing.assert_allclose(model.layers[2].params["kernel"], tensors["features.3.weight"].transpose(2, 3, 1, 0),
                               rtol=1e-6)


@needs_safetensors
def test_safetensors_errors_name_layer_and_shapes(tmp_path):
    rng = np.random.default_rng(9)
    good = {"conv1.weight": rng.normal(size=(4, 1, 3, 3)), "conv1.bias": rng.normal(size=4),
            "conv2.weight": rng.normal(size=(8, 4, 5, 5)), "conv2.bias": rng.normal(size=8),
            "fc.weight": rng.normal(size=(10, 200)), "fc.bias": rng.normal(size=10)}
    safetensors_numpy.save_file({k: v.astype(np.float32) for k, v in good.items()}, str(tmp_path / "m.safetensors"))
    model = load_preset("lecture")
    before = model.weights_by_name()
    with pytest.raises(ValueError, match=r"m.safetensors: PyTorch layer conv2 kernel has shape \(5, 5, 4, 8\) "
                                         r"\(PyTorch conv2.weight \(8, 4, 5, 5\)\) .*"
                                         r"layer conv2d_2 \(Conv2D 8 3x3 relu\) expects \(3, 3, 4, 8\)"):
        import_weights(model, tmp_path / "m.safetensors")
    assert all(np.array_equal(before[k], v) for k, v in model.weights_by_name().items())

    safetensors_numpy.save_file({"bn.running_mean": np.zeros(3, np.float32)}, str(tmp_path / "bn.safetensors"))
    with pytest.raises(ValueError, match="bn.safetensors: has weights for 1 layers"):
        import_weights(model, tmp_path / "bn.safetensors")  # a BatchNorm where the lecture model has none
    with pytest.raises(ValueError, match="holds no architecture"):
        load_model(tmp_path / "m.safetensors")
    (tmp_path / "broken.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{bad json")
    with pytest.raises(ValueError, match="broken.safetensors: not a readable safetensors file"):
        import_weights(model, tmp_path / "broken.safetensors")


@pytest.mark.parametrize("suffix", [".pt", ".pth"])
def test_torch_pickles_are_refused(tmp_path, suffix):
    path = tmp_path / f"model{suffix}"
    path.write_bytes(b"\x80\x02")
    with pytest.raises(ValueError, match="never unpickles; save the state_dict as safetensors"):
        import_weights(load_preset("lecture"), path)


def test_missing_extra_says_how_to_install(tmp_path, monkeypatch):
    import importlib

    real = importlib.import_module

    def no_h5py(name, *args):
        if name == "h5py":
            raise ImportError(name)
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", no_h5py)
    (tmp_path / "w.h5").write_bytes(b"")
    with pytest.raises(ValueError, match=r"needs h5py: pip install cnnviz\[import\]"):
        load_model(tmp_path / "w.h5")


# ---------------------------------------------------------------- compared with PyTorch itself
def torch_models():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    return torch, {
        "lecture": nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 8, 3), nn.ReLU(),
                                 nn.MaxPool2d(2), nn.Flatten(), nn.Linear(200, 10), nn.Softmax(dim=1)),
        "lenet": nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5),
                               nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.Tanh(),
                               nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10), nn.Softmax(dim=1)),
        "same-padding": nn.Sequential(nn.Conv2d(1, 32, 3, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                      nn.Linear(3136, 10), nn.Softmax(dim=1)),
    }


def assert_imported_predictions_match(torch, net, preset: str, path, n_images: int):
    """Save ``net``'s state_dict as safetensors, import it into ``preset``: predictions agree to 1e-5."""
    from safetensors.torch import save_file

    save_file(net.state_dict(), str(path))
    model = import_weights(load_preset(preset), path)
    x = images(n_images)
    with torch.no_grad():
        expected = net(torch.from_numpy(x).permute(0, 3, 1, 2)).numpy()
    np.testing.assert_allclose(model.predict(x), expected, atol=1e-5)


@needs_safetensors
@pytest.mark.parametrize("preset", ["lecture", "lenet", "same-padding"])
def test_torch_state_dict_predictions_match_pytorch(tmp_path, preset):
    torch, nets = torch_models()
    torch.manual_seed(0)
    assert_imported_predictions_match(torch, nets[preset].eval(), preset, tmp_path / f"{preset}.safetensors", 6)


@needs_safetensors
def test_torch_named_modules_kerasy_mnist(tmp_path):
    torch, _ = torch_models()
    nn = torch.nn

    class Net(nn.Module):  # the Kerasy/Keras MNIST example written the PyTorch way
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(1, 32, 3), nn.Conv2d(32, 64, 3)
            self.dropout1, self.dropout2 = nn.Dropout(0.25), nn.Dropout(0.5)
            self.fc1, self.fc2 = nn.Linear(9216, 128), nn.Linear(128, 10)

        def forward(self, x):
            x = torch.max_pool2d(torch.relu(self.conv2(torch.relu(self.conv1(x)))), 2)
            x = torch.relu(self.fc1(torch.flatten(self.dropout1(x), 1)))
            return torch.softmax(self.fc2(self.dropout2(x)), dim=1)

    torch.manual_seed(1)
    assert_imported_predictions_match(torch, Net().eval(), "kerasy-mnist", tmp_path / "net.safetensors", 4)


@needs_h5py
def test_keras_file_predictions_match_a_pytorch_reference(tmp_path):
    """Keras semantics rebuilt in PyTorch (NHWC input and flatten), an independent check of the h5 path."""
    torch, nets = torch_models()
    weights = lecture_keras_weights(np.random.default_rng(10))
    write_keras_h5(tmp_path / "k.h5", weights, LECTURE_KERAS_CONFIG)
    model = load_model(tmp_path / "k.h5")
    (k1, b1), (k2, b2), (kd, bd) = [tuple(torch.from_numpy(a) for _, a in w) for _, w in weights if w]
    x = images(5)
    with torch.no_grad():
        t = torch.from_numpy(x).permute(0, 3, 1, 2)
        t = torch.max_pool2d(torch.relu(torch.conv2d(t, k1.permute(3, 2, 0, 1), b1)), 2)
        t = torch.max_pool2d(torch.relu(torch.conv2d(t, k2.permute(3, 2, 0, 1), b2)), 2)
        expected = torch.softmax(t.permute(0, 2, 3, 1).reshape(5, -1) @ kd + bd, dim=1).numpy()
    np.testing.assert_allclose(model.predict(x), expected, atol=1e-5)
