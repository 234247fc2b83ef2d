"""cnnviz.keras: Keras tutorial code runs with only its imports changed; what it does not implement is refused by name."""
import importlib.util
import os

import numpy as np
import pytest

import cnnviz.keras as keras
from cnnviz.keras import callbacks, layers, losses, optimizers
from cnnviz.keras.datasets import cifar10, mnist
from cnnviz.keras.layers import Conv2D, Dense, Flatten, Input, MaxPooling2D, pooling  # noqa: F401 (as tutorials write it)
from cnnviz.keras.models import Sequential, load_model
from cnnviz.keras.utils import to_categorical
from cnnviz.keras.utils.np_utils import to_categorical as np_utils_to_categorical


def digits(n=300):
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    return (x_train[:n], y_train[:n]), (x_test[:100], y_test[:100])


def tutorial_model():
    model = Sequential([Input(shape=(28, 28, 1)), Conv2D(4, (3, 3), activation="relu"),
                        pooling.MaxPooling2D(pool_size=(2, 2)), Flatten(), Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def test_mnist_load_data_is_keras_shaped_uint8():
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert x_train.shape == (4000, 28, 28) and x_test.shape == (1000, 28, 28)
    assert x_train.dtype == y_train.dtype == np.uint8 and x_train.max() == 255 and y_test.max() == 9


def test_mnist_load_data_reads_a_keras_npz_and_says_where_it_looked(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (7, 28, 28), dtype=np.uint8), "y_train": np.arange(7, dtype=np.uint8),
              "x_test": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8), "y_test": np.arange(3, dtype=np.uint8)}
    np.savez(tmp_path / "mnist.npz", **arrays)
    (x_train, _), (x_test, y_test) = mnist.load_data(path=str(tmp_path / "mnist.npz"))
    assert np.array_equal(x_train, arrays["x_train"]) and np.array_equal(y_test, arrays["y_test"])
    with pytest.raises(ValueError, match=r"no file 'nowhere.npz' \(looked at .*\.keras/datasets/nowhere.npz\); "
                                         r"cnnviz downloads nothing"):
        mnist.load_data(path="nowhere.npz")


def test_cifar10_without_files_says_where_to_put_them(tmp_path):
    with pytest.raises(ValueError, match=r"no CIFAR-10 folder at .*missing; cnnviz downloads nothing"):
        cifar10.load_data(path=tmp_path / "missing")


def test_to_categorical_as_keras():
    expected = np.array([[0, 1, 0], [0, 0, 1]], np.float32)
    assert np.array_equal(to_categorical([1, 2], 3), expected) and to_categorical([1, 2]).dtype == np.float32
    assert np.array_equal(np_utils_to_categorical(np.array([[1], [2]])), expected)
    with pytest.raises(ValueError, match="label 5 does not fit num_classes=3"):
        to_categorical([5], 3)


def test_tutorial_code_trains_evaluates_summarises_saves_and_loads(tmp_path, capsys):
    (x_train, y_train), (x_test, y_test) = digits()
    x_train = x_train.reshape(-1, 28, 28, 1) / 255.0
    x_test = x_test.reshape(-1, 28, 28, 1) / 255.0
    model = tutorial_model()
    assert model.summary() is None
    assert 'Model: "sequential"' in capsys.readouterr().out
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[0] == 'Model: "sequential"' and lines[-1] == "Non-trainable params: 0"
    history = model.fit(x_train, to_categorical(y_train, 10), batch_size=32, epochs=2, verbose=0,
                        validation_data=(x_test, to_categorical(y_test, 10)))
    assert model.history is history and history.params == {"verbose": 0, "epochs": 2, "steps": 10, "samples": 300}
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    loss, accuracy = model.evaluate(x_test, to_categorical(y_test, 10), verbose=0)
    assert accuracy > 0.2  # above chance (0.1) after two epochs on 300 digits
    for name in ("m.keras", "m.h5", "m.npz"):
        model.save(tmp_path / name)
        again = load_model(tmp_path / name)
        np.testing.assert_array_equal(again.predict(x_test, verbose=0), model.predict(x_test))
    assert load_model(tmp_path / "m.keras").evaluate(x_test, to_categorical(y_test, 10), verbose=0)[0] == \
        pytest.approx(loss)


def test_get_weights_is_a_keras_ordered_list_and_set_weights_takes_one():
    model = tutorial_model()
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(3, 3, 1, 4), (4,), (676, 10), (10,)]
    model.set_weights([w + 1 for w in weights])
    assert np.array_equal(model.get_weights()[3], weights[3] + 1)
    with pytest.raises(ValueError, match=r"a list of 3 arrays but the model has 4 \(conv2d_1/kernel"):
        model.set_weights(weights[:3])
    with pytest.raises(ValueError, match=r"'dense_1/kernel' has shape \(10, 676\), expected \(676, 10\)"):
        model.set_weights([weights[0], weights[1], weights[2].T, weights[3]])
    assert np.array_equal(model.get_weights()[0], weights[0] + 1), "a refused list changes nothing"


def test_sparse_labels_losses_and_metric_names():
    (x_train, y_train), _ = digits(64)
    x = x_train[..., None] / 255.0
    for loss in ("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy(),
                 keras.losses.categorical_crossentropy):
        for metric in ("acc", "sparse_categorical_accuracy", "categorical_accuracy"):
            model = tutorial_model()
            model.compile(optimizer="sgd", loss=loss, metrics=[metric])
            history = model.fit(x, y_train if "sparse" in str(loss) else to_categorical(y_train), verbose=0)
            assert sorted(history.history) == sorted(["loss", metric])
    with pytest.raises(ValueError, match="from_logits=True"):
        losses.CategoricalCrossentropy(from_logits=True)


def test_binary_crossentropy_on_one_sigmoid_output():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.float32)
    model = Sequential([Input(shape=(2,)), Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.5), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=20, batch_size=20, verbose=0)
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert accuracy > 0.9 and loss < 0.3
    p = model.predict(x)
    assert losses.binary_crossentropy(y[:, None], p).mean() == pytest.approx(loss, rel=1e-4)


def test_fit_validation_split_shuffle_initial_epoch_and_verbose_lines(capsys):
    (x_train, y_train), _ = digits(100)
    x = x_train[..., None] / 255.0
    model = tutorial_model()
    history = model.fit(x, y_train, epochs=3, initial_epoch=1, validation_split=0.2, shuffle=False, verbose=2)
    assert history.epoch == [1, 2] and history.params["samples"] == 80
    out = capsys.readouterr().out
    assert "Epoch 2/3" in out and "Epoch 3/3" in out and "val_accuracy: " in out
    model.predict(x, batch_size=7, verbose=1)
    assert capsys.readouterr().out.startswith("15/15 - ")


def test_callbacks_early_stopping_checkpoint_lambda(tmp_path):
    (x_train, y_train), (x_test, y_test) = digits(100)
    x, xv = x_train[..., None] / 255.0, x_test[..., None] / 255.0
    model = tutorial_model()
    seen = []
    stopper = callbacks.EarlyStopping(monitor="val_loss", patience=0, min_delta=10.0)
    checkpoint = callbacks.ModelCheckpoint(str(tmp_path / "m-{epoch:02d}.keras"))
    history = model.fit(x, y_train, epochs=5, verbose=0, validation_data=(xv, y_test),
                        callbacks=[stopper, checkpoint,
                                   callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))])
    assert len(history.epoch) == 2 and seen == [0, 1], "no epoch improves val_loss by 10: stop after the second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m-01.keras", "m-02.keras"]
    np.testing.assert_array_equal(load_model(tmp_path / "m-02.keras").predict(xv), model.predict(xv))


def test_unsupported_arguments_are_refused_by_name_with_what_cnnviz_takes():
    with pytest.raises(TypeError, match=r"Conv2D: argument kernel_initializer='he_uniform' \(cnnviz works as "
                                        r"kernel_initializer='glorot_uniform'\) not supported by cnnviz; it takes "
                                        r"filters, kernel_size, strides, padding, activation"):
        Conv2D(8, 3, kernel_initializer="he_uniform")
    with pytest.raises(ValueError, match=r"MaxPooling2D: argument data_format='channels_first'"):
        layers.MaxPooling2D(data_format="channels_first")
    with pytest.raises(ValueError, match="Dense: argument kernel_regularizer"):
        Dense(3, kernel_regularizer="l2")
    Conv2D(8, 3, data_format="channels_last", dilation_rate=(1, 1), kernel_initializer="glorot_uniform")
    Conv2D(8, 3, dilation_rate=1, groups=1, data_format=None, dtype="float32")
    with pytest.raises(ValueError, match=r"dilation_rate=2 \(cnnviz works as dilation_rate=\(1, 1\)\)"):
        Conv2D(8, 3, dilation_rate=2)
    model = tutorial_model()
    with pytest.raises(ValueError, match=r"fit: argument class_weight not supported by cnnviz; it takes x, y, "
                                         r"batch_size, epochs, verbose, callbacks, validation_split"):
        model.fit(np.zeros((2, 28, 28, 1)), [0, 1], class_weight={0: 1.0})
    with pytest.raises(ValueError, match="compile: argument steps_per_execution"):
        model.compile(optimizer="adam", loss="mse", steps_per_execution=4)
    with pytest.raises(ValueError, match="Adam: argument amsgrad=True"):
        optimizers.Adam(amsgrad=True)
    assert optimizers.Adam(lr=0.01).learning_rate == 0.01  # older Keras' name
    with pytest.raises(ValueError, match="no functional Model"):
        keras.models.Model(inputs=None, outputs=None)


def test_inputs_without_a_channel_axis():
    (x_train, y_train), _ = digits(20)
    flat = Sequential([Flatten(input_shape=(28, 28)), Dense(10, activation="softmax")])
    flat.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    flat.fit(x_train / 255.0, y_train, verbose=0)
    with pytest.raises(ValueError, match=r"input of shape \(20, 28, 28\) .* expects \(N, 28, 28, 1\); add the "
                                         r"channel axis: x.reshape\(-1, 28, 28, 1\) or np.expand_dims\(x, -1\)"):
        tutorial_model().fit(x_train / 255.0, y_train, verbose=0)
    with pytest.raises(ValueError, match=r"Conv2D needs input \(H, W, C\), got \(28, 28\); reshape the images to "
                                         r"\(N, 28, 28, 1\)"):
        Sequential([Input(shape=(28, 28)), Conv2D(4, 3)])


@pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="Keras is not installed")
def test_optimizer_defaults_equal_keras3():
    if importlib.util.find_spec("torch") is not None:
        os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras as real

    for name in ("SGD", "Adam", "RMSprop", "Adagrad", "Adadelta"):
        ours, theirs = getattr(optimizers, name)().get_config(), getattr(real.optimizers, name)().get_config()
        for key, value in ours.items():
            if key in theirs and theirs[key] is not None and not isinstance(value, str):
                assert value == pytest.approx(theirs[key]), (name, key)


def test_set_random_seed_makes_models_and_training_reproducible(monkeypatch):
    from cnnviz.engine import model as engine_model

    monkeypatch.setattr(engine_model, "SEEDS", [None])
    (x_train, y_train), _ = digits(64)
    runs = []
    for _ in range(2):
        keras.utils.set_random_seed(7)
        model = tutorial_model()
        model.fit(x_train[..., None] / 255.0, y_train, verbose=0)
        runs.append(model.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(*runs))
    assert not np.array_equal(tutorial_model().get_weights()[0], runs[0][0]), "the next model draws a new seed"
