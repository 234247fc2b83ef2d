"""Softmax probabilities as a bar chart, with the true label, the prediction and the loss; below them
the first delta of the backward pass, dE/da of the output layer (p − y for softmax + cross-entropy)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from ...engine.frames import DenseForward
from .. import colormaps
from .panels import View

BAR = (90, 140, 220)
TRUE = (60, 200, 90)
WRONG = (230, 80, 60)


class OutputView(View):
    name = "output"
    title = "Output"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = self.layout_.addPlot(row=0, col=0)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setYRange(0, 1.05, padding=0)
        self.plot.setLabel("left", "probability")
        self.plot.setLabel("bottom", "class")
        self.bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=0.7, brushes=[BAR] * 10)
        self.plot.addItem(self.bars)
        self.current = pg.BarGraphItem(x=[0], height=[0], width=0.8, pen=pg.mkPen((255, 200, 0), width=3), brush=None)
        self.current.setVisible(False)
        self.plot.addItem(self.current)
        self.delta_plot = self.layout_.addPlot(row=1, col=0)
        self.delta_plot.setMouseEnabled(False, False)
        self.delta_plot.hideButtons()
        self.delta_plot.setLabel("left", "δ = ∂E/∂a")
        self.delta_plot.getAxis("left").enableAutoSIPrefix(False)
        self.delta_plot.setXLink(self.plot)
        self.delta_plot.addLine(y=0, pen=pg.mkPen((200, 200, 200), width=1))
        self.delta_bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=0.7)
        self.delta_plot.addItem(self.delta_bars)
        self.layout_.layout.setRowStretchFactor(0, 3)
        self.layout_.layout.setRowStretchFactor(1, 2)
        self.texts: list[pg.TextItem] = []
        self.summary = ""
        self.shown = None
        self.class_names: list[str] = []  # from the application state, one per class

    def set_trace(self, trace) -> None:
        super().set_trace(trace)
        self.shown = None

    def show_frame(self, step, frame) -> None:
        """The bars belong to the trace; a dense output frame outlines its neuron."""
        if isinstance(frame, DenseForward) and step.layer_index == len(self.trace.records) - 1:
            j = frame.neuron
            self.current.setOpts(x=[j], height=[max(float(self.trace.y_pred[0, j]), 0.02)])
            self.current.setVisible(True)
        else:
            self.current.setVisible(False)
        if self.shown is self.trace:
            return
        trace = self.shown = self.trace
        p = trace.y_pred[0]
        k = p.size
        names = self.class_names  # one per class, set with the model
        brushes = [BAR] * k
        brushes[trace.predicted] = WRONG
        brushes[trace.label] = TRUE
        self.bars.setOpts(x=np.arange(k), height=p, brushes=brushes)
        self.plot.getAxis("bottom").setTicks([[(c, names[c]) for c in range(k)]])
        self.plot.setXRange(-0.6, k - 0.4, padding=0)
        delta = trace.records[-1].delta[0]
        self.delta_bars.setOpts(x=np.arange(k), height=delta,
                                brushes=[colormaps.DIVERGING.map(0.5 + 0.5 * np.sign(d), mode="qcolor") for d in delta])
        top = float(np.abs(delta).max()) or 1.0
        self.delta_plot.setYRange(-top * 1.1, top * 1.1, padding=0)
        self.delta_plot.getAxis("bottom").setTicks([[(c, names[c]) for c in range(k)]])
        if len(self.texts) != k:
            for text in self.texts:
                self.plot.removeItem(text)
            self.texts = [pg.TextItem(anchor=(0.5, 1.0), color="w") for _ in range(k)]
            for text in self.texts:
                self.plot.addItem(text)
        for c, text in enumerate(self.texts):
            text.setText(f"{p[c]:.2f}")
            text.setPos(c, p[c])
        verdict = "right" if trace.predicted == trace.label else "wrong"
        self.summary = (f"true label {names[trace.label]} (green), predicted {names[trace.predicted]} "
                        f"({verdict}), loss E = {trace.loss:.4g}")
        self.plot.setTitle(self.summary)

    def set_font_scale(self, scale: float) -> None:
        font = self.plot.getAxis("bottom").label.font()
        font.setPointSizeF(10 * scale)
        for axis in ("bottom", "left"):
            self.plot.getAxis(axis).setStyle(tickFont=font)
        for text in self.texts:
            text.setFont(font)
        self.plot.titleLabel.setText(self.summary, size=f"{11 * scale}pt")
