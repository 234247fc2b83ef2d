"""The equation panel: the step's title, formula and explanation, then the current frame's own numbers.

Rows only format fields of the frame (``cnnviz.engine.frames``): every number written here is a
field, or an element of one; nothing is multiplied or summed here. Which rows a frame gets is
said by the GUI's table of frame kinds (``cnnviz.gui.frame_kinds``).
"""
from __future__ import annotations

from html import escape

import numpy as np
from PyQt5.QtWidgets import QTextBrowser

from .common import fmt

MAX_TERMS = 9      # terms of a long sum written out; the rest are summed into one term (frame.tail_sums)
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


def terms(sum_terms) -> str:
    """'(l₀·r₀) + (l₁·r₁) + …' and below it '= p₀ + p₁ + …' (the products), largest first, for
    the first MAX_TERMS; the others as one term, their sum from ``tail_sums``. Lines hold
    TERMS_PER_LINE terms (Qt would otherwise break lines after a decimal point)."""
    shown = sum_terms.order[:MAX_TERMS]
    left = sum_terms.tail_counts[shown.size]
    factors = [f"({fmt(sum_terms.left[k])}·{signed_factor(sum_terms.right[k])})" for k in shown]
    products = signed_terms([sum_terms.products[k] for k in shown] + ([sum_terms.tail_sums[MAX_TERMS]] if left else []))
    if left:
        factors.append(f"… {left} more")
        products[-1] += f" (the other {left})"
    return f"{lines(factors)}<br>= {lines(products, joiner=' ')}"


def folded(values, limit: int = MAX_TERMS, start: int = 0) -> str:
    """'v + v − v … (the other k)' of a Folded sum (engine.frames.Folded): values[start:] with the
    first ``limit`` written out and the rest as one term, their sum from ``tail_sums``."""
    shown = list(values.values[start:start + limit])
    left = values.tail_counts[start + len(shown)]
    texts = signed_terms(shown + ([values.tail_sums[start + limit]] if left else []))
    if left:
        texts[-1] += f" (the other {left})"
    return lines(texts, joiner=" ")


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


def row(label: str, text: str) -> str:
    return f"<tr><td><b>{escape(label)}</b></td><td>{text}</td></tr>"


def neuron_row(frame) -> str:
    """sum, bias, a and z of one output cell or neuron on one line."""
    name = frame.activation or "identity"
    if name == "softmax":
        z = f"e^aⱼ / Σₖ e^aₖ = {bold(frame.z)}"
    else:
        z = f"{name}({fmt(frame.a)}) = {bold(frame.z)}"
    return row("a = sum + b;  z = h(a)", f"a = {signed_sum([frame.sum, frame.bias])} = {bold(frame.a)};"
                                        f"&nbsp;&nbsp; z = {z}")


def channel_rows(frame, label) -> list[str]:
    """A window over several channels: each of the first channels term by term, the rest as sums."""
    count = len(frame.channel_terms)
    rows = [row(f"{label}, channel {c}", f"{terms(frame.channel_terms[c])} = {fmt(frame.channel_terms[c].total)}")
            for c in range(min(count, MAX_CHANNELS))]
    if count > MAX_CHANNELS:
        rows.append(row(f"the other {frame.channels.tail_counts[MAX_CHANNELS]} channels",
                        f"{folded(frame.channels, start=MAX_CHANNELS)} = {fmt(frame.channels.tail_sums[MAX_CHANNELS])}"))
    return rows


def previous_delta(frame, gradient) -> list[str]:
    """The previous layer's delta from the input gradient just computed (one-cell frames only)."""
    prev = frame.previous
    if prev is None or np.ndim(prev.delta) != 0:
        return []
    return [row(f"δ of {prev.layer} = h′(a) · ∂E/∂z",
                f"{prev.activation}′(a) · ∂E/∂z = {fmt(prev.h_prime)} × {signed_factor(gradient)}"
                f" = {bold(prev.delta)}")]


# ---------------------------------------------------------------------- forward
def conv_forward(f):
    i, j, c_out = f.out_index
    w = f.window
    where = (f"output (row {i}, col {j}) of channel {c_out}; window rows {w.rows[0]}…{w.rows[-1]}, "
             f"cols {w.cols[0]}…{w.cols[-1]}")
    if w.padding_mask.any():
        where += " (grey cells are padding = 0)"
    return [neuron_row(f), row("cell", where), *channel_rows(f, "Σ w·z")]


def maxpool_forward(f):
    i, j, c = f.out_index
    return [row("z = max", f"max({numbers(f.values)}) = {bold(f.z)}"),
            row("window", f"channel {c}, output (row {i}, col {j})"),
            row("winner", f"cell {cell(f.winner)} of the window = input {cell(f.winner_input)}")]


def avgpool_forward(f):
    i, j, c = f.out_index
    return [row("window", f"channel {c}, output (row {i}, col {j})"),
            row("sum / count", f"({folded(f.terms)}) / {f.count} = {fmt(f.sum)} / {f.count} = {bold(f.z)}")]


def global_avgpool_forward(f):
    return [row("channel", f"{f.channel}: the mean of all {f.count} cells"),
            row("sum / count", f"({folded(f.terms)}) / {f.count} = {fmt(f.sum)} / {f.count} = {bold(f.z)}")]


def dense_forward(f):
    return [neuron_row(f), row("neuron", str(f.neuron)),
            row("Σ w·z (largest first)", f"{terms(f.terms)} = {fmt(f.sum)}")]


def flatten_forward(f):
    return [row("copy", f"z{cell(f.in_index)} → vector[{f.out_index}] = {bold(f.value)}")]


def dropout_forward(f):
    return [row("pass", f"z{cell(f.in_index)} = {fmt(f.value)} → {bold(f.z)} "
                        f"(rate {fmt(f.rate)}: dropout drops units only while training)")]


def activation_forward(f):
    return [row("z = h(a)", f"{f.activation}({fmt(f.a)}) = {bold(f.z)}")]


def batchnorm_forward(f):
    return [row("cell", f"{cell(f.in_index)}, channel {f.channel}: z = {fmt(f.x)}"),
            row(f"statistics ({f.statistics})", f"μ = {fmt(f.mean)}, σ² = {fmt(f.variance)}, ε = {fmt(f.epsilon)}, "
                                                f"√(σ² + ε) = {fmt(f.std)}"),
            row("x̂ = (z − μ) / √(σ² + ε)", f"{fmt(f.centred)} / {fmt(f.std)} = {fmt(f.x_hat)}"),
            row("γ·x̂ + β", f"{fmt(f.gamma)} · {signed_factor(f.x_hat)} + {signed_factor(f.beta)} = "
                           f"{signed_sum([f.scaled, f.beta])} = {bold(f.z)}")]


def loss(f):
    label = f.label
    output_name = "p" if f.activation == "softmax" else "z"
    if f.loss_name == "mean_squared_error":
        rows = [row("E = Σ (z − y)² / K", f"{folded(f.terms, f.terms.values.size)} = {bold(f.loss)}")]
    else:
        clip = f" (p clipped at {fmt(f.clip)}, as Keras does)" if f.clipped else ""
        rows = [row("E = −Σ y log p", f"−log {output_name}[{label}] = −({fmt(f.log_p_label)}) = "
                                      f"{bold(f.loss)}{clip}")]
    delta = "δ = p − y" if f.fused else ("δ = Jᵀ ∂E/∂z (softmax Jacobian)" if f.jacobian else "δ = h′(a) ⊙ ∂E/∂z")
    rows.append(row(delta, ", ".join(f"{k}: {fmt(d)}" for k, d in enumerate(f.delta))))
    rows += [row("label / predicted", f"{label} / {f.predicted}"),
             row(output_name, ", ".join(f"{k}: {fmt(v)}" for k, v in enumerate(f.outputs)))]
    if not f.fused:
        rows.append(row("∂E/∂z", ", ".join(f"{k}: {fmt(g)}" for k, g in enumerate(f.output_grad))))
    return rows


# ---------------------------------------------------------------------- backward
def conv_backward_weight(f):
    m, n, c, c_out = f.weight_index
    rows = [row(f"∂E/∂w[{m},{n},{c},{c_out}]", bold(f.grad))]
    if f.bias_grad is not None:
        rows.append(row(f"∂E/∂b[{c_out}] = Σ δ", fmt(f.bias_grad)))
    return rows + [row("weight", f"δ map of channel {c_out} times the input channel {c} cells this weight touched"),
                   row("Σ δ·z (largest first)", terms(f.terms))]


def conv_backward_input(f):
    i, j, c = f.in_index
    return [row("∂E/∂z", bold(f.sum)), *previous_delta(f, f.sum),
            row("input cell", f"(row {i}, col {j}) of channel {c}: flipped kernel over the δ maps"),
            *channel_rows(f, "Σ w·δ, δ channel")]


def pool_backward(f):
    i, j, c = f.out_index
    if f.winner is not None:
        routed = f"all of ∂E/∂z = {fmt(f.share)} to the winner {cell(f.winner)}; 0 to the other cells"
    else:
        routed = f"∂E/∂z / count = {fmt(f.delta)} / {f.count} = {fmt(f.share)} to every real cell"
    return [row("routed by this window", routed),
            row("window", f"channel {c}, output (row {i}, col {j}): ∂E/∂z = {fmt(f.delta)}"),
            row("∂E/∂z of these cells, all windows", numbers(f.input_grad))]


def global_avgpool_backward(f):
    return [row("channel", f"{f.channel}: ∂E/∂z = {fmt(f.output_grad)}"),
            row("to every cell", f"{fmt(f.output_grad)} / {f.count} = {bold(f.share)}")]


def dense_backward(f):
    i = f.in_index
    return [row(f"∂E/∂z[{i}]", bold(f.sum)), *previous_delta(f, f.sum),
            row("input", f"{i} (value z = {fmt(f.input)})"),
            row("Σ W·δ (largest first)", f"{terms(f.terms)} = {fmt(f.sum)}"),
            row(f"∂E/∂W[{i},:] = z·δ", numbers(f.weight_grads, MAX_TERMS))]


def flatten_backward(f):
    return [row("pass back", f"∂E/∂vector[{f.out_index[0]}] = {fmt(f.output_grad)} → "
                             f"∂E/∂z{cell(f.in_index)} = {bold(f.input_grad)}"),
            *previous_delta(f, f.input_grad)]


def dropout_backward(f):
    return [row("pass back", f"∂E/∂z = {fmt(f.output_grad)} → ∂E/∂z{cell(f.in_index)} of the input = "
                             f"{bold(f.input_grad)}"),
            *previous_delta(f, f.input_grad)]


def activation_backward(f):
    if f.h_prime is None:
        rows = [row("δ = Jᵀ ∂E/∂z", f"∂E/∂z = {fmt(f.output_grad)} → δ = {bold(f.delta)} (softmax Jacobian)")]
    else:
        rows = [row("δ = h′(a) · ∂E/∂z", f"{fmt(f.h_prime)} × {signed_factor(f.output_grad)} = {bold(f.delta)}")]
    return rows + previous_delta(f, f.delta)


def batchnorm_backward(f):
    rows = [row("cell", f"{cell(f.in_index)}, channel {f.channel} ({f.statistics} statistics)"),
            row("∂E/∂z of the input = γ·∂E/∂z / √(σ² + ε)",
                f"{fmt(f.gamma)} · {signed_factor(f.output_grad)} / {fmt(f.std)} = {bold(f.input_grad)}")]
    if f.gamma_grad is not None:
        rows.append(row(f"∂E/∂γ[{f.channel}] = Σ ∂E/∂z · x̂", fmt(f.gamma_grad)))
    if f.beta_grad is not None:
        rows.append(row(f"∂E/∂β[{f.channel}] = Σ ∂E/∂z", fmt(f.beta_grad)))
    return rows + previous_delta(f, f.input_grad)


# ---------------------------------------------------------------------- update
def update(f):
    index = ", ".join(str(int(v)) for v in np.atleast_1d(f.param_index))
    rows = [row("weight", f"{f.layer}/{f.param_key}[{index}] ({f.optimizer}, η = {fmt(f.learning_rate)})"),
            row("W", fmt(f.param)), row("∂E/∂W (backprop)", fmt(f.grad))]
    if f.weight_decay:
        rows += [row("λ·W (weight decay)", f"{fmt(f.weight_decay)} × {signed_factor(f.param)} = {fmt(f.decay_term)}"),
                 row("g = ∂E/∂W + λ·W", f"{signed_sum([f.grad, f.decay_term])} = {fmt(f.effective_grad)}")]
    else:
        rows.append(row("g = ∂E/∂W", fmt(f.effective_grad)))
    for name, after in f.state_after.items():  # optimizer state (momentum, moments...), from its initial value
        rows.append(row(name, f"{fmt(f.state_before[name])} → {fmt(after)}"))
    if f.plain_sgd:
        rows.append(row("change = −η·g", f"−{fmt(f.learning_rate)} × {signed_factor(f.effective_grad)} = "
                                         f"{fmt(f.change)}"))
    else:
        rows.append(row("change", fmt(f.change)))
    label = "W′ = W − η·g" if f.plain_sgd else "W′ = W + change"
    return [row(label, f"{signed_sum([f.param, f.change])} = {bold(f.param_after)}"), *rows]


def frame_html(step, frame, rows) -> str:
    head = (f"<h3 style='margin:0'>{escape(step.title)}</h3>"
            f"<p style='margin:2px 0'><span style='font-family:monospace'>{escape(step.formula)}</span></p>"
            f"<p style='margin:2px 0; color:#333'>{escape(step.explanation)}</p>")
    return head + "<table cellspacing='2' cellpadding='1'>" + "".join(rows(frame)) + "</table>"


class EquationPanel(QTextBrowser):
    """Read-only rich text of the current step and frame."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("equation")
        self.setOpenLinks(False)

    def show_frame(self, step, frame, rows) -> None:
        """rows: the frame kind's row function (from the GUI's table of frame kinds)."""
        self.setHtml(frame_html(step, frame, rows))
