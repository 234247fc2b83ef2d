"""BatchNormalization and GlobalAveragePooling2D: gradients against finite differences (batch
statistics while training, moving statistics at inference), Keras' moving-statistics rule,
non-trainable state kept apart, the trace, and PyTorch where it is importable."""
import numpy as np
import pytest

from cnnviz.engine import BatchNormalization, Conv2D, Dense, Flatten, GlobalAveragePooling2D, MaxPooling2D
from cnnviz.engine.trace import Trace
from tests.engine.test_gradients import check_gradients, make_model, numeric_gradient, relative_error
from tests.engine.trace_checks import build, check_all_frames, check_frame, sample

CASES = {
    "conv, BN, relu, GAP": ((5, 4, 2), lambda: [Conv2D(3, 2, padding="same", use_bias=False), BatchNormalization(),
                                                  Conv2D(3, 2, activation="tanh"), GlobalAveragePooling2D(),
                                                  Dense(3, activation="softmax")]),
    "BN on a flat input, no scale": ((6,), lambda: [BatchNormalization(scale=False), Dense(4, activation="tanh", use_bias=False),
                                                    BatchNormalization(center=False), Dense(3, activation="softmax")]),
    "GAP right after the input, MSE": ((3, 5, 2), lambda: [GlobalAveragePooling2D(), BatchNormalization(),
                                                            Dense(3)]),
}


def randomized(model, seed=0):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        for value in layer.params.values():
            value[...] = rng.normal(0.5, 0.5, value.shape)
        for key, value in layer.state.items():
            value[...] = rng.uniform(0.5, 1.5, value.shape) if key == "moving_variance" else rng.normal(0, 1, value.shape)
    return model


@pytest.mark.parametrize("name", CASES)
def test_gradients_with_batch_statistics(name):
    shape, layers = CASES[name]
    loss = "mean_squared_error" if "MSE" in name else "categorical_crossentropy"
    model = randomized(make_model(shape, layers(), loss=loss))
    rng = np.random.default_rng(1)
    check_gradients(model, rng.normal(size=(4, *shape)), np.array([0, 2, 1, 2]))


@pytest.mark.parametrize("name", CASES)
def test_gradients_with_moving_statistics(name):
    shape, layers = CASES[name]
    model = randomized(make_model(shape, layers(), loss="mean_squared_error" if "MSE" in name else
                                  "categorical_crossentropy"))
    x, y = np.random.default_rng(2).normal(size=(3, *shape)), model.check_y(np.array([1, 0, 2]), 3)

    def loss():
        return model.compute_loss(model.forward(x, training=False), y)

    model.forward(x, training=False)
    dx = model.backward(y)
    grads = {f"{layer.name}/{key}": value.copy() for layer in model.layers for key, value in layer.grads.items()}
    assert relative_error(dx, numeric_gradient(loss, x)) < 1e-6
    for layer in model.layers:
        for key in layer.params:
            assert relative_error(grads[f"{layer.name}/{key}"], numeric_gradient(loss, layer.params[key])) < 1e-6


def test_moving_statistics_follow_keras_and_optimizers_never_touch_them():
    model = make_model((4, 4, 2), [BatchNormalization(momentum=0.9), Flatten(), Dense(2, activation="softmax")])
    model.compile(optimizer={"name": "adam", "weight_decay": 0.1}, loss="categorical_crossentropy")
    layer = model.layers[0]
    assert set(layer.params) == {"gamma", "beta"} and set(layer.state) == {"moving_mean", "moving_variance"}
    x = np.random.default_rng(3).normal(2.0, 3.0, size=(5, 4, 4, 2))
    mean, variance = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))  # Keras: the biased batch variance
    model.train_on_batch(x, np.array([0, 1, 0, 1, 1]))
    np.testing.assert_allclose(layer.state["moving_mean"], 0.1 * mean, rtol=1e-12)
    np.testing.assert_allclose(layer.state["moving_variance"], 0.9 + 0.1 * variance, rtol=1e-12)
    assert all(key[1] in ("gamma", "beta", "kernel", "bias") for key in model.optimizer.states)
    before = layer.state["moving_mean"].copy()
    model.predict(x)
    np.testing.assert_array_equal(layer.state["moving_mean"], before)
    assert model.count_params() == 4 * 2 + 32 * 2 + 2
    assert "Non-trainable params: 4" in model.summary_text()


def test_weights_files_keep_the_moving_statistics(tmp_path):
    model = randomized(make_model((4, 4, 2), [BatchNormalization(), GlobalAveragePooling2D(),
                                              Dense(2, activation="softmax")]))
    model.save_weights(tmp_path / "bn.npz")
    from cnnviz.engine.model import load_model

    again = load_model(tmp_path / "bn.npz")
    for key, value in model.weights_by_name().items():
        np.testing.assert_array_equal(again.weights_by_name()[key], value)
    assert isinstance(again.layers[0], BatchNormalization) and again.layers[0].epsilon == 1e-3


def test_bad_settings_are_refused():
    for kwargs in ({"axis": 1}, {"momentum": 1.5}, {"epsilon": 0}, {"center": "false"}):
        with pytest.raises(ValueError, match="BatchNormalization"):
            BatchNormalization(**kwargs)
    with pytest.raises(ValueError, match="GlobalAveragePooling2D needs input"):
        make_model((6,), [GlobalAveragePooling2D()])


def test_every_frame_of_a_model_with_both():
    model = build([Conv2D(3, 3, padding="same", activation="relu"), BatchNormalization(), MaxPooling2D(2),
                   Conv2D(4, 2), BatchNormalization(), GlobalAveragePooling2D(), Dense(3, activation="softmax")],
                  (6, 5, 2), optimizer={"name": "sgd", "momentum": 0.9})
    randomized(model, seed=4)
    trace = Trace(model, sample(model), 2)
    check_all_frames(trace)
    kinds = {step.kind for step in trace.steps}
    assert {"batchnorm_forward", "batchnorm_backward", "global_avgpool_forward", "global_avgpool_backward"} <= kinds
    assert {step.param_key for step in trace.steps if step.phase == "update"} == {"kernel", "bias", "gamma", "beta"}
    frame = trace.frame(next(s.index for s in trace.steps if s.kind == "batchnorm_forward"), 7)
    assert frame.statistics == "moving" and "moving statistics" in frame.why




@pytest.mark.parametrize("training", [True, False])
def test_the_same_as_torch(training):
    torch = pytest.importorskip("torch")
    model = randomized(make_model((5, 4, 3), [BatchNormalization(epsilon=1e-5), GlobalAveragePooling2D(),
                                              Dense(2, activation="softmax")]))
    bn = model.layers[0]
    net = torch.nn.BatchNorm2d(3, eps=1e-5, momentum=0.01).double()
    with torch.no_grad():
        net.weight.copy_(torch.from_numpy(bn.params["gamma"]))
        net.bias.copy_(torch.from_numpy(bn.params["beta"]))
        net.running_mean.copy_(torch.from_numpy(bn.state["moving_mean"]))
        net.running_var.copy_(torch.from_numpy(bn.state["moving_variance"]))
    net.train(training)
    x = np.random.default_rng(5).normal(size=(4, 5, 4, 3))
    xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()).requires_grad_(True)
    out = net(xt).mean(dim=(2, 3))  # global average pooling, NCHW
    g = np.random.default_rng(6).normal(size=(4, 3))
    (out * torch.from_numpy(g)).sum().backward()
    z = bn.forward(x, training=training)
    pooled = model.layers[1].forward(z, training=training)
    np.testing.assert_allclose(pooled, out.detach().numpy(), rtol=1e-10, atol=1e-12)
    dx = bn.backward(model.layers[1].backward(g))
    np.testing.assert_allclose(dx.transpose(0, 3, 1, 2), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(bn.grads["gamma"], net.weight.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(bn.grads["beta"], net.bias.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_keras_files_keep_batch_normalization_and_global_pooling(tmp_path, suffix):
    """Written in Keras' layouts (gamma, beta, moving_mean, moving_variance) and read back by structure."""
    pytest.importorskip("h5py")
    from cnnviz.engine.model import load_model

    model = randomized(build([Conv2D(3, 3, use_bias=False), BatchNormalization(momentum=0.9, epsilon=1e-4),
                              GlobalAveragePooling2D(), Dense(3, activation="softmax")], (6, 5, 2)), seed=8)
    model.save(tmp_path / f"m{suffix}")
    again = load_model(tmp_path / f"m{suffix}")
    assert isinstance(again.layers[1], BatchNormalization) and again.layers[1].epsilon == 1e-4
    for key, value in model.weights_by_name().items():
        np.testing.assert_allclose(again.weights_by_name()[key], value, rtol=1e-6)
    x = sample(model)[None]
    np.testing.assert_allclose(again.predict(x), model.predict(x), rtol=1e-5, atol=1e-6)


def test_pytorch_batchnorm_state_dicts_come_in(tmp_path):
    """A torch state_dict as safetensors (weight, bias, running_mean, running_var, num_batches_tracked)."""
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    from cnnviz.engine.importers import import_weights

    model = randomized(build([Conv2D(3, 3, use_bias=False), BatchNormalization(epsilon=1e-5),
                              GlobalAveragePooling2D(), Dense(3, activation="softmax")], (6, 5, 2)), seed=9)
    bn, conv, dense = model.layers[1], model.layers[0], model.layers[3]
    state = {"0.weight": conv.params["kernel"].transpose(3, 2, 0, 1), "1.weight": bn.params["gamma"],
             "1.bias": bn.params["beta"], "1.running_mean": bn.state["moving_mean"],
             "1.running_var": bn.state["moving_variance"], "1.num_batches_tracked": np.array(7),
             "4.weight": dense.params["kernel"].T, "4.bias": dense.params["bias"]}
    safetensors_numpy.save_file({k: np.ascontiguousarray(v) for k, v in state.items()}, str(tmp_path / "t.safetensors"))
    fresh = build([Conv2D(3, 3, use_bias=False), BatchNormalization(epsilon=1e-5), GlobalAveragePooling2D(),
                   Dense(3, activation="softmax")], (6, 5, 2), seed=1)
    import_weights(fresh, tmp_path / "t.safetensors")
    for key, value in model.weights_by_name().items():
        np.testing.assert_array_equal(fresh.weights_by_name()[key], value)


def test_every_frame_of_the_allconv_bn_preset():
    """A softmax Activation layer fused with cross-entropy: its backward frames show δ = p − y."""
    from cnnviz.presets import preset_model

    model = preset_model("allconv-bn", seed=0)
    model.compile(optimizer="sgd")
    x = np.random.default_rng(3).random((28, 28, 1)).astype(np.float32)
    trace = Trace(model, x, 4)
    rng = np.random.default_rng(0)
    for step in trace.steps:
        for index in {0, step.frame_count - 1, *rng.integers(step.frame_count, size=5).tolist()}:
            check_frame(trace, step.index, index)
    last = next(s for s in trace.steps if s.kind == "activation_backward" and s.layer_index == len(model.layers) - 1)
    frame = trace.frame(last.index, 4)
    assert frame.output_grad is None and frame.delta == trace.records[-1].delta[0, 4]
