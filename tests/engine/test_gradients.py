"""Analytic gradients against centred finite differences in float64 (relative error).

Every case builds a small model, runs ``forward(training=True)`` and ``backward`` once,
then compares the input gradient and every layer's parameter gradients with
(E(v + h) - E(v - h)) / 2h, element by element.
"""
import numpy as np
import pytest

from cnnviz.engine import Sequential
from cnnviz.engine import functional as F
from cnnviz.engine.layers import (Activation, AveragePooling2D, Conv2D, Dense, Dropout, Flatten, Input,
                                  MaxPooling2D)

STEP = 1e-6
TOLERANCE = 1e-6


def relative_error(analytic, numeric) -> float:
    scale = max(np.linalg.norm(analytic) + np.linalg.norm(numeric), 1e-12)
    return float(np.linalg.norm(analytic - numeric) / scale)


def numeric_gradient(loss, array: np.ndarray) -> np.ndarray:
    """Centred differences of ``loss()`` with respect to each element of ``array`` (in place)."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + STEP
        plus = loss()
        array[index] = saved - STEP
        minus = loss()
        array[index] = saved
        grad[index] = (plus - minus) / (2 * STEP)
    return grad


def make_model(input_shape, layers, loss="categorical_crossentropy", seed=0):
    model = Sequential(seed=seed, dtype="float64")
    model.add(Input(input_shape=input_shape))
    for layer in layers:
        model.add(layer)
    model.compile(optimizer="sgd", loss=loss)
    return model


def check_gradients(model, x, y):
    """Compare dE/dx and every dE/dparam with finite differences; returns the errors."""
    def fixed_dropout():  # the same masks in every forward pass
        for layer in model.layers:
            if isinstance(layer, Dropout):
                layer.rng = np.random.default_rng(7)

    def loss():
        fixed_dropout()
        return model.compute_loss(model.forward(x, training=True), model.check_y(y, len(x)))

    fixed_dropout()
    model.forward(x, training=True)
    dx = model.backward(y)
    analytic = {"input": dx, **{f"{layer.name}/{key}": layer.grads[key].copy()
                                for layer in model.layers for key in layer.params}}
    numeric = {"input": numeric_gradient(loss, x),
               **{f"{layer.name}/{key}": numeric_gradient(loss, layer.params[key])
                  for layer in model.layers for key in layer.params}}
    errors = {}
    for name, value in analytic.items():
        assert value.shape == numeric[name].shape, name
        assert np.abs(numeric[name]).max() > 1e-8, f"{name}: the numeric gradient is zero, the test checks nothing"
        errors[name] = relative_error(value, numeric[name])
    bad = {name: error for name, error in errors.items() if error > TOLERANCE}
    assert not bad, f"relative errors above {TOLERANCE}: {bad}"
    return errors


def head(classes=3):
    return [Flatten(), Dense(classes, activation="softmax")]


# (input (H, W, C), feature layers); a Flatten + softmax Dense head follows each.
GEOMETRY_CASES = {
    "conv stride 2": ((7, 7, 2), [Conv2D(3, 3, strides=2, activation="tanh")]),
    "conv stride 3 valid": ((8, 7, 1), [Conv2D(2, 3, strides=3)]),
    "conv same even kernel odd size": ((5, 5, 2), [Conv2D(2, 2, padding="same", activation="sigmoid")]),
    "conv same 4x4 stride 2": ((7, 5, 2), [Conv2D(2, 4, strides=2, padding="same")]),
    "conv int padding": ((5, 6, 2), [Conv2D(2, (3, 2), strides=(2, 1), padding=1, activation="tanh")]),
    "conv non-square kernel and strides": ((6, 7, 3), [Conv2D(2, (2, 3), strides=(1, 2), padding="same")]),
    "conv no bias": ((5, 5, 2), [Conv2D(2, 3, use_bias=False, activation="relu")]),
    "two convs": ((6, 6, 2), [Conv2D(3, 3, activation="tanh"), Conv2D(2, 2, strides=2, padding="same")]),
    "max pool 2": ((6, 6, 2), [MaxPooling2D(2)]),
    "max pool 3 stride 2 overlapping": ((7, 7, 2), [MaxPooling2D(3, strides=2)]),
    "max pool stride larger than size": ((8, 8, 1), [MaxPooling2D(2, strides=3)]),
    "max pool non-square": ((5, 7, 2), [MaxPooling2D((2, 3), strides=(1, 2))]),
    "max pool same odd size": ((5, 5, 2), [MaxPooling2D(2, padding="same")]),
    "max pool int padding": ((5, 5, 2), [MaxPooling2D(3, strides=2, padding=1)]),
    "average pool 2": ((6, 6, 2), [AveragePooling2D(2)]),
    "average pool 3 stride 2": ((7, 7, 2), [AveragePooling2D(3, strides=2)]),
    "average pool same odd size": ((5, 7, 2), [AveragePooling2D((2, 3), strides=(2, 1), padding="same")]),
    "average pool int padding": ((5, 5, 1), [AveragePooling2D(2, strides=2, padding=1)]),
    "conv then max pool": ((8, 8, 2), [Conv2D(3, 3, activation="tanh"), MaxPooling2D(2, strides=2)]),
    "conv same then pool same": ((7, 7, 1), [Conv2D(2, 3, padding="same", activation="sigmoid"),
                                             AveragePooling2D(2, padding="same")]),
    "activation layer": ((4, 4, 2), [Activation("tanh")]),
    "dropout (fixed mask)": ((4, 4, 3), [Conv2D(2, 2, activation="tanh"), Dropout(0.5)]),
}


@pytest.mark.usefixtures("im2col_layout")
@pytest.mark.parametrize("name", GEOMETRY_CASES)
def test_layer_gradients(name):
    input_shape, layers = GEOMETRY_CASES[name]
    model = make_model(input_shape, [*layers, *head()])
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, *input_shape))
    check_gradients(model, x, rng.integers(3, size=3))


@pytest.mark.parametrize("activation", ["linear", "tanh", "relu", "sigmoid", "softmax"])
def test_mean_squared_error(activation):
    model = make_model((5,), [Dense(4, activation="tanh"), Dense(3, activation=activation)],
                       loss="mean_squared_error")
    rng = np.random.default_rng(5)
    check_gradients(model, rng.normal(size=(4, 5)), rng.random((4, 3)))


def test_cross_entropy_on_sigmoid_output_not_fused():
    model = make_model((5,), [Dense(4, activation="tanh"), Dense(3, activation="sigmoid")])
    assert not model.fused_softmax_crossentropy()
    rng = np.random.default_rng(6)
    check_gradients(model, rng.normal(size=(4, 5)), np.eye(3)[rng.integers(3, size=4)])


def test_softmax_cross_entropy_is_fused():
    model = make_model((5,), [Dense(3, activation="softmax")])
    assert model.fused_softmax_crossentropy()
    x, y = np.random.default_rng(0).normal(size=(4, 5)), np.eye(3)[[0, 1, 2, 0]]
    probs = model.forward(x, training=True)
    model.backward(y)
    np.testing.assert_allclose(model.layers[0].delta, (probs - y) / 4)
    check_gradients(model, x, y)


def test_standalone_softmax_activation_with_cross_entropy():
    # A standalone softmax Activation is fused too; the Dense before gets its delta through it.
    model = make_model((5,), [Dense(3), Activation("softmax")])
    rng = np.random.default_rng(8)
    check_gradients(model, rng.normal(size=(4, 5)), rng.integers(3, size=4))


def test_softmax_jacobian_with_mse():
    model = make_model((4,), [Dense(3), Activation("softmax")], loss="mse")
    rng = np.random.default_rng(9)
    check_gradients(model, rng.normal(size=(3, 4)), rng.random((3, 3)))


def test_frozen_layer_passes_gradient_but_is_not_updated():
    frozen = Conv2D(2, 3, activation="tanh", trainable=False)
    model = make_model((6, 6, 2), [Conv2D(3, 2, activation="tanh"), frozen, *head()])
    rng = np.random.default_rng(10)
    x, y = rng.normal(size=(2, 6, 6, 2)), rng.integers(3, size=2)
    check_gradients(model, x, y)  # the first conv's gradients flow through the frozen one
    before = {key: value.copy() for key, value in frozen.params.items()}
    first_before = model.layers[0].params["kernel"].copy()
    model.forward(x, training=True)
    model.backward(y)
    model.update()
    for key, value in before.items():
        np.testing.assert_array_equal(frozen.params[key], value)
    assert not np.array_equal(model.layers[0].params["kernel"], first_before)


def test_max_pool_tie_sends_the_gradient_to_exactly_one_cell():
    model = make_model((4, 6, 2), [MaxPooling2D(2), *head()])
    x = np.full((2, 4, 6, 2), 0.5)  # every window is a tie
    model.forward(x, training=True)
    dx = model.backward([0, 1])
    pool = model.layers[0]
    windows = dx.reshape(2, 2, 2, 3, 2, 2).transpose(0, 1, 3, 5, 2, 4).reshape(2, 2, 3, 2, 4)
    assert np.all(np.count_nonzero(windows, axis=-1) == 1)
    np.testing.assert_array_equal(windows.sum(axis=-1), pool.delta)  # all of it, to one cell
    np.testing.assert_array_equal(windows[..., 0], pool.delta)  # the first cell of the window


def test_overlapping_max_pool_tie_accumulates_per_window():
    model = make_model((3, 3, 1), [MaxPooling2D(2, strides=1), *head()])
    model.forward(np.zeros((1, 3, 3, 1)), training=True)
    dx = model.backward([1])
    delta = model.layers[0].delta[0, :, :, 0]
    expected = np.zeros((3, 3))
    expected[:2, :2] = delta  # each window's first cell
    np.testing.assert_allclose(dx[0, :, :, 0], expected)


def test_backward_without_input_gradient_gives_same_parameter_gradients():
    model = make_model((6, 6, 2), [Conv2D(3, 3, activation="relu"), MaxPooling2D(2), *head()])
    rng = np.random.default_rng(11)
    x, y = rng.normal(size=(2, 6, 6, 2)), [0, 2]
    model.forward(x, training=True)
    model.backward(y)
    full = {key: value.copy() for key, value in model.layers[0].grads.items()}
    model.forward(x, training=True)
    assert model.backward(y, need_input_grad=False) is None
    for key, value in full.items():
        np.testing.assert_allclose(model.layers[0].grads[key], value)


def test_reused_buffers_give_the_same_gradients_when_the_batch_size_changes():
    def layers():
        return [Conv2D(3, 3, activation="relu"), Conv2D(2, 2, strides=2), MaxPooling2D(2), *head()]

    model = make_model((8, 8, 2), layers())
    rng = np.random.default_rng(12)
    for n in (3, 2, 3, 1):
        x, y = rng.normal(size=(n, 8, 8, 2)), rng.integers(3, size=n)
        fresh = make_model((8, 8, 2), layers())
        fresh.set_weights(model.get_weights())
        for m in (model, fresh):
            m.forward(x, training=True)
        np.testing.assert_array_equal(model.backward(y), fresh.backward(y))
        for layer, reference in zip(model.layers, fresh.layers):
            for key in layer.grads:
                np.testing.assert_array_equal(layer.grads[key], reference.grads[key])


@pytest.mark.usefixtures("im2col_layout")
@pytest.mark.parametrize("cached_rows", [1, 2 * 36, 10**6])  # one sample, two samples (3 = 2 + 1), all at once
def test_conv_input_gradient_in_blocks_of_samples(monkeypatch, cached_rows):
    monkeypatch.setattr(F, "CACHED_ROWS", cached_rows)
    model = make_model((8, 8, 2), [Conv2D(3, 3, activation="tanh"), Conv2D(2, 3, padding="same"), *head()])
    rng = np.random.default_rng(13)
    check_gradients(model, rng.normal(size=(3, 8, 8, 2)), rng.integers(3, size=3))


def test_cross_entropy_of_a_perfect_prediction_is_plus_zero():
    """-log(1) is -0.0, which the app would print as a loss of '-0'."""
    from cnnviz.engine import losses

    loss = losses.categorical_crossentropy(np.array([[0.0, 1.0]]), np.array([[0.0, 1.0]]))
    assert loss == 0 and not np.signbit(loss)
