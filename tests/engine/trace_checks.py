"""Shared helpers for the trace tests: small float64 models and a frame-by-frame oracle."""
from __future__ import annotations

import numpy as np

from cnnviz.engine import (Activation, AveragePooling2D, Conv2D, Dense, Dropout, Flatten, Input, MaxPooling2D,
                           Sequential)

TIGHT = dict(rtol=1e-10, atol=1e-12)


def randomize(model, seed=0):
    """Random weights and biases (the initial biases are zero, which would hide bias mistakes)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        for value in layer.params.values():
            value[...] = rng.normal(0, 0.5, value.shape)
    return model


def build(layers, input_shape, optimizer="sgd", loss="categorical_crossentropy", seed=0):
    model = Sequential(seed=seed, dtype="float64")
    model.add(Input(input_shape=input_shape))
    for layer in layers:
        model.add(layer)
    model.compile(optimizer=optimizer, loss=loss)
    return randomize(model, seed)


def awkward_conv_model(optimizer="sgd"):
    """Non-square kernels and strides, 'same' and int padding, max pool with stride != size."""
    return build([
        Conv2D(3, (3, 2), strides=(2, 1), padding="same", activation="relu"),
        MaxPooling2D((3, 2), strides=(2, 1), padding="same"),
        Conv2D(2, (2, 3), strides=(1, 2), padding=1, activation="tanh"),
        AveragePooling2D(2, strides=1, padding="same"),
        Flatten(),
        Dense(5, activation="sigmoid"),
        Dropout(0.3),
        Dense(3, activation="softmax"),
    ], (9, 8, 2), optimizer)


def avgpool_mse_model(optimizer="sgd"):
    """Average pool with stride != size and int padding, a standalone activation, MSE on a linear output."""
    return build([
        Conv2D(2, 3, strides=1, padding="valid"),
        Activation("relu"),
        AveragePooling2D((3, 2), strides=(1, 2), padding=1),
        MaxPooling2D(2, strides=1),
        Flatten(),
        Dense(4, activation="tanh"),
        Dense(3),
    ], (7, 6, 3), optimizer, loss="mean_squared_error")


def sample(model, seed=1):
    return np.random.default_rng(seed).normal(size=model.input_shape)


def scatter_window(target, frame, values):
    """Add ``values`` (kh, kw) of a window frame into ``target`` (H, W) at its non-padding cells."""
    w = frame.window
    for m, row in enumerate(w.rows):
        for n, col in enumerate(w.cols):
            if not w.padding_mask[m, n]:
                target[row, col, frame.out_index[2]] += values[m, n]


def check_terms(terms, total, **tol):
    """A SumTerms: products, largest first, tail sums, total."""
    np.testing.assert_array_equal(terms.products, terms.left * terms.right)
    ranked = np.abs(terms.products)[terms.order]
    assert np.all(np.diff(ranked) <= 0)
    np.testing.assert_allclose(terms.total, total, **tol)
    for k in (0, 1, len(terms.order)):
        np.testing.assert_allclose(terms.tail_sums[k], terms.products[terms.order[k:]].sum(), **tol)


def check_folded(folded, values, **tol):
    np.testing.assert_allclose(folded.values, np.ravel(values), **tol)
    for k in range(len(folded.values) + 1):
        np.testing.assert_allclose(folded.tail_sums[k], folded.values[k:].sum(), **tol)
    np.testing.assert_allclose(folded.total, folded.values.sum(), **tol)


def check_frame(trace, step, index, routed_sums=None, **tol):
    """Assert that one frame's numbers reproduce the vectorized tensors of the trace."""
    tol = tol or TIGHT
    f = trace.frame(step, index)
    s = trace.steps[step]
    assert f.kind == s.kind and f.step == step and f.index == index
    assert np.ravel_multi_index(f.position, s.frame_grid) == index
    r = None if s.layer_index is None else trace.records[s.layer_index]
    kind = f.kind
    if kind == "conv_forward":
        i, j, c = f.out_index
        w = f.window
        np.testing.assert_allclose(f.products, f.patch * f.kernel)
        np.testing.assert_allclose(f.sum + f.bias, r.a[0, i, j, c], **tol)
        assert f.a == r.a[0, i, j, c] and f.z == r.z[0, i, j, c]
        assert f.out_flat == i * r.z.shape[2] + j
        assert w.box == (w.rows[0], w.cols[0], *f.kernel.shape[:2])
        np.testing.assert_array_equal(f.kernel, r.layer.params["kernel"][:, :, :, c])
        for k, terms in enumerate(f.channel_terms):
            check_terms(terms, f.products[..., k].sum(), **tol)
        check_folded(f.channels, [t.total for t in f.channel_terms], **tol)
        for m, row in enumerate(w.rows):
            for n, col in enumerate(w.cols):
                if w.padding_mask[m, n]:
                    assert not (0 <= row < r.inputs.shape[1] and 0 <= col < r.inputs.shape[2])
                    assert np.all(f.patch[m, n] == 0)
                else:
                    np.testing.assert_array_equal(f.patch[m, n], r.inputs[0, row, col])
    elif kind == "maxpool_forward":
        i, j, c = f.out_index
        assert f.values[f.winner] == f.z == r.z[0, i, j, c] == f.values.max()
        row, col = f.winner_input
        assert r.inputs[0, row, col, c] == f.z
        assert np.all(np.isneginf(f.values[f.window.padding_mask]))
    elif kind == "avgpool_forward":
        i, j, c = f.out_index
        assert f.count == (~f.window.padding_mask).sum()
        check_folded(f.terms, f.values[~f.window.padding_mask], **tol)
        np.testing.assert_allclose(f.sum / f.count, r.z[0, i, j, c], **tol)
    elif kind == "global_avgpool_forward":
        check_folded(f.terms, r.inputs[0, :, :, f.channel], **tol)
        np.testing.assert_allclose(f.sum / f.count, r.z[0, f.channel], **tol)
    elif kind == "dense_forward":
        j = f.neuron
        np.testing.assert_allclose(f.sum + f.bias, r.a[0, j], **tol)
        check_terms(f.terms, r.a[0, j] - f.bias, **tol)
        assert f.largest == f.terms.order[0]
    elif kind == "flatten_forward":
        assert f.value == r.z[0, f.out_index] == r.inputs[0][f.in_index]
        first, last = f.span
        np.testing.assert_array_equal(r.z[0, first:last + 1], r.inputs[0][f.in_index[:-1]]
                                      if len(f.in_index) == 3 else r.z[0, first:last + 1])
    elif kind == "dropout_forward":
        assert f.value == f.z == r.z[0][f.in_index]
    elif kind == "activation_forward":
        assert f.z == r.z[0][f.in_index] and f.a == r.inputs[0][f.in_index]
    elif kind == "batchnorm_forward":
        np.testing.assert_allclose(f.x_hat, (f.x - f.mean) / np.sqrt(f.variance + f.epsilon), **tol)
        np.testing.assert_allclose(f.gamma * f.x_hat + f.beta, f.z, **tol)
        assert f.z == r.z[0][f.in_index] and f.x == r.inputs[0][f.in_index]
        assert f.statistics == "moving"
    elif kind == "loss":
        p, y = trace.y_pred[0], trace.y_true[0]
        np.testing.assert_allclose(f.terms.total, trace.loss, **tol)
        assert f.loss == trace.loss
        np.testing.assert_array_equal(f.delta, trace.records[-1].delta[0])
        if f.fused:
            np.testing.assert_allclose(f.delta, p - y, **tol)
            np.testing.assert_allclose(-f.log_p_label, f.loss, **tol)
        elif f.h_prime is not None:
            np.testing.assert_allclose(f.delta, f.h_prime * f.output_grad, **tol)
        else:  # softmax without cross-entropy: the Jacobian-vector product
            assert f.jacobian
            np.testing.assert_allclose(f.delta, p * (f.output_grad - f.output_grad @ p), **tol)
    elif kind == "conv_backward_weight":
        m, n, c, c_out = f.weight_index
        np.testing.assert_allclose(f.grad, r.grads["kernel"][m, n, c, c_out], **tol)
        check_terms(f.terms, f.grad, **tol)
        if "bias" in r.grads:
            np.testing.assert_allclose(f.bias_grad, r.grads["bias"][c_out], **tol)
        else:
            assert f.bias_grad is None
        assert np.all(f.values[f.window.padding_mask] == 0)
    elif kind == "conv_backward_input":
        i, j, c = f.in_index
        np.testing.assert_allclose(f.sum, r.input_grad[0, i, j, c], **tol)
        assert np.all(f.deltas[~f.valid] == 0)
        np.testing.assert_array_equal(f.flipped_kernel * f.delta_window, f.products[::-1, ::-1])
        check_folded(f.channels, f.products.sum(axis=(0, 1)), **tol)
        check_prev(trace, r, f, (i, j, c), f.sum, tol)
    elif kind in ("maxpool_backward", "avgpool_backward"):
        i, j, c = f.out_index
        assert f.delta == r.dz[0, i, j, c]
        np.testing.assert_allclose(f.routed.sum(), f.delta, **tol)
        assert np.all(f.routed[f.window.padding_mask] == 0)
        if kind == "avgpool_backward":
            np.testing.assert_allclose(f.share * f.count, f.delta, **tol)
        if routed_sums is not None:
            scatter_window(routed_sums.setdefault(step, np.zeros(r.inputs.shape[1:])), f, f.routed)
    elif kind == "global_avgpool_backward":
        np.testing.assert_allclose(f.input_grad, f.share, **tol)
        np.testing.assert_allclose(f.share * f.count, f.output_grad, **tol)
    elif kind == "dense_backward":
        i = f.in_index
        np.testing.assert_allclose(f.sum, r.input_grad[0, i], **tol)
        check_terms(f.terms, f.sum, **tol)
        np.testing.assert_allclose(f.weight_grads, r.grads["kernel"][i], **tol)
        if "bias" in r.grads:
            np.testing.assert_allclose(f.bias_grads, r.grads["bias"], **tol)
        check_prev(trace, r, f, (i,), f.sum, tol)
    elif kind in ("flatten_backward", "dropout_backward"):
        assert f.input_grad == f.output_grad == r.input_grad[0][f.in_index]
        check_prev(trace, r, f, f.in_index, f.input_grad, tol)
    elif kind == "activation_backward":
        if f.h_prime is not None:
            np.testing.assert_allclose(f.delta, f.h_prime * f.output_grad, **tol)
        assert f.delta == r.input_grad[0][f.in_index]
    elif kind == "batchnorm_backward":
        np.testing.assert_allclose(f.input_grad, f.gamma * f.output_grad / f.std, **tol)
        assert f.input_grad == r.input_grad[0][f.in_index]
        check_prev(trace, r, f, f.in_index, f.input_grad, tol)
    elif kind == "update":
        key, index = f.param_key, f.param_index
        assert f.grad == r.grads[key][index]
        np.testing.assert_allclose(f.grad + f.decay_term, f.effective_grad, **tol)
        np.testing.assert_allclose(f.param + f.change, f.param_after, **tol)
        assert f.param_slice[f.cell] == f.param and f.after_slice[f.cell] == f.param_after
        assert f.change_slice[f.cell] == f.change and f.grad_slice[f.cell] == f.grad
    else:
        raise AssertionError(f"unknown frame kind {kind}")
    return f


def check_prev(trace, r, f, index, input_grad, tol):
    prev = trace.records[r.index - 1] if r.index > 0 else None
    if prev is None or prev.h_prime is None:
        assert f.previous is None
        return
    assert f.previous.layer == prev.name
    np.testing.assert_allclose(f.previous.delta, prev.delta[0][index], **tol)
    np.testing.assert_allclose(f.previous.delta, f.previous.h_prime * input_grad, **tol)


def check_all_frames(trace, **tol):
    """Every frame of every step; pooling routes are summed and compared with the input gradient."""
    routed = {}
    for step in trace.steps:
        for index in range(step.frame_count):
            check_frame(trace, step.index, index, routed, **tol)
    for step_index, total in routed.items():
        record = trace.records[trace.steps[step_index].layer_index]
        np.testing.assert_allclose(total, record.input_grad[0], **(tol or TIGHT))
    return routed
