"""Optimizers with one interface and per-parameter state.

``compute(param, grad, state)`` is pure: it returns the step to add to the parameter and
the new state, so the step-by-step trace can show an update (W, gradient, state before
and after, step, W') without applying it. ``apply(layers)`` does it for real.

Every optimizer takes ``weight_decay`` (L2: ``weight_decay * W`` is added to kernel
gradients) and ``lr_decay`` (the learning rate of epoch e is ``learning_rate * lr_decay**e``).
"""
from __future__ import annotations

import inspect

import numpy as np


class Optimizer:
    name = "optimizer"

    def __init__(self, learning_rate: float = 0.01, weight_decay: float = 0.0, lr_decay: float = 1.0):
        for label, value, low in (("learning_rate", learning_rate, 0), ("weight_decay", weight_decay, 0),
                                  ("lr_decay", lr_decay, 0)):
            if not isinstance(value, (int, float)) or not np.isfinite(value) or value < low:
                raise ValueError(f"{type(self).__name__}: {label} must be a finite number >= {low}, got {value!r}")
        self.learning_rate = float(learning_rate)
        self.weight_decay = float(weight_decay)
        self.lr_decay = float(lr_decay)
        self.epoch = 0  # set by Sequential.fit: drives the decay schedule
        self.states: dict[tuple[str, str], dict[str, np.ndarray]] = {}

    @property
    def current_learning_rate(self) -> float:
        return self.learning_rate * self.lr_decay ** self.epoch

    def gradient(self, key: str, param: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """The gradient the update uses: with L2 weight decay on kernels."""
        if self.weight_decay and key == "kernel":
            return grad + self.weight_decay * param
        return grad

    def initial_state(self, param) -> dict:
        """The state of a parameter before its first update (what ``compute`` starts from)."""
        return {}

    def compute(self, param, grad, state: dict) -> tuple[np.ndarray, dict]:
        """Pure update rule: (step to add to param, new state). ``state`` is not modified;
        an empty one means ``initial_state(param)``."""
        raise NotImplementedError

    def preview(self, layer, key: str) -> dict:
        """Everything one update of ``layer.params[key]`` would do, without doing it."""
        param = layer.params[key]
        grad = self.gradient(key, param, layer.grads[key])
        state = self.states.get((layer.name, key)) or self.initial_state(param)
        step, new_state = self.compute(param, grad, state)
        return {"param": param, "grad": grad, "learning_rate": self.current_learning_rate,
                "state_before": state, "state_after": new_state, "step": step, "param_after": param + step}

    def apply(self, layers) -> None:
        """One step on every trainable parameter that has a gradient."""
        for layer in layers:
            if not layer.trainable:
                continue
            for key, param in layer.params.items():
                if key not in layer.grads:
                    continue
                grad = self.gradient(key, param, layer.grads[key])
                step, self.states[(layer.name, key)] = self.compute(param, grad, self.states.get((layer.name, key), {}))
                param += step

    def reset(self) -> None:
        self.states.clear()
        self.epoch = 0

    def get_config(self) -> dict:
        return {"name": self.name, "learning_rate": self.learning_rate, "weight_decay": self.weight_decay,
                "lr_decay": self.lr_decay}


class SGD(Optimizer):
    """v <- momentum * v - lr * g;  W <- W + v  (Nesterov: W <- W + momentum * v - lr * g)."""

    name = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        if not isinstance(momentum, (int, float)) or not 0 <= momentum < 1:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {momentum!r}")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def initial_state(self, param):
        return {"velocity": np.zeros_like(param)} if self.momentum else {}

    def compute(self, param, grad, state):
        lr = self.current_learning_rate
        if not self.momentum:
            return -lr * grad, {}
        velocity = self.momentum * (state or self.initial_state(param))["velocity"] - lr * grad
        step = self.momentum * velocity - lr * grad if self.nesterov else velocity
        return step, {"velocity": velocity}

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adagrad(Optimizer):
    """acc <- acc + g^2;  W <- W - lr * g / (sqrt(acc) + eps)  (Keras defaults)."""

    name = "adagrad"

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.epsilon = float(epsilon)

    def initial_state(self, param):
        return {"accumulator": np.full_like(param, self.initial_accumulator_value)}

    def compute(self, param, grad, state):
        accumulator = (state or self.initial_state(param))["accumulator"] + grad * grad
        step = -self.current_learning_rate * grad / (np.sqrt(accumulator) + self.epsilon)
        return step, {"accumulator": accumulator}

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """g2 <- rho * g2 + (1 - rho) * g^2;  d = -sqrt(d2 + eps) / sqrt(g2 + eps) * g;
    d2 <- rho * d2 + (1 - rho) * d^2;  W <- W + lr * d  (Keras 3; its default learning rate is 0.001)."""

    name = "adadelta"

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho = float(rho)
        self.epsilon = float(epsilon)

    def compute(self, param, grad, state):
        rho, eps = self.rho, self.epsilon
        mean_square = rho * state.get("mean_square", np.zeros_like(param)) + (1 - rho) * grad * grad
        delta = -np.sqrt(state.get("mean_square_step", np.zeros_like(param)) + eps) / np.sqrt(mean_square + eps) * grad
        mean_square_step = rho * state.get("mean_square_step", np.zeros_like(param)) + (1 - rho) * delta * delta
        step = (self.current_learning_rate * delta).astype(param.dtype)
        return step, {"mean_square": mean_square, "mean_square_step": mean_square_step}

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class RMSprop(Optimizer):
    """s <- rho * s + (1 - rho) * g^2;  W <- W - lr * g / (sqrt(s) + eps)."""

    name = "rmsprop"

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho = float(rho)
        self.epsilon = float(epsilon)

    def initial_state(self, param):
        return {"mean_square": np.zeros_like(param)}

    def compute(self, param, grad, state):
        mean_square = self.rho * (state or self.initial_state(param))["mean_square"] + (1 - self.rho) * grad * grad
        step = -self.current_learning_rate * grad / (np.sqrt(mean_square) + self.epsilon)
        return step, {"mean_square": mean_square}

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adam(Optimizer):
    """m, v: moving averages of g and g^2 with bias correction (Kingma & Ba)."""

    name = "adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def initial_state(self, param):
        return {"m": np.zeros_like(param), "v": np.zeros_like(param), "t": 0}

    def compute(self, param, grad, state):
        state = state or self.initial_state(param)
        t = int(state["t"]) + 1
        m = self.beta_1 * state["m"] + (1 - self.beta_1) * grad
        v = self.beta_2 * state["v"] + (1 - self.beta_2) * grad * grad
        m_hat = m / (1 - self.beta_1 ** t)
        v_hat = v / (1 - self.beta_2 ** t)
        step = (-self.current_learning_rate * m_hat / (np.sqrt(v_hat) + self.epsilon)).astype(param.dtype)
        return step, {"m": m, "v": v, "t": t}

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


OPTIMIZERS = {cls.name: cls for cls in (SGD, Adagrad, Adadelta, RMSprop, Adam)}


def get_optimizer(spec) -> Optimizer:
    """An optimizer from a name ('sgd', 'adam', ...), a config dict, or an instance."""
    if isinstance(spec, Optimizer):
        return spec
    if isinstance(spec, dict):
        config = dict(spec)
        name = config.pop("name", None)
    else:
        name, config = spec, {}
    key = name.lower() if isinstance(name, str) else name
    if key not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; expected one of {sorted(OPTIMIZERS)}")
    known = {"learning_rate", "weight_decay", "lr_decay"} | {
        parameter for kind in OPTIMIZERS[key].__mro__ if kind is not object
        for parameter in inspect.signature(kind.__init__).parameters} - {"self", "kwargs"}
    unknown = sorted(map(str, set(config) - known))
    if unknown:
        raise ValueError(f"bad settings for optimizer {name!r}: it has no setting {unknown[0]!r}; its settings "
                         f"are {sorted(known)}")
    try:
        return OPTIMIZERS[key](**config)
    except TypeError as error:
        raise ValueError(f"bad settings for optimizer {name!r}: {error}") from None
