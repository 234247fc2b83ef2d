"""The equation panel: the step's title, formula and explanation, then the current frame's own numbers.

Rows only format fields of the frame (``cnnviz.engine.frames``): every number written here is a
field, or an element of one; nothing is multiplied or summed here. The rows of each frame kind are
written by the GUI module of its layer kind (``cnnviz.gui.kinds``), with the helpers here.
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


def channel_rows(frame, label, unit: str = "channel") -> list[str]:
    """A window over several channels: each of the first channels term by term, the rest as sums.
    ``unit`` names what is counted ("channel": input channels; "δ channel": the layer's deltas)."""
    count = len(frame.channel_terms)
    rows = [row(f"{label}, {unit} {c}", f"{terms(frame.channel_terms[c])} = {fmt(frame.channel_terms[c].total)}")
            for c in range(min(count, MAX_CHANNELS))]
    if count > MAX_CHANNELS:
        rows.append(row(f"the other {frame.channels.tail_counts[MAX_CHANNELS]} {unit}s",
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
