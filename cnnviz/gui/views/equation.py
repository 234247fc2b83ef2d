"""The equation panel: the step's title, formula and explanation, then the current frame's own numbers."""
from __future__ import annotations

from html import escape

import numpy as np
from PyQt5.QtWidgets import QTextBrowser

from .common import fmt

MAX_TERMS = 9      # terms of a long sum written out; the rest are summed into one "… more" term
MAX_CHANNELS = 3   # channels of a conv window written out term by term


def _terms(left, right, order=None, limit=MAX_TERMS) -> str:
    """'(l₀·r₀) + (l₁·r₁) + …' then '= p₀ + p₁ + …' (the products), for the first ``limit`` pairs
    in ``order``, with the rest summed into one term."""
    left, right = np.ravel(left), np.ravel(right)
    order = np.arange(left.size) if order is None else np.ravel(order)
    shown = order[:limit]
    factors = " + ".join(f"({fmt(left[k])}·{fmt(right[k])})" for k in shown)
    products = " + ".join(fmt(left[k] * right[k]) for k in shown)
    if order.size > limit:
        rest = fmt(np.sum(left[order[limit:]] * right[order[limit:]]))
        factors += f" + … {order.size - limit} more"
        products += f" + {rest} (the other {order.size - limit})"
    return f"{factors}<br>= {products}"


def _largest(products):
    """Flat indices of ``products`` by |value|, largest first."""
    return np.argsort(-np.abs(np.ravel(products)), kind="stable")


def _line(label: str, text: str) -> str:
    return f"<tr><td><b>{escape(label)}</b></td><td>{text}</td></tr>"


def _prev_terms(frame: dict) -> list[str]:
    """The previous layer's delta from the input gradient just computed (scalar frames only)."""
    if frame.get("prev_delta") is None or np.ndim(frame["prev_delta"]) != 0:
        return []
    gradient = next(frame[key] for key in ("sum", "input_grad", "delta") if key in frame)
    return [_line(f"δ of {frame['prev_layer']}",
                  f"{frame['prev_activation']}′(a) · ∂E/∂z = {fmt(frame['prev_h_prime'])} × {fmt(gradient)}"
                  f" = <b>{fmt(frame['prev_delta'])}</b>")]


def frame_lines(frame: dict) -> list[str]:
    """Table rows with the numbers of one frame, by frame kind."""
    kind = frame["kind"]
    rows: list[str] = []
    if kind == "conv_forward":
        i, j, c_out = frame["out_index"]
        rows.append(_line("cell", f"output (row {i}, col {j}) of channel {c_out}; window rows "
                                  f"{frame['rows'][0]}…{frame['rows'][-1]}, cols {frame['cols'][0]}…{frame['cols'][-1]}"
                                  + (" (hatched cells are padding = 0)" if frame["padding_mask"].any() else "")))
        channels = frame["patch"].shape[-1]
        for c in range(min(channels, MAX_CHANNELS)):
            rows.append(_line(f"Σ w·x, channel {c}",
                              f"{_terms(frame['kernel'][..., c], frame['patch'][..., c])} = {fmt(frame['channel_sums'][c])}"))
        if channels > MAX_CHANNELS:
            rest = frame["channel_sums"][MAX_CHANNELS:]
            rows.append(_line(f"channels {MAX_CHANNELS}…{channels - 1}",
                              " + ".join(fmt(v) for v in rest[:MAX_TERMS]) + (" + …" if rest.size > MAX_TERMS else "")
                              + f" = {fmt(rest.sum())}"))
        rows.append(_line("sum", f"{fmt(frame['sum'])}"))
        rows.append(_line("a = sum + b", f"{fmt(frame['sum'])} + {fmt(frame['bias'])} = <b>{fmt(frame['a'])}</b>"))
        rows.append(_line("z = h(a)", f"{frame['activation'] or 'identity'}({fmt(frame['a'])}) = <b>{fmt(frame['z'])}</b>"))
    elif kind == "maxpool_forward":
        i, j, c = frame["out_index"]
        window = frame["window"]
        values = ", ".join(fmt(v) for v in window.ravel())
        m, n = frame["winner"]
        rows.append(_line("window", f"channel {c}, output (row {i}, col {j}): max({values})"))
        rows.append(_line("winner", f"cell ({m}, {n}) of the window = input {tuple(int(v) for v in frame['winner_input'])}"))
        rows.append(_line("z", f"<b>{fmt(frame['z'])}</b>"))
    elif kind == "avgpool_forward":
        i, j, c = frame["out_index"]
        rows.append(_line("window", f"channel {c}, output (row {i}, col {j})"))
        rows.append(_line("sum / count", f"({' + '.join(fmt(v) for v in frame['window'].ravel())}) / {frame['count']}"
                                         f" = {fmt(frame['sum'])} / {frame['count']} = <b>{fmt(frame['z'])}</b>"))
    elif kind == "dense_forward":
        (j,) = frame["position"]
        rows.append(_line("neuron", f"{j}"))
        rows.append(_line("Σ w·x (largest first)", f"{_terms(frame['weights'], frame['inputs'], frame['order'])} = {fmt(frame['sum'])}"))
        rows.append(_line("a = sum + b", f"{fmt(frame['sum'])} + {fmt(frame['bias'])} = <b>{fmt(frame['a'])}</b>"))
        if frame["activation"] == "softmax":
            rows.append(_line("z = softmax(a)ⱼ", f"e^aⱼ / Σₖ e^aₖ = <b>{fmt(frame['z'])}</b>"))
        else:
            rows.append(_line("z = h(a)", f"{frame['activation'] or 'identity'}({fmt(frame['a'])}) = <b>{fmt(frame['z'])}</b>"))
    elif kind == "flatten_forward":
        rows.append(_line("copy", f"x{tuple(int(v) for v in frame['in_index'])} → z[{frame['out_index']}] = <b>{fmt(frame['value'])}</b>"))
    elif kind == "dropout_forward":
        rows.append(_line("pass", f"x{tuple(int(v) for v in frame['in_index'])} = {fmt(frame['value'])} → z = <b>{fmt(frame['z'])}</b>"
                                  f" (rate {frame['rate']}: dropout only drops while training)"))
    elif kind == "activation_forward":
        rows.append(_line("z = h(a)", f"{frame['activation']}({fmt(frame['a'])}) = <b>{fmt(frame['z'])}</b>"))
    elif kind == "loss":
        probabilities = frame["probabilities"]
        rows.append(_line("label / predicted", f"{frame['label']} / {frame['predicted']}"))
        rows.append(_line("p", ", ".join(f"{k}: {fmt(p)}" for k, p in enumerate(probabilities))))
        rows.append(_line("E = −Σ y log p", f"−log p[{frame['label']}] = −log {fmt(probabilities[frame['label']])} = <b>{fmt(frame['loss'])}</b>"))
        rows.append(_line("δ = p − y" if frame["fused"] else "δ = h′ · ∂E/∂z",
                          ", ".join(f"{k}: {fmt(d)}" for k, d in enumerate(frame["delta"]))))
    elif kind == "conv_backward_weight":
        m, n, c, c_out = frame["weight_index"]
        order = _largest(frame["products"])
        rows.append(_line("weight", f"w[{m},{n},{c},{c_out}]: δ map of channel {c_out} times the input channel {c} it slid over"))
        rows.append(_line("Σ δ·x (largest first)", f"{_terms(frame['delta_map'], frame['window'], order)}"))
        rows.append(_line("∂E/∂w", f"<b>{fmt(frame['grad'])}</b>"))
        if frame.get("bias_grad") is not None:
            rows.append(_line(f"∂E/∂b[{c_out}] = Σ δ", f"{fmt(frame['bias_grad'])}"))
    elif kind == "conv_backward_input":
        i, j, c = frame["in_index"]
        rows.append(_line("input cell", f"(row {i}, col {j}) of channel {c}: flipped kernel over the δ maps"))
        channels = frame["deltas"].shape[-1]
        for k in range(min(channels, MAX_CHANNELS)):
            rows.append(_line(f"Σ w·δ, channel {k}",
                              f"{_terms(frame['kernel'][..., k], frame['deltas'][..., k])} = {fmt(frame['channel_sums'][k])}"))
        if channels > MAX_CHANNELS:
            rest = frame["channel_sums"][MAX_CHANNELS:]
            rows.append(_line(f"channels {MAX_CHANNELS}…{channels - 1}", f"{fmt(rest.sum())}"))
        rows.append(_line("∂E/∂z", f"<b>{fmt(frame['sum'])}</b>"))
        rows += _prev_terms(frame)
    elif kind in ("maxpool_backward", "avgpool_backward"):
        i, j, c = frame["out_index"]
        rows.append(_line("window", f"channel {c}, output (row {i}, col {j}): δ = {fmt(frame['delta'])}"))
        if kind == "maxpool_backward":
            m, n = frame["winner"]
            rows.append(_line("routed", f"all of δ to the winner ({m}, {n}); 0 to the other cells"))
        else:
            rows.append(_line("routed", f"δ / {frame['count']} = {fmt(frame['delta'] / frame['count'])} to every real cell"))
        rows.append(_line("∂E/∂x of the window", ", ".join(fmt(v) for v in frame["input_grad"].ravel())))
    elif kind == "dense_backward":
        (i,) = frame["position"]
        rows.append(_line("input", f"{i} (value x = {fmt(frame['input'])})"))
        rows.append(_line("Σ W·δ", f"{_terms(frame['weights'], frame['deltas'])} = <b>{fmt(frame['sum'])}</b>"))
        grads = frame["weight_grads"]
        rows.append(_line(f"∂E/∂W[{i},:] = x·δ", ", ".join(fmt(v) for v in grads[:MAX_TERMS]) + (" …" if grads.size > MAX_TERMS else "")))
        rows += _prev_terms(frame)
    elif kind in ("flatten_backward", "dropout_backward"):
        rows.append(_line("pass back", f"∂E/∂z = {fmt(frame['output_grad'])} → ∂E/∂x = <b>{fmt(frame['input_grad'])}</b>"))
        rows += _prev_terms(frame)
    elif kind == "activation_backward":
        rows.append(_line("δ = h′(a) · g", f"{fmt(frame['h_prime'])} × {fmt(frame['output_grad'])} = <b>{fmt(frame['delta'])}</b>"))
        rows += _prev_terms(frame)
    elif kind == "update":
        index = ",".join(str(int(v)) for v in np.atleast_1d(frame["param_index"]))
        rows.append(_line("weight", f"{frame['layer']}/{frame['param_key']}[{index}] ({frame['optimizer']}, η = {fmt(frame['learning_rate'])})"))
        rows.append(_line("W", fmt(frame["param"])))
        rows.append(_line("g = ∂E/∂W", fmt(frame["grad"])))
        if frame.get("weight_decay"):
            rows.append(_line("g + λW", fmt(frame["effective_grad"])))
        for name, value in frame.get("state_before", {}).items():
            after = frame["state_after"].get(name)
            rows.append(_line(name, f"{fmt(value)} → {fmt(after)}"))
        rows.append(_line("change", fmt(frame["change"])))
        rows.append(_line("W′ = W + change", f"{fmt(frame['param'])} + {fmt(frame['change'])} = <b>{fmt(frame['param_after'])}</b>"))
    return rows


def frame_html(step, frame: dict) -> str:
    head = (f"<h3 style='margin:0'>{escape(step.title)}</h3>"
            f"<p style='margin:2px 0'><span style='font-family:monospace'>{escape(step.formula)}</span></p>"
            f"<p style='margin:2px 0; color:#bbb'>{escape(step.explanation)}</p>")
    return head + "<table cellspacing='2' cellpadding='1'>" + "".join(frame_lines(frame)) + "</table>"


class EquationPanel(QTextBrowser):
    """Read-only rich text of the current step and frame."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("equation")
        self.setOpenLinks(False)

    def show_frame(self, step, frame: dict) -> None:
        self.setHtml(frame_html(step, frame))
