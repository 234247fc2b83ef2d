"""Keras-style layers for the NumPy engine.

Each layer has ``forward(x, training)`` and ``backward(dz)``. Forward keeps what backward
and the step-by-step trace need, in attributes named after the derivation:

- ``inputs``: the layer input z^{k-1}
- ``a``: the pre-activation (layers with weights or an activation)
- ``z``: the output h(a)

and backward stores ``dz`` (dE/dz) and ``delta`` (dE/da). Trainable parameters live in
``params`` (``kernel``, ``bias``, ``gamma``, ...) with gradients of the batch-mean loss in
``grads``; non-trainable state that a file stores too (BatchNormalization's moving statistics)
lives apart in ``state``, so optimizers and weight decay never touch it. ``variables()`` is
both, in the order files and Keras list them.

Every ``Layer`` subclass with a ``type_name`` registers itself in ``LAYER_TYPES`` by its class
name (what architecture files say); adding a layer kind needs no list edited here.
"""
from __future__ import annotations

import math

import numpy as np

from . import functional as F


LAYER_TYPES: dict[str, type] = {}  # class name -> Layer subclass, filled as each class is defined


class Layer:
    """Base class: name, build, forward/backward and configuration."""

    type_name = "layer"  # used for auto names: conv2d_1, dense_2, ...
    has_activation = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "type_name" in cls.__dict__ and not cls.__name__.startswith("_"):
            LAYER_TYPES[cls.__name__] = cls

    def __init__(self, name: str | None = None, trainable: bool = True, input_shape=None):
        self.name = name
        self.trainable = trainable
        self.input_shape = tuple(input_shape) if input_shape is not None else None
        self.output_shape = None
        self.params: dict[str, np.ndarray] = {}
        self.state: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.built = False
        self.rng = None
        self.inputs = self.a = self.z = self.dz = self.delta = None

    # -- building -------------------------------------------------------------
    def build(self, input_shape, rng: np.random.Generator, dtype) -> None:
        """Check the input shape (without batch axis), set ``output_shape``, make params."""
        self.input_shape = tuple(int(n) for n in input_shape)
        self.rng = rng
        self.output_shape = self.compute_output_shape(self.input_shape)
        self.init_params(rng, np.dtype(dtype))
        self.built = True

    def compute_output_shape(self, input_shape):
        return input_shape

    def init_params(self, rng, dtype) -> None:
        pass

    def variables(self) -> dict[str, np.ndarray]:
        """Trainable parameters, then non-trainable state: everything a weights file holds."""
        return {**self.params, **self.state}

    def count_params(self) -> int:
        """All variables, trainable or not (as Keras counts them)."""
        return int(sum(p.size for p in self.variables().values()))

    def clone(self, dtype) -> "Layer":
        """A new, built layer of the same configuration holding copies of this layer's variables
        in ``dtype``. The step-by-step trace runs such a copy in float64, so it never reads or
        changes this layer's caches and gradients (a training thread may be using them)."""
        twin = layer_from_config(type(self).__name__, self.get_config())
        twin.input_shape, twin.rng = self.input_shape, np.random.default_rng(0)
        twin.output_shape = twin.compute_output_shape(self.input_shape)
        twin.params = {key: value.astype(dtype) for key, value in self.params.items()}
        twin.state = {key: value.astype(dtype) for key, value in self.state.items()}
        twin.built = True
        return twin

    # -- running --------------------------------------------------------------
    def check_input(self, x: np.ndarray) -> None:
        if x.shape[1:] != self.input_shape:
            raise ValueError(
                f"layer {self.name}: expected input of shape (N, {', '.join(map(str, self.input_shape))}), "
                f"got {x.shape}"
            )

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dz: np.ndarray, need_input_grad: bool = True):
        """dz: dE/d(output) -> dE/d(input) (None when not ``need_input_grad``)."""
        raise NotImplementedError

    # -- configuration --------------------------------------------------------
    def get_config(self) -> dict:
        config = {"name": self.name, "trainable": self.trainable}
        return config

    def describe(self) -> str:
        """A short human description for summaries and the GUI's network strip."""
        return type(self).__name__


class ActivationMixin:
    """Layers that end in an activation h: z = h(a), delta = dE/da = h'(a) * dE/dz."""

    has_activation = True
    activation = "linear"

    def activate(self, a: np.ndarray) -> np.ndarray:
        self.a = a
        self.z = F.ACTIVATIONS[self.activation][0](a)
        return self.z

    def backward(self, dz: np.ndarray, need_input_grad: bool = True):
        self.dz = dz
        delta = F.ACTIVATIONS[self.activation][1](self.a, self.z, dz)
        return self.backward_from_delta(delta, need_input_grad)

    def backward_from_delta(self, delta: np.ndarray, need_input_grad: bool = True):
        """Backward from dE/da directly (the fused softmax + cross-entropy path)."""
        raise NotImplementedError


def reuse(buffer: np.ndarray | None, shape, dtype, order: str = "C") -> np.ndarray:
    """``buffer`` if it has this shape, dtype and memory order, else a new empty array (big
    scratch arrays are kept between batches: allocating them afresh costs page faults every time)."""
    if (buffer is None or buffer.shape != tuple(shape) or buffer.dtype != dtype
            or not buffer.flags[f"{order}_CONTIGUOUS"]):
        return np.empty(shape, dtype, order=order)
    return buffer


def glorot_uniform(rng, shape, fan_in: int, fan_out: int, dtype) -> np.ndarray:
    """Keras' default kernel initializer."""
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


class Input:
    """Declares the input shape (without batch axis), e.g. ``Input(input_shape=(28, 28, 1))``."""

    def __init__(self, input_shape=None, shape=None):
        shape = input_shape if input_shape is not None else shape
        if shape is None or len(shape) == 0 or any(
            not isinstance(n, (int, np.integer)) or n < 1 for n in shape
        ):
            raise ValueError(f"Input: input_shape must be a tuple of positive ints, got {shape!r}")
        self.input_shape = tuple(int(n) for n in shape)


class Conv2D(ActivationMixin, Layer):
    """2-D convolution. x: (N, H, W, C) -> (N, Ho, Wo, filters); kernel (kh, kw, C, filters)."""

    type_name = "conv2d"

    def __init__(self, filters: int, kernel_size=(3, 3), strides=1, padding="valid", activation=None,
                 use_bias: bool = True, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(filters, (int, np.integer)) or filters < 1:
            raise ValueError(f"Conv2D: filters must be a positive int, got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = F.pair(kernel_size, "Conv2D kernel_size")
        self.strides = F.pair(strides, "Conv2D strides")
        self.padding = F.check_padding(padding, "Conv2D padding")
        self.activation = F.check_activation(activation, "Conv2D")
        self.use_bias = bool(use_bias)
        self._cols_buffer = self._parts_buffer = None

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            hint = ""
            if len(input_shape) == 2:
                hint = f"; reshape the images to (N, {', '.join(map(str, input_shape))}, 1)"
            raise ValueError(f"layer {self.name}: Conv2D needs input (H, W, C), got {input_shape}{hint}")
        self.pads, out_hw = F.window_geometry(input_shape[:2], self.kernel_size, self.strides, self.padding)
        if min(out_hw) < 1:
            padded = tuple(n + sum(p) for n, p in zip(input_shape[:2], self.pads))
            raise ValueError(
                f"layer {self.name}: kernel {self.kernel_size} is larger than its padded input {padded}"
            )
        return (*out_hw, self.filters)

    def init_params(self, rng, dtype):
        kh, kw = self.kernel_size
        c = self.input_shape[2]
        shape = (kh, kw, c, self.filters)
        self.params = {"kernel": glorot_uniform(rng, shape, kh * kw * c, kh * kw * self.filters, dtype)}
        if self.use_bias:
            self.params["bias"] = np.zeros(self.filters, dtype=dtype)

    def forward(self, x, training=False):
        self.check_input(x)
        self.inputs = x
        xp = F.pad_nhwc(x, self.pads)
        self.padded_shape = xp.shape
        rows = x.shape[0] * self.output_shape[0] * self.output_shape[1]
        columns = self.kernel_size[0] * self.kernel_size[1] * x.shape[3] + self.use_bias  # + the ones of the bias
        self._cols_buffer = reuse(self._cols_buffer, (rows, columns), x.dtype, F.im2col_order(x.shape[3]))
        a, self.cols = F.conv2d_forward(
            xp, self.params["kernel"], self.params.get("bias"), self.strides, self.output_shape[:2], self._cols_buffer
        )
        return self.activate(a)

    def backward_from_delta(self, delta, need_input_grad=True):
        self.delta = delta
        parts = None
        if need_input_grad:
            shape = F.parts_shape(self.params["kernel"].shape, len(delta), self.output_shape[:2])
            parts = self._parts_buffer = reuse(self._parts_buffer, shape, delta.dtype)
        dxp, dw, db = F.conv2d_backward(
            delta, self.cols, self.params["kernel"], self.padded_shape, self.strides, need_input_grad, parts
        )
        self.grads = {"kernel": dw}
        if self.use_bias:
            self.grads["bias"] = db
        return None if dxp is None else F.crop_padding(dxp, self.pads)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "activation": self.activation,
                "use_bias": self.use_bias}

    def describe(self):
        kh, kw = self.kernel_size
        return f"Conv2D {self.filters} {kh}x{kw} {self.activation}"


class _Pooling2D(Layer):
    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", **kwargs):
        super().__init__(**kwargs)
        kind = type(self).__name__
        self.pool_size = F.pair(pool_size, f"{kind} pool_size")
        self.strides = self.pool_size if strides is None else F.pair(strides, f"{kind} strides")
        self.padding = F.check_padding(padding, f"{kind} padding")
        if isinstance(self.padding, int) and self.padding >= min(self.pool_size):
            raise ValueError(f"{kind}: padding {self.padding} must be smaller than the pool {self.pool_size}, "
                             "or some windows would hold only padding")

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"layer {self.name}: {type(self).__name__} needs input (H, W, C), got {input_shape}")
        self.pads, out_hw = F.window_geometry(input_shape[:2], self.pool_size, self.strides, self.padding)
        if min(out_hw) < 1:
            padded = tuple(n + sum(p) for n, p in zip(input_shape[:2], self.pads))
            raise ValueError(f"layer {self.name}: pool {self.pool_size} is larger than its padded input {padded}")
        return (*out_hw, input_shape[2])

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding}

    def describe(self):
        ph, pw = self.pool_size
        return f"{type(self).__name__[:-2]} {ph}x{pw}"


class MaxPooling2D(_Pooling2D):
    """Max pooling. x: (N, H, W, C) -> (N, Ho, Wo, C); ``switches`` holds each window's argmax."""

    type_name = "max_pooling2d"
    _padded = _switches = None

    def forward(self, x, training=False):
        self.check_input(x)
        self.inputs = x
        xp = F.pad_nhwc(x, self.pads, value=-np.inf)
        self.padded_shape = xp.shape
        self.z = F.maxpool(xp, self.pool_size, self.strides, self.output_shape[:2])
        self._padded, self._switches = xp, None
        return self.z

    @property
    def switches(self):
        """(N, Ho, Wo, C): index (row * pw + col) of the cell that won each window of the last
        forward. Found when first asked (backward, the trace), so predict does not pay for it."""
        if self._switches is None and self._padded is not None:
            self._switches = F.maxpool_switches(self._padded, self.z, self.pool_size, self.strides)
        return self._switches

    def backward(self, dz, need_input_grad=True):
        self.dz = self.delta = dz
        if not need_input_grad:
            return None
        dxp = F.maxpool_backward(dz, self.switches, self.padded_shape, self.pool_size, self.strides)
        return F.crop_padding(dxp, self.pads)


class AveragePooling2D(_Pooling2D):
    """Average pooling over the real cells of each window. x: (N, H, W, C) -> (N, Ho, Wo, C)."""

    type_name = "average_pooling2d"

    def compute_output_shape(self, input_shape):
        shape = super().compute_output_shape(input_shape)
        self.counts = F.avgpool_counts(input_shape[:2], self.pool_size, self.strides, self.pads, shape[:2])
        return shape

    def forward(self, x, training=False):
        self.check_input(x)
        self.inputs = x
        xp = F.pad_nhwc(x, self.pads)
        self.padded_shape = xp.shape
        self.z = F.avgpool_forward(xp, self.counts, self.pool_size, self.strides, self.output_shape[:2])
        return self.z

    def backward(self, dz, need_input_grad=True):
        self.dz = self.delta = dz
        if not need_input_grad:
            return None
        dxp = F.avgpool_backward(dz, self.counts, self.padded_shape, self.pool_size, self.strides)
        return F.crop_padding(dxp, self.pads)


class Flatten(Layer):
    """(N, H, W, C) -> (N, H*W*C) in NHWC (row-major) order."""

    type_name = "flatten"

    def compute_output_shape(self, input_shape):
        return (int(np.prod(input_shape)),)

    def forward(self, x, training=False):
        self.check_input(x)
        self.inputs = x
        self.z = x.reshape(x.shape[0], -1)
        return self.z

    def backward(self, dz, need_input_grad=True):
        self.dz = self.delta = dz
        return dz.reshape(self.inputs.shape) if need_input_grad else None


class Dense(ActivationMixin, Layer):
    """Fully connected. x: (N, n_in) -> (N, units); kernel (n_in, units)."""

    type_name = "dense"

    def __init__(self, units: int, activation=None, use_bias: bool = True, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"Dense: units must be a positive int, got {units!r}")
        self.units = int(units)
        self.activation = F.check_activation(activation, "Dense")
        self.use_bias = bool(use_bias)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 1:
            raise ValueError(
                f"layer {self.name}: Dense needs a flat input (n,), got {input_shape}; add Flatten() before it"
            )
        return (self.units,)

    def init_params(self, rng, dtype):
        n_in = self.input_shape[0]
        self.params = {"kernel": glorot_uniform(rng, (n_in, self.units), n_in, self.units, dtype)}
        if self.use_bias:
            self.params["bias"] = np.zeros(self.units, dtype=dtype)

    def forward(self, x, training=False):
        self.check_input(x)
        self.inputs = x
        a = x @ self.params["kernel"]
        if self.use_bias:
            a += self.params["bias"]
        return self.activate(a)

    def backward_from_delta(self, delta, need_input_grad=True):
        self.delta = delta
        self.grads = {"kernel": self.inputs.T @ delta}
        if self.use_bias:
            self.grads["bias"] = delta.sum(axis=0)
        return delta @ self.params["kernel"].T if need_input_grad else None

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation,
                "use_bias": self.use_bias}

    def describe(self):
        return f"Dense {self.units} {self.activation}"


class Dropout(Layer):
    """Inverted dropout: while training, zero a fraction ``rate`` and scale the rest by 1/(1-rate)."""

    type_name = "dropout"

    def __init__(self, rate: float, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.mask = None

    def forward(self, x, training=False):
        self.check_input(x)
        self.inputs = x
        if training and self.rate > 0:
            keep = self.rng.random(x.shape) >= self.rate
            self.mask = keep.astype(x.dtype) / x.dtype.type(1 - self.rate)
            self.z = x * self.mask
        else:
            self.mask = None
            self.z = x
        return self.z

    def backward(self, dz, need_input_grad=True):
        self.dz = self.delta = dz
        if not need_input_grad:
            return None
        return dz if self.mask is None else dz * self.mask

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}

    def describe(self):
        return f"Dropout {self.rate:g}"


class Activation(ActivationMixin, Layer):
    """A standalone activation: z = h(x)."""

    type_name = "activation"

    def __init__(self, activation: str, **kwargs):
        super().__init__(**kwargs)
        self.activation = F.check_activation(activation, "Activation")

    def forward(self, x, training=False):
        self.check_input(x)
        self.inputs = x
        return self.activate(x)

    def backward_from_delta(self, delta, need_input_grad=True):
        self.delta = delta
        return delta

    def get_config(self):
        return {**super().get_config(), "activation": self.activation}

    def describe(self):
        return f"Activation {self.activation}"


class GlobalAveragePooling2D(Layer):
    """The mean of each channel over all cells. x: (N, H, W, C) -> (N, C)."""

    type_name = "global_average_pooling2d"

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"layer {self.name}: GlobalAveragePooling2D needs input (H, W, C), got {input_shape}")
        return (input_shape[2],)

    def forward(self, x, training=False):
        self.check_input(x)
        self.inputs = x
        self.z = x.mean(axis=(1, 2))
        return self.z

    def backward(self, dz, need_input_grad=True):
        """Every cell of a channel gets dE/dz[c] / (H·W)."""
        self.dz = self.delta = dz
        if not need_input_grad:
            return None
        h, w = self.input_shape[:2]
        return np.broadcast_to((dz / dz.dtype.type(h * w))[:, None, None, :], self.inputs.shape).copy()

    def describe(self):
        return "GlobalAvgPool"


class BatchNormalization(Layer):
    """Normalizes each channel (the last axis) with Keras' semantics:

        x̂ = (x − μ) / √(σ² + ε);   z = γ·x̂ + β

    Training uses the batch's own μ and σ² (over every axis but the last: N, and H and W for
    images) and moves the moving statistics towards them,
    ``moving = momentum·moving + (1 − momentum)·batch``; inference uses the moving statistics.
    x: (N, ..., C) -> the same shape. params ``gamma``, ``beta`` (C,) (without ``scale`` /
    ``center``, γ = 1 / β = 0 and they are not variables); state ``moving_mean``,
    ``moving_variance`` (C,). Forward keeps ``mean``, ``variance`` (the statistics used),
    ``x_hat`` and ``batch_statistics`` (whether they were the batch's).
    """

    type_name = "batch_normalization"

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, **kwargs):
        super().__init__(**kwargs)
        if axis not in (-1, 3) or isinstance(axis, bool):
            raise ValueError(f"BatchNormalization: only the channel axis (axis=-1) is supported, got {axis!r}")
        for label, value, low, high in (("momentum", momentum, 0.0, 1.0), ("epsilon", epsilon, 0.0, math.inf)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value < high \
                    or (label == "epsilon" and value == 0):
                raise ValueError(f"BatchNormalization: {label} must be a number in "
                                 f"{'[0, 1)' if label == 'momentum' else '(0, ∞)'}, got {value!r}")
        for label, value in (("center", center), ("scale", scale)):
            if not isinstance(value, bool):
                raise ValueError(f"BatchNormalization: {label} must be true or false, got {value!r}")
        self.axis = -1
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.center, self.scale = center, scale
        self.mean = self.variance = self.x_hat = None
        self.batch_statistics = False

    def init_params(self, rng, dtype):
        channels = self.input_shape[-1]
        self.params = {}
        if self.scale:
            self.params["gamma"] = np.ones(channels, dtype)
        if self.center:
            self.params["beta"] = np.zeros(channels, dtype)
        self.state = {"moving_mean": np.zeros(channels, dtype), "moving_variance": np.ones(channels, dtype)}

    def forward(self, x, training=False):
        self.check_input(x)
        self.inputs = x
        axes = tuple(range(x.ndim - 1))
        self.batch_statistics = bool(training)
        if training:
            self.mean, self.variance = x.mean(axis=axes), x.var(axis=axes)
            keep = x.dtype.type(self.momentum)
            for key, batch in (("moving_mean", self.mean), ("moving_variance", self.variance)):
                self.state[key][...] = keep * self.state[key] + (1 - keep) * batch
        else:
            self.mean, self.variance = self.state["moving_mean"].copy(), self.state["moving_variance"].copy()
        self.inv_std = 1 / np.sqrt(self.variance + x.dtype.type(self.epsilon))
        self.x_hat = (x - self.mean) * self.inv_std
        self.z = self.x_hat * self.params["gamma"] if self.scale else self.x_hat.copy()
        if self.center:
            self.z += self.params["beta"]
        return self.z

    def backward(self, dz, need_input_grad=True):
        """With batch statistics the gradient also flows through μ and σ² (each depends on
        every cell of the channel); with moving statistics they are constants."""
        self.dz = self.delta = dz
        axes = tuple(range(dz.ndim - 1))
        self.grads = {}
        if self.scale:
            self.grads["gamma"] = (dz * self.x_hat).sum(axis=axes)
        if self.center:
            self.grads["beta"] = dz.sum(axis=axes)
        if not need_input_grad:
            return None
        dx_hat = dz * self.params["gamma"] if self.scale else dz
        if not self.batch_statistics:
            return dx_hat * self.inv_std
        count = dz.size // dz.shape[-1]
        return self.inv_std / count * (count * dx_hat - dx_hat.sum(axis=axes)
                                       - self.x_hat * (dx_hat * self.x_hat).sum(axis=axes))

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale}

    def describe(self):
        return "BatchNorm"


def layer_from_config(class_name: str, config: dict) -> Layer:
    """Inverse of ``{"class_name": type(layer).__name__, "config": layer.get_config()}``."""
    if class_name not in LAYER_TYPES:
        raise ValueError(f"unknown layer type {class_name!r}; expected one of {sorted(LAYER_TYPES)}")
    try:
        return LAYER_TYPES[class_name](**config)
    except TypeError as error:
        raise ValueError(f"bad configuration for {class_name}: {error}") from None


__all__ = ["Input", "Layer", *LAYER_TYPES]
