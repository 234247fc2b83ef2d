"""Every frame of small models with awkward geometry reproduces the vectorized tensors;
random frames of the Kerasy-notebook model do too."""
import dataclasses

import numpy as np
import pytest

from cnnviz.engine import (Activation, AveragePooling2D, Conv2D, Dense, Dropout, Flatten, MaxPooling2D,
                           Sequential)
from cnnviz.engine.trace import Trace
from cnnviz.presets import load_preset
from tests.engine.trace_checks import build, check_all_frames, check_frame, randomize, sample

GEOMETRIES = {
    "stride bigger than kernel, int padding": lambda: build(
        [Conv2D(2, (2, 1), strides=(3, 2), padding=2, activation="sigmoid"), Flatten(),
         Dense(3, activation="softmax")], (7, 5, 2)),
    "'same' with stride 2 on even sizes, no bias": lambda: build(
        [Conv2D(3, 3, strides=2, padding="same", activation="relu", use_bias=False),
         Conv2D(2, (1, 3), strides=(2, 1), padding="same", activation="tanh"), Flatten(),
         Dense(2, activation="softmax")], (8, 6, 1)),
    "avg pool with stride != size and 'same', max pool overlapping": lambda: build(
        [AveragePooling2D((2, 3), strides=(3, 1), padding="same"), MaxPooling2D(3, strides=(1, 2)),
         Conv2D(2, 1, activation="relu"), Flatten(), Dense(2, activation="softmax")], (8, 9, 3)),
    "flat input: dense, dropout and activation layers": lambda: build(
        [Dropout(0.5), Dense(4), Activation("tanh"), Dense(3, activation="relu"), Dropout(0.2),
         Dense(3, activation="softmax")], (6,)),
    "sigmoid output with cross-entropy (not fused)": lambda: build(
        [Conv2D(2, 2, padding=1, activation="relu"), MaxPooling2D(2, padding="same"), Flatten(),
         Dense(3, activation="sigmoid")], (5, 5, 1)),
    "softmax output with mean squared error": lambda: build(
        [Flatten(), Dense(4, activation="relu"), Dense(3, activation="softmax")], (3, 2, 1),
        loss="mean_squared_error"),
}


@pytest.mark.parametrize("name", GEOMETRIES)
def test_every_frame(name):
    model = GEOMETRIES[name]()
    trace = Trace(model, sample(model), 1)
    check_all_frames(trace)
    model.forward(sample(model)[None])
    model.backward(np.array([1]))
    for record, layer in zip(trace.records, model.layers):
        for key in layer.grads:
            np.testing.assert_array_equal(record.grads[key], layer.grads[key])


def test_a_window_stride_skips_cells_that_then_get_no_gradient():
    model = GEOMETRIES["stride bigger than kernel, int padding"]()
    trace = Trace(model, sample(model), 0)
    step = next(s for s in trace.steps if s.kind == "conv_backward_input")
    # stride 3, kernel 2 rows, padding 2: padded rows 3k and 3k+1 are covered, 3k+2 never;
    # input row 0 is padded row 2.
    frame = trace.frame(step.index, np.ravel_multi_index((0, 0, 0), step.frame_grid))
    assert not frame.valid.any() and frame.sum == 0 == trace.records[0].input_grad[0, 0, 0, 0]


def test_conv_forward_marks_padding_in_input_coordinates():
    model = GEOMETRIES["'same' with stride 2 on even sizes, no bias"]()
    trace = Trace(model, sample(model), 0)
    # 'same', 8 rows, kernel 3, stride 2: 4 outputs, total padding 1, all at the bottom (Keras)
    frame = trace.frame(0, np.ravel_multi_index((0, 3, 2), trace.steps[0].frame_grid))
    np.testing.assert_array_equal(frame.window.rows, [6, 7, 8])
    np.testing.assert_array_equal(frame.window.cols, [4, 5, 6])
    np.testing.assert_array_equal(frame.window.padding_mask, [[0, 0, 1], [0, 0, 1], [1, 1, 1]])
    assert frame.window.box == (6, 4, 3, 3)
    assert frame.bias == 0.0


def test_maxpool_ties_go_to_the_first_cell_like_the_engine():
    model = build([MaxPooling2D(2), Flatten(), Dense(2, activation="softmax")], (2, 2, 1))
    trace = Trace(model, np.ones((2, 2, 1)), 0)
    forward = trace.frame(0, 0)
    backward = trace.frame(next(s.index for s in trace.steps if s.kind == "maxpool_backward"), 0)
    assert forward.winner == backward.winner == (0, 0)
    np.testing.assert_array_equal(backward.input_grad, backward.routed)


def test_frame_arrays_cannot_change_the_trace():
    model = GEOMETRIES["sigmoid output with cross-entropy (not fused)"]()
    trace = Trace(model, sample(model), 0)
    frame = trace.frame(0, 0)
    with pytest.raises(ValueError):
        frame.kernel[0, 0, 0] = 5.0
    assert trace.frame(0, 0).sum == frame.sum


def float64_kerasy():
    config = load_preset("kerasy-mnist", seed=0).get_config()
    config["config"]["dtype"] = "float64"
    model = randomize(Sequential.from_config(config, seed=0), seed=3)
    for layer in model.layers:  # realistic scale: weights like Glorot, so ReLUs are mixed
        if "kernel" in layer.params:
            layer.params["kernel"] *= 0.1
    model.compile(optimizer={"name": "adam", "weight_decay": 1e-3})
    return model


def test_random_frames_of_the_kerasy_model():
    model = float64_kerasy()
    x = np.random.default_rng(5).random((28, 28, 1))
    trace = Trace(model, x, 7)
    rng = np.random.default_rng(0)
    for step in trace.steps:
        frames = {0, step.frame_count - 1, *rng.integers(step.frame_count, size=12).tolist()}
        for index in sorted(frames):
            check_frame(trace, step.index, index, rtol=1e-9, atol=1e-12)
    model.forward(x[None])
    model.backward(np.array([7]))
    for record, layer in zip(trace.records, model.layers):
        for key in layer.grads:
            np.testing.assert_array_equal(record.grads[key], layer.grads[key])


def assert_same_fields(a, b, where=""):
    """Every field of two frames (nested dataclasses, arrays, dicts, numbers) equal to 1e-10."""
    if dataclasses.is_dataclass(a):
        assert type(a) is type(b), where
        for field in dataclasses.fields(a):
            assert_same_fields(getattr(a, field.name), getattr(b, field.name), f"{where}.{field.name}")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same_fields(a[key], b[key], f"{where}[{key}]")
    elif isinstance(a, (tuple, list)) and a and dataclasses.is_dataclass(a[0]):
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_fields(x, y, f"{where}[{k}]")
    elif isinstance(a, (np.ndarray, float, np.floating)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=where)
    else:
        assert a == b, where


def test_a_float32_model_is_traced_in_float64():
    """The lecture model trains in float32; its trace equals that of a float64 twin with the same weights."""
    model = load_preset("lecture", seed=0)
    model.compile(optimizer={"name": "adagrad", "weight_decay": 1e-3})
    config = model.get_config()
    config["config"]["dtype"] = "float64"
    twin = Sequential.from_config(config)
    twin.set_weights(model.get_weights())
    twin.compile(optimizer={"name": "adagrad", "weight_decay": 1e-3})
    x = np.random.default_rng(2).random(model.input_shape).astype(np.float32)
    trace, reference = Trace(model, x, 0), Trace(twin, x, 0)
    assert trace.records[0].z.dtype == np.float64
    assert trace.loss == pytest.approx(reference.loss, rel=1e-12)
    rng = np.random.default_rng(1)
    for step in trace.steps:
        for index in {0, step.frame_count - 1, *rng.integers(step.frame_count, size=20).tolist()}:
            assert_same_fields(trace.frame(step.index, index), reference.frame(step.index, index),
                               f"step {step.index} frame {index}")
            check_frame(trace, step.index, index)


def test_a_tiny_probability_gives_its_exact_loss():
    """Cross-entropy from log-softmax: no clip at 1e-7 (the loss of p = 1e-30 is 69, not 16)."""
    model = build([Flatten(), Dense(3, activation="softmax")], (2, 1, 1))
    layer = model.layers[-1]
    layer.params["kernel"][...] = [[40.0, -30.0, 0.0], [0.0, 0.0, 0.0]]
    layer.params["bias"][...] = 0.0
    trace = Trace(model, np.array([[[1.0]], [[0.0]]]), 1)
    loss = trace.frame(len(model.layers), 0)
    assert loss.kind == "loss" and loss.fused and not loss.clipped
    expected = 70 + np.log1p(np.exp(-40) + np.exp(-70))
    assert trace.loss == pytest.approx(expected, rel=1e-12) and loss.loss == trace.loss
    assert -loss.log_p_label == pytest.approx(expected, rel=1e-12)
