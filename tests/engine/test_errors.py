"""Bad input gets a ValueError that says what was wrong (layer, shapes) and changes nothing."""
import numpy as np
import pytest

from cnnviz.engine import Callback, Sequential
from cnnviz.engine.layers import (Activation, AveragePooling2D, Conv2D, Dense, Flatten, Input, MaxPooling2D)
from cnnviz.engine.optimizers import SGD


def cnn():
    model = Sequential(seed=0)
    model.add(Input(input_shape=(6, 6, 1)))
    model.add(Conv2D(2, 3, activation="relu"))
    model.add(Flatten())
    model.add(Dense(3, activation="softmax"))
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


X = np.zeros((4, 6, 6, 1), dtype=np.float32)


@pytest.mark.parametrize("bad_shape", [(4, 6, 6), (4, 6, 5, 1), (4, 6, 6, 2), (6, 6, 1)])
def test_wrong_input_shape(bad_shape):
    model = cnn()
    expected = (rf"input of shape \({', '.join(map(str, bad_shape))},?\) does not fit the model: "
                rf"its first layer conv2d_1 expects \(N, 6, 6, 1\)")
    with pytest.raises(ValueError, match=expected):
        model.predict(np.zeros(bad_shape))
    with pytest.raises(ValueError, match=expected):
        model.fit(np.zeros(bad_shape), [0] * bad_shape[0], verbose=0)


def test_layer_forward_names_the_layer():
    model = cnn()
    with pytest.raises(ValueError, match=r"layer conv2d_1: expected input of shape \(N, 6, 6, 1\), got \(2, 5, 5, 1\)"):
        model.layers[0].forward(np.zeros((2, 5, 5, 1)))


def test_labels_of_wrong_length():
    with pytest.raises(ValueError, match="got 3 labels for 4 samples"):
        cnn().fit(X, [0, 1, 2], verbose=0)


@pytest.mark.parametrize("labels, message", [
    ([0, 1, 2, 3], r"class ids must be in \[0, 2\] for the output \(3,\) of layer dense_1 \(3 classes\), got \[0, 3\]"),
    ([0, -1, 1, 2], r"class ids must be in \[0, 2\]"),
    ([0.5, 1, 2, 0], "class-id labels must be whole numbers"),
    (np.eye(4), r"labels of shape \(4, 4\) do not fit the output \(3,\) of layer dense_1.*\(4, 3\) one-hot"),
    (3, "got a single value as labels for 4 samples"),
    (["a", "b", "c", "a"], "labels must be class ids or one-hot numbers, got dtype <U1"),
    (np.zeros((4, 3, 1)), r"labels of shape \(4, 3, 1\) do not fit the output"),
])
def test_labels_of_wrong_class_count(labels, message):
    model = cnn()
    before = model.weights_by_name()
    with pytest.raises(ValueError, match=message):
        model.fit(X, labels, verbose=0)
    with pytest.raises(ValueError, match=message):
        model.evaluate(X, labels)
    for key, value in before.items():
        np.testing.assert_array_equal(model.weights_by_name()[key], value)


@pytest.mark.parametrize("make, message", [
    (lambda: Conv2D(2, 3, activation="relu6"), r"Conv2D: unknown activation 'relu6'; expected one of \[.*'relu'"),
    (lambda: Dense(2, activation="gelu"), "Dense: unknown activation 'gelu'"),
    (lambda: Activation("swish"), "Activation: unknown activation 'swish'"),
    (lambda: Conv2D(2, 3, padding="full"), "Conv2D padding must be 'valid', 'same' or a non-negative int"),
    (lambda: Conv2D(0, 3), "Conv2D: filters must be a positive int"),
    (lambda: Conv2D(2, (3, 3, 3)), "Conv2D kernel_size must be an int or a pair"),
    (lambda: MaxPooling2D(2, strides=0), "MaxPooling2D strides must be positive"),
    (lambda: Dense(0), "Dense: units must be a positive int"),
    (lambda: MaxPooling2D(2, padding=2), r"MaxPooling2D: padding 2 must be smaller than the pool \(2, 2\)"),
    (lambda: AveragePooling2D((3, 1), padding=1),
     r"AveragePooling2D: padding 1 must be smaller than the pool \(3, 1\)"),
])
def test_bad_layer_settings(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_unknown_optimizer_and_loss_names():
    model = cnn()
    with pytest.raises(ValueError,
                       match=r"unknown optimizer 'sgdd'; expected one of \['adadelta', 'adagrad', 'adam', 'rmsprop', 'sgd'\]"):
        model.compile(optimizer="sgdd")
    expected = (r"unknown loss 'hinge'; expected one of \['binary_crossentropy', 'categorical_crossentropy', "
                r"'crossentropy', 'mean_squared_error', 'mse', 'sparse_categorical_crossentropy'\]")
    with pytest.raises(ValueError, match=expected):
        model.compile(loss="hinge")
    with pytest.raises(ValueError, match="unknown metric 'auc'"):
        model.compile(metrics=["auc"])


@pytest.mark.parametrize("make, message", [
    (lambda: Conv2D(2, 5), r"layer conv2d_2: kernel \(5, 5\) is larger than its padded input \(4, 4\)"),
    (lambda: Conv2D(2, (2, 7), padding=1), r"layer conv2d_2: kernel \(2, 7\) is larger than its padded input \(6, 6\)"),
    (lambda: MaxPooling2D(5), r"layer max_pooling2d_1: pool \(5, 5\) is larger than its padded input \(4, 4\)"),
    (lambda: AveragePooling2D((1, 6)),
     r"layer average_pooling2d_1: pool \(1, 6\) is larger than its padded input \(4, 4\)"),
])
def test_kernel_or_pool_larger_than_padded_input(make, message):
    model = Sequential(seed=0)
    model.add(Input(input_shape=(6, 6, 1)))
    model.add(Conv2D(2, 3))  # -> (4, 4, 2)
    with pytest.raises(ValueError, match=message):
        model.add(make())
    assert len(model.layers) == 1


def test_same_padding_never_too_small():
    model = Sequential(seed=0)
    model.add(Input(input_shape=(2, 2, 1)))
    model.add(Conv2D(1, 5, padding="same"))
    assert model.output_shape == (2, 2, 1)


def test_dense_without_flatten():
    model = Sequential(seed=0)
    model.add(Input(input_shape=(6, 6, 1)))
    model.add(Conv2D(2, 3))
    with pytest.raises(ValueError,
                       match=r"layer dense_1: Dense needs a flat input \(n,\), got \(4, 4, 2\); add Flatten\(\)"):
        model.add(Dense(3))


def test_conv_after_flatten():
    model = Sequential(seed=0)
    model.add(Input(input_shape=(6, 6, 1)))
    model.add(Flatten())
    with pytest.raises(ValueError, match=r"layer conv2d_1: Conv2D needs input \(H, W, C\), got \(36,\)"):
        model.add(Conv2D(2, 3))


def test_layer_without_input_shape():
    with pytest.raises(ValueError, match="layer dense_1: the model has no input shape"):
        Sequential().add(Dense(2))


def test_backward_before_forward():
    with pytest.raises(ValueError, match=r"call forward\(x, training=True\) before backward"):
        cnn().backward([0])


def test_not_compiled():
    model = Sequential(seed=0)
    model.add(Input(input_shape=(3,)))
    model.add(Dense(2))
    with pytest.raises(ValueError, match="not compiled"):
        model.fit(np.zeros((2, 3)), [0, 1], verbose=0)


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_non_finite_loss_stops_fit_before_the_bad_update():
    model = Sequential(seed=0)
    model.add(Input(input_shape=(2,)))
    model.add(Dense(1))
    model.compile(optimizer=SGD(learning_rate=1e3), loss="mse")

    class Snapshot(Callback):
        weights = None

        def on_batch_end(self, batch, logs=None):
            self.weights = self.model.weights_by_name()

    snapshot = Snapshot()
    x = np.ones((50, 2), dtype=np.float32)
    with pytest.raises(ValueError, match=r"the loss is (nan|inf).*lower learning rate"):
        model.fit(x, np.ones((50, 1)), batch_size=1, epochs=1, shuffle=False, callbacks=[snapshot], verbose=0)
    assert snapshot.weights is not None  # some batches trained before it diverged
    for key, value in snapshot.weights.items():
        np.testing.assert_array_equal(model.weights_by_name()[key], value)


def test_non_finite_input_is_rejected_by_the_loss_check_without_update():
    model = cnn()
    before = model.weights_by_name()
    x = X.copy()
    x[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="the loss is nan"):
        model.fit(x, [0, 1, 2, 0], batch_size=4, verbose=0)
    for key, value in before.items():
        np.testing.assert_array_equal(model.weights_by_name()[key], value)


def test_bad_dtype_and_batch_size():
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        Sequential(dtype="int32")
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        cnn().fit(X, [0, 1, 2, 0], batch_size=0, verbose=0)


def test_duplicate_layer_name():
    model = Sequential(seed=0)
    model.add(Input(input_shape=(3,)))
    model.add(Dense(2, name="hidden"))
    with pytest.raises(ValueError, match="a layer named 'hidden' is already in the model"):
        model.add(Dense(2, name="hidden"))
