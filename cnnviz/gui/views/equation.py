"""The equation panel: the step's title, formula and explanation, then the current frame's own numbers."""
from __future__ import annotations

from html import escape

import numpy as np
from PyQt5.QtWidgets import QTextBrowser

from .common import fmt

MAX_TERMS = 9      # terms of a long sum written out; the rest are summed into one term
TERMS_PER_LINE = 5
MAX_CHANNELS = 3   # channels of a window written out term by term; the others only as channel sums


def bold(value) -> str:
    return f"<b>{fmt(value)}</b>"


def cell(index) -> str:
    return "(" + ", ".join(str(int(v)) for v in np.atleast_1d(index)) + ")"


def numbers(values, limit=None) -> str:
    values = np.ravel(values)
    shown = ", ".join(fmt(v) for v in values[:limit])
    return shown + (" …" if limit is not None and values.size > limit else "")


def terms(left, right, order=None) -> str:
    """'(l₀·r₀) + (l₁·r₁) + …' and below it '= p₀ + p₁ + …' (the products), for the first MAX_TERMS
    pairs in ``order``; the rest are summed into one term. Lines hold TERMS_PER_LINE terms (Qt would
    otherwise break lines after a decimal point)."""
    left, right = np.ravel(left), np.ravel(right)
    order = np.arange(left.size) if order is None else np.ravel(order)
    shown, rest = order[:MAX_TERMS], order[MAX_TERMS:]
    factors = [f"({fmt(left[k])}·{signed_factor(right[k])})" for k in shown]
    products = [left[k] * right[k] for k in shown]
    if rest.size:
        factors.append(f"… {rest.size} more")
        products.append(np.sum(left[rest] * right[rest]))
    products = signed_terms(products)
    if rest.size:
        products[-1] += f" (the other {rest.size})"
    return f"{lines(factors)}<br>= {lines(products, joiner=' ')}"


def signed_factor(value) -> str:
    """A right-hand factor in brackets when negative: 0.3·(-0.2), never 0.3·-0.2."""
    text = fmt(value)
    return f"({text})" if text.startswith("-") else text


def signed_terms(values) -> list[str]:
    """The terms of a sum, each after the first with its own sign: '0.5', '− 0.2', '+ 0.1'
    (never '+ -0.2'); join them with spaces."""
    texts = [fmt(v) for v in values]
    return texts[:1] + [f"− {t[1:]}" if t.startswith("-") else f"+ {t}" for t in texts[1:]]


def signed_sum(values) -> str:
    """'0.5 − 0.2 + 0.1': the terms of ``signed_terms`` on one line."""
    return " ".join(signed_terms(values))


def lines(items, joiner=" + ") -> str:
    """Items joined by ``joiner``, TERMS_PER_LINE to a line (the joiner ends a broken line)."""
    chunks = [joiner.join(items[k:k + TERMS_PER_LINE]) for k in range(0, len(items), TERMS_PER_LINE)]
    return f"{joiner.rstrip()}<br>".join(chunks)


def largest_first(products) -> np.ndarray:
    return np.argsort(-np.abs(np.ravel(products)), kind="stable")


def row(label: str, text: str) -> str:
    return f"<tr><td><b>{escape(label)}</b></td><td>{text}</td></tr>"


def activation_row(frame) -> str:
    name = frame["activation"] or "identity"
    return row("z = h(a)", f"{name}({fmt(frame['a'])}) = {bold(frame['z'])}")


def neuron_row(frame) -> str:
    """sum, bias, a and z of one output cell or neuron on one line."""
    name = frame["activation"] or "identity"
    if name == "softmax":
        z = f"e^aⱼ / Σₖ e^aₖ = {bold(frame['z'])}"
    else:
        z = f"{name}({fmt(frame['a'])}) = {bold(frame['z'])}"
    return row("a = sum + b;  z = h(a)", f"a = {signed_sum([frame['sum'], frame['bias']])} = {bold(frame['a'])};"
                                        f"&nbsp;&nbsp; z = {z}")


def channel_rows(frame, label, left_key, right_key) -> list[str]:
    """A window over several channels: each of the first channels term by term, the rest as sums."""
    channels = frame[left_key].shape[-1]
    rows = [row(f"{label}, channel {c}", f"{terms(frame[left_key][..., c], frame[right_key][..., c])}"
                                         f" = {fmt(frame['channel_sums'][c])}")
            for c in range(min(channels, MAX_CHANNELS))]
    if channels > MAX_CHANNELS:
        rest = frame["channel_sums"][MAX_CHANNELS:]
        rows.append(row(f"channels {MAX_CHANNELS}…{channels - 1}",
                        f"{signed_sum(rest[:MAX_TERMS])}{' + …' if rest.size > MAX_TERMS else ''}"
                        f" = {fmt(rest.sum())}"))
    return rows


def previous_delta(frame: dict, gradient) -> list[str]:
    """The previous layer's delta from the input gradient just computed (scalar frames only)."""
    if frame.get("prev_delta") is None or np.ndim(frame["prev_delta"]) != 0:
        return []
    return [row(f"δ of {frame['prev_layer']}",
                f"{frame['prev_activation']}′(a) · ∂E/∂z = {fmt(frame['prev_h_prime'])} × {fmt(gradient)}"
                f" = {bold(frame['prev_delta'])}")]


# ---------------------------------------------------------------------- forward
def conv_forward(f):
    i, j, c_out = f["out_index"]
    where = (f"output (row {i}, col {j}) of channel {c_out}; window rows {f['rows'][0]}…{f['rows'][-1]}, "
             f"cols {f['cols'][0]}…{f['cols'][-1]}")
    if f["padding_mask"].any():
        where += " (grey cells are padding = 0)"
    return [row("cell", where), *channel_rows(f, "Σ w·x", "kernel", "patch"), neuron_row(f)]


def maxpool_forward(f):
    i, j, c = f["out_index"]
    return [row("window", f"channel {c}, output (row {i}, col {j}): max({numbers(f['window'])})"),
            row("winner", f"cell {cell(f['winner'])} of the window = input {cell(f['winner_input'])}"),
            row("z", bold(f["z"]))]


def avgpool_forward(f):
    i, j, c = f["out_index"]
    values = signed_sum(np.ravel(f["window"]))
    return [row("window", f"channel {c}, output (row {i}, col {j})"),
            row("sum / count", f"({values}) / {f['count']} = {fmt(f['sum'])} / {f['count']} = {bold(f['z'])}")]


def dense_forward(f):
    return [row("neuron", str(f["position"][0])),
            row("Σ w·x (largest first)", f"{terms(f['weights'], f['inputs'], f['order'])} = {fmt(f['sum'])}"),
            neuron_row(f)]


def flatten_forward(f):
    return [row("copy", f"x{cell(f['in_index'])} → z[{f['out_index']}] = {bold(f['value'])}")]


def dropout_forward(f):
    return [row("pass", f"x{cell(f['in_index'])} = {fmt(f['value'])} → z = {bold(f['z'])} "
                        f"(rate {f['rate']}: dropout drops units only while training)")]


def activation_forward(f):
    return [activation_row(f)]


def loss(f):
    p, label = f["probabilities"], f["label"]
    return [row("label / predicted", f"{label} / {f['predicted']}"),
            row("p", ", ".join(f"{k}: {fmt(v)}" for k, v in enumerate(p))),
            row("E = −Σ y log p", f"−log p[{label}] = −log {fmt(p[label])} = {bold(f['loss'])}"),
            row("δ = p − y" if f["fused"] else "δ = h′ · ∂E/∂z",
                ", ".join(f"{k}: {fmt(d)}" for k, d in enumerate(f["delta"])))]


# ---------------------------------------------------------------------- backward
def conv_backward_weight(f):
    m, n, c, c_out = f["weight_index"]
    rows = [row("weight", f"w[{m},{n},{c},{c_out}]: δ map of channel {c_out} times the input channel {c} "
                          "cells this weight touched"),
            row("Σ δ·x (largest first)", terms(f["delta_map"], f["window"], largest_first(f["products"]))),
            row("∂E/∂w", bold(f["grad"]))]
    if f.get("bias_grad") is not None:
        rows.append(row(f"∂E/∂b[{c_out}] = Σ δ", fmt(f["bias_grad"])))
    return rows


def conv_backward_input(f):
    i, j, c = f["in_index"]
    return [row("input cell", f"(row {i}, col {j}) of channel {c}: flipped kernel over the δ maps"),
            *channel_rows(f, "Σ w·δ", "kernel", "deltas"), row("∂E/∂z", bold(f["sum"])),
            *previous_delta(f, f["sum"])]


def pool_backward(f):
    i, j, c = f["out_index"]
    if f["kind"] == "maxpool_backward":
        routed = f"all of δ to the winner {cell(f['winner'])}; 0 to the other cells"
    else:
        routed = f"δ / {f['count']} = {fmt(f['delta'] / f['count'])} to every real cell"
    return [row("window", f"channel {c}, output (row {i}, col {j}): δ = {fmt(f['delta'])}"),
            row("routed", routed), row("∂E/∂x of the window", numbers(f["input_grad"]))]


def dense_backward(f):
    i = f["position"][0]
    return [row("input", f"{i} (value x = {fmt(f['input'])})"),
            row("Σ W·δ", f"{terms(f['weights'], f['deltas'])} = {bold(f['sum'])}"),
            row(f"∂E/∂W[{i},:] = x·δ", numbers(f["weight_grads"], MAX_TERMS)),
            *previous_delta(f, f["sum"])]


def flatten_backward(f):
    return [row("pass back", f"∂E/∂z[{f['out_index']}] = {fmt(f['output_grad'])} → "
                             f"∂E/∂x{cell(f['in_index'])} = {bold(f['input_grad'])}"),
            *previous_delta(f, f["input_grad"])]


def dropout_backward(f):
    return [row("pass back", f"∂E/∂z = {fmt(f['output_grad'])} → ∂E/∂x{cell(f['in_index'])} = "
                             f"{bold(f['input_grad'])}"),
            *previous_delta(f, f["input_grad"])]


def activation_backward(f):
    return [row("δ = h′(a) · g", f"{fmt(f['h_prime'])} × {fmt(f['output_grad'])} = {bold(f['delta'])}"),
            *previous_delta(f, f["delta"])]


# ---------------------------------------------------------------------- update
def update(f):
    index = ", ".join(str(int(v)) for v in np.atleast_1d(f["param_index"]))
    rows = [row("weight", f"{f['layer']}/{f['param_key']}[{index}] "
                          f"({f['optimizer']}, η = {fmt(f['learning_rate'])})"),
            row("W", fmt(f["param"])), row("g = ∂E/∂W", fmt(f["grad"]))]
    if f.get("weight_decay"):
        rows.append(row("g + λW", fmt(f["effective_grad"])))
    for name, after in f["state_after"].items():  # optimizer state (momentum, moments...); new state starts at 0
        rows.append(row(name, f"{fmt(f['state_before'].get(name, 0))} → {fmt(after)}"))
    return rows + [row("change", fmt(f["change"])),
                   row("W′ = W + change",
                       f"{signed_sum([f['param'], f['change']])} = {bold(f['param_after'])}")]


LINES = {
    "conv_forward": conv_forward, "maxpool_forward": maxpool_forward, "avgpool_forward": avgpool_forward,
    "dense_forward": dense_forward, "flatten_forward": flatten_forward, "dropout_forward": dropout_forward,
    "activation_forward": activation_forward, "loss": loss, "conv_backward_weight": conv_backward_weight,
    "conv_backward_input": conv_backward_input, "maxpool_backward": pool_backward, "avgpool_backward": pool_backward,
    "dense_backward": dense_backward, "flatten_backward": flatten_backward, "dropout_backward": dropout_backward,
    "activation_backward": activation_backward, "update": update,
}


def frame_html(step, frame: dict) -> str:
    head = (f"<h3 style='margin:0'>{escape(step.title)}</h3>"
            f"<p style='margin:2px 0'><span style='font-family:monospace'>{escape(step.formula)}</span></p>"
            f"<p style='margin:2px 0; color:#555'>{escape(step.explanation)}</p>")
    return head + "<table cellspacing='2' cellpadding='1'>" + "".join(LINES[frame["kind"]](frame)) + "</table>"


class EquationPanel(QTextBrowser):
    """Read-only rich text of the current step and frame."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("equation")
        self.setOpenLinks(False)

    def show_frame(self, step, frame: dict) -> None:
        self.setHtml(frame_html(step, frame))
