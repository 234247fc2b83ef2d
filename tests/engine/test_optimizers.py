"""Each update rule against a hand computation of two steps; preview() is what apply() does."""
from types import SimpleNamespace

import numpy as np
import pytest

from cnnviz.engine import Sequential
from cnnviz.engine.layers import Dense, Input
from cnnviz.engine.optimizers import SGD, Adagrad, Adam, RMSprop, get_optimizer

W0 = np.array([[0.5, -1.0], [2.0, 0.25]])
B0 = np.array([0.1, -0.2])
G1 = np.array([[0.2, -0.4], [1.0, 0.0]])
G2 = np.array([[-0.1, 0.3], [0.5, -2.0]])
GB = np.array([0.3, -0.6])
LR = 0.1
EPS = 1e-7


def fake_layer(trainable=True):
    return SimpleNamespace(name="dense_1", trainable=trainable, params={"kernel": W0.copy(), "bias": B0.copy()},
                           grads={})


def two_steps(optimizer, layer=None):
    layer = layer or fake_layer()
    history = []
    for grad in (G1, G2):
        layer.grads = {"kernel": grad.copy(), "bias": GB.copy()}
        optimizer.apply([layer])
        history.append(layer.params["kernel"].copy())
    return history


def sgd_expected():
    w1 = W0 - LR * G1
    return [w1, w1 - LR * G2]


def momentum_expected(nesterov):
    v1 = -LR * G1
    w1 = W0 + (0.9 * v1 - LR * G1 if nesterov else v1)
    v2 = 0.9 * v1 - LR * G2
    w2 = w1 + (0.9 * v2 - LR * G2 if nesterov else v2)
    return [w1, w2]


def adagrad_expected():
    acc1 = 0.1 + G1**2
    w1 = W0 - LR * G1 / (np.sqrt(acc1) + EPS)
    acc2 = acc1 + G2**2
    return [w1, w1 - LR * G2 / (np.sqrt(acc2) + EPS)]


def rmsprop_expected():
    s1 = 0.1 * G1**2
    w1 = W0 - LR * G1 / (np.sqrt(s1) + EPS)
    s2 = 0.9 * s1 + 0.1 * G2**2
    return [w1, w1 - LR * G2 / (np.sqrt(s2) + EPS)]


def adam_expected():
    m1, v1 = 0.1 * G1, 0.001 * G1**2
    w1 = W0 - LR * (m1 / 0.1) / (np.sqrt(v1 / 0.001) + EPS)
    m2, v2 = 0.9 * m1 + 0.1 * G2, 0.999 * v1 + 0.001 * G2**2
    w2 = w1 - LR * (m2 / (1 - 0.9**2)) / (np.sqrt(v2 / (1 - 0.999**2)) + EPS)
    return [w1, w2]


CASES = {
    "sgd": (lambda: SGD(LR), sgd_expected),
    "momentum": (lambda: SGD(LR, momentum=0.9), lambda: momentum_expected(False)),
    "nesterov": (lambda: SGD(LR, momentum=0.9, nesterov=True), lambda: momentum_expected(True)),
    "adagrad": (lambda: Adagrad(LR), adagrad_expected),
    "rmsprop": (lambda: RMSprop(LR), rmsprop_expected),
    "adam": (lambda: Adam(LR), adam_expected),
}


@pytest.mark.parametrize("name", CASES)
def test_two_steps_match_hand_computation(name):
    make, expected = CASES[name]
    for got, want in zip(two_steps(make()), expected()):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_weight_decay_applies_to_kernels_not_biases():
    layer = fake_layer()
    layer.grads = {"kernel": G1.copy(), "bias": GB.copy()}
    SGD(LR, weight_decay=0.01).apply([layer])
    np.testing.assert_allclose(layer.params["kernel"], W0 - LR * (G1 + 0.01 * W0))
    np.testing.assert_allclose(layer.params["bias"], B0 - LR * GB)


def test_learning_rate_decays_per_epoch():
    optimizer = SGD(LR, lr_decay=0.5)
    layer = fake_layer()
    layer.grads = {"kernel": G1.copy(), "bias": GB.copy()}
    optimizer.epoch = 2
    optimizer.apply([layer])
    np.testing.assert_allclose(layer.params["kernel"], W0 - LR * 0.25 * G1)


def test_fit_sets_the_epoch_of_the_decay_schedule():
    class Record:
        rates = []

        def __getattr__(self, name):
            return lambda *args, **kwargs: None

        def on_epoch_begin(self, epoch, logs=None):
            self.rates.append(self.model.optimizer.current_learning_rate)

    model = Sequential(seed=0)
    model.add(Input(input_shape=(3,)))
    model.add(Dense(2, activation="softmax"))
    model.compile(optimizer=SGD(0.1, lr_decay=0.5))
    record = Record()
    model.fit(np.ones((4, 3)), [0, 1, 0, 1], epochs=3, callbacks=[record], verbose=0)
    np.testing.assert_allclose(record.rates, [0.1, 0.05, 0.025])


def test_frozen_layer_is_not_updated():
    layer = fake_layer(trainable=False)
    two_steps(Adam(LR), layer)
    np.testing.assert_array_equal(layer.params["kernel"], W0)


@pytest.mark.parametrize("name", CASES)
def test_preview_is_what_apply_does(name):
    optimizer = CASES[name][0]()
    layer = fake_layer()
    for grad in (G1, G2):
        layer.grads = {"kernel": grad.copy(), "bias": GB.copy()}
        before = layer.params["kernel"].copy()
        preview = optimizer.preview(layer, "kernel")
        np.testing.assert_array_equal(layer.params["kernel"], before)  # preview changes nothing
        optimizer.apply([layer])
        np.testing.assert_allclose(layer.params["kernel"], preview["param_after"], rtol=1e-15)
        np.testing.assert_allclose(preview["param_after"], before + preview["step"])
        state = optimizer.states.get(("dense_1", "kernel"), {})
        assert state.keys() == preview["state_after"].keys()
        for key, value in preview["state_after"].items():
            np.testing.assert_array_equal(state[key], value)


def test_float32_parameters_stay_float32():
    for make, _ in CASES.values():
        layer = SimpleNamespace(name="d", trainable=True, params={"kernel": W0.astype(np.float32)},
                                grads={"kernel": G1.astype(np.float32)})
        make().apply([layer])
        assert layer.params["kernel"].dtype == np.float32


@pytest.mark.parametrize("spec", ["sgd", "SGD", "adam", "rmsprop", "adagrad", {"name": "sgd", "momentum": 0.5}])
def test_optimizer_by_name_or_config(spec):
    optimizer = get_optimizer(spec)
    assert optimizer.name == (spec["name"] if isinstance(spec, dict) else spec.lower())


def test_unknown_optimizer_name():
    with pytest.raises(ValueError, match="unknown optimizer 'adamax'.*expected one of"):
        get_optimizer("adamax")
    with pytest.raises(ValueError, match="learning_rate"):
        SGD(-1.0)
