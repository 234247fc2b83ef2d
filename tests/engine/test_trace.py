"""The trace of one sample: steps, frames that reproduce the vectorized tensors, the update."""
import numpy as np
import pytest

from cnnviz.engine.trace import Trace
from tests.engine.trace_checks import (avgpool_mse_model, awkward_conv_model, build, check_all_frames, sample)
from cnnviz.engine import Conv2D, Dense, Flatten, MaxPooling2D


def snapshot(model):
    params = {(layer.name, key): value.copy() for layer in model.layers for key, value in layer.params.items()}
    states = {name: {k: np.copy(v) for k, v in state.items()} for name, state in model.optimizer.states.items()}
    return params, states


def assert_same_snapshot(before, after):
    assert before[0].keys() == after[0].keys()
    for key in before[0]:
        np.testing.assert_array_equal(before[0][key], after[0][key])
    assert before[1].keys() == after[1].keys()
    for name in before[1]:
        assert before[1][name].keys() == after[1][name].keys()
        for k in before[1][name]:
            np.testing.assert_array_equal(before[1][name][k], after[1][name][k])


@pytest.mark.parametrize("make", [awkward_conv_model, avgpool_mse_model])
def test_every_frame_reproduces_the_vectorized_tensors(make):
    model = make()
    trace = Trace(model, sample(model), 1)
    routed = check_all_frames(trace)
    assert routed, "the pooling backward steps were checked against the input gradient"
    kinds = {step.kind for step in trace.steps}
    assert {"conv_forward", "conv_backward_weight", "conv_backward_input", "dense_forward", "dense_backward",
            "flatten_forward", "flatten_backward", "loss", "update"} <= kinds


def test_all_layer_kinds_are_covered():
    kinds = set()
    for make in (awkward_conv_model, avgpool_mse_model):
        model = make()
        kinds |= {step.kind for step in Trace(model, sample(model), 0).steps}
    assert kinds == {"conv_forward", "maxpool_forward", "avgpool_forward", "dense_forward", "flatten_forward",
                     "dropout_forward", "activation_forward", "loss", "conv_backward_weight",
                     "conv_backward_input", "maxpool_backward", "avgpool_backward", "dense_backward",
                     "flatten_backward", "dropout_backward", "activation_backward", "update"}


@pytest.mark.parametrize("make", [awkward_conv_model, avgpool_mse_model])
def test_trace_gradients_equal_a_batch_of_one(make):
    model = make()
    x = sample(model)
    trace = Trace(model, x, 2)
    model.forward(x[None])
    dx = model.backward(np.array([2]))
    for record, layer in zip(trace.records, model.layers):
        assert record.grads.keys() == layer.grads.keys()
        for key in layer.grads:
            np.testing.assert_array_equal(record.grads[key], layer.grads[key])
    np.testing.assert_array_equal(trace.records[0].input_grad, dx)


@pytest.mark.parametrize("optimizer", [
    "sgd", {"name": "sgd", "momentum": 0.9, "nesterov": True}, {"name": "adam", "weight_decay": 0.01},
    "adagrad", "rmsprop"])
def test_building_leaves_the_model_alone_and_apply_update_matches_the_optimizer(optimizer):
    model, twin = awkward_conv_model(optimizer), awkward_conv_model(optimizer)
    x = sample(model)
    for m in (model, twin):  # some optimizer state to carry over
        m.train_on_batch(x[None], np.array([0]))
    grads_before = [layer.grads for layer in model.layers]
    before = snapshot(model)
    trace = Trace(model, x, 1)
    assert_same_snapshot(before, snapshot(model))
    assert all(layer.grads is grads for layer, grads in zip(model.layers, grads_before))
    for step in trace.steps:
        if step.phase == "update":
            frame = trace.frame(step.index, step.frame_count - 1)
            assert frame.param == model.get_layer(step.layer_name).params[step.param_key][frame.param_index]

    trace.apply_update()
    twin.forward(x[None])
    twin.backward(np.array([1]))
    twin.update()
    assert_same_snapshot(snapshot(twin), snapshot(model))
    for step in trace.steps:
        if step.phase != "update":
            continue
        param = model.get_layer(step.layer_name).params[step.param_key]
        for index in range(step.frame_count):
            frame = trace.frame(step.index, index)
            np.testing.assert_array_equal(frame.param_after, param[frame.param_index])
    with pytest.raises(ValueError, match="already applied"):
        trace.apply_update()


def test_update_frame_shows_optimizer_state_before_and_after():
    model = awkward_conv_model({"name": "sgd", "momentum": 0.5, "weight_decay": 0.1})
    x = sample(model)
    model.train_on_batch(x[None], np.array([0]))
    trace = Trace(model, x, 1)
    step = next(s for s in trace.steps if s.phase == "update" and s.param_key == "kernel")
    frame = trace.frame(step.index, 3)
    layer = model.get_layer(step.layer_name)
    index = frame.param_index
    velocity = model.optimizer.states[(layer.name, "kernel")]["velocity"][index]
    assert frame.state_before["velocity"] == velocity
    assert frame.effective_grad == pytest.approx(frame.grad + 0.1 * frame.param, rel=1e-12)
    assert frame.state_after["velocity"] == pytest.approx(0.5 * velocity - 0.01 * frame.effective_grad)
    assert frame.change == frame.state_after["velocity"]


def test_apply_update_refuses_a_model_that_changed():
    model = awkward_conv_model()
    x = sample(model)
    trace = Trace(model, x, 1)
    model.train_on_batch(x[None], np.array([0]))
    after_training = snapshot(model)
    with pytest.raises(ValueError, match="changed"):
        trace.apply_update()
    assert_same_snapshot(after_training, snapshot(model))


def test_frozen_layers_get_no_update_step():
    model = awkward_conv_model()
    model.layers[0].trainable = False
    trace = Trace(model, sample(model), 1)
    updated = {step.layer_name for step in trace.steps if step.phase == "update"}
    assert model.layers[0].name not in updated and model.layers[2].name in updated


def test_steps_order_titles_and_frame_counts():
    model = awkward_conv_model()
    trace = Trace(model, sample(model)[None], np.eye(3)[2])
    assert trace.label == 2 and trace.y_true.shape == (1, 3) and trace.x.shape == (1, 9, 8, 2)
    phases = [step.phase for step in trace.steps]
    assert phases == sorted(phases, key=["forward", "loss", "backward", "update"].index)
    forward = [s.layer_index for s in trace.steps if s.phase == "forward"]
    backward = [s.layer_index for s in trace.steps if s.phase == "backward"]
    assert forward == list(range(len(model.layers)))
    assert sorted(set(backward), reverse=True) == list(dict.fromkeys(backward))
    assert trace.steps[0].title == "Forward: conv2d_1 (Conv2D 3 3x2 relu)"
    assert trace.steps[0].frame_grid == (3, 5, 8)  # 'same', stride (2, 1): ceil(9/2) x 8
    assert "2·i+m−1" in trace.steps[0].formula
    for step in trace.steps:
        assert step.title and step.formula and step.explanation
        assert step.frame_count == np.prod(step.frame_grid)
    assert trace.total_frames == sum(step.frame_count for step in trace.steps)
    for index in (0, 1, trace.steps[3].first_frame, trace.total_frames - 1):
        step, frame = trace.locate(index)
        assert trace.global_index(step, frame) == index
    frame = trace.frame_at(trace.steps[2].first_frame + 4)
    assert (frame.step, frame.index, frame.z) == (2, 4, trace.frame(2, 4).z)


def test_conv_backward_input_reports_the_cells_that_reach_it():
    model = build([Conv2D(2, (3, 3), strides=2, padding="valid"), Flatten(), Dense(2, activation="softmax")],
                  (7, 7, 1))
    trace = Trace(model, sample(model), 0)
    step = next(s for s in trace.steps if s.kind == "conv_backward_input")
    # input cell (4, 3): output rows i with 2i + m = 4 -> (m=0, i=2), (m=2, i=1); columns 2j + n = 3 -> (n=1, j=1)
    frame = trace.frame(step.index, np.ravel_multi_index((0, 4, 3), step.frame_grid))
    np.testing.assert_array_equal(frame.out_rows, [2, -1, 1])
    np.testing.assert_array_equal(frame.out_cols, [-1, 1, -1])
    assert frame.valid.sum() == 2
    delta = trace.records[0].delta[0]
    kernel = model.layers[0].params["kernel"]
    expected = delta[2, 1] @ kernel[0, 1, 0] + delta[1, 1] @ kernel[2, 1, 0]
    assert frame.sum == pytest.approx(expected, rel=1e-12)


def test_maxpool_backward_routes_to_the_winner_only():
    model = build([MaxPooling2D(2), Flatten(), Dense(2, activation="softmax")], (4, 4, 1))
    x = np.arange(16.0).reshape(4, 4, 1)
    trace = Trace(model, x, 1)
    step = next(s for s in trace.steps if s.kind == "maxpool_backward")
    frame = trace.frame(step.index, 0)
    assert frame.winner == (1, 1)  # 5 is the largest of 0, 1, 4, 5
    assert np.count_nonzero(frame.routed) == 1 and frame.routed[1, 1] == frame.delta


def test_bad_input_is_refused():
    model = awkward_conv_model()
    with pytest.raises(ValueError, match="one sample"):
        Trace(model, np.zeros((2, 9, 8, 2)), 0)
    with pytest.raises(ValueError, match="class ids"):
        Trace(model, sample(model), 7)
    trace = Trace(model, sample(model), 0)
    with pytest.raises(ValueError):
        trace.frame(0, trace.steps[0].frame_count)
    with pytest.raises(ValueError):
        trace.locate(trace.total_frames)
    uncompiled = build([Flatten(), Dense(2)], (2, 2, 1))
    uncompiled.optimizer = None
    with pytest.raises(ValueError, match="not compiled"):
        Trace(uncompiled, np.zeros((2, 2, 1)), 0)
