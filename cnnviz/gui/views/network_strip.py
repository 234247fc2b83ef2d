"""The network as a row of blocks: name, type, output shape and parameter count; the current one lit."""
from __future__ import annotations

from PyQt5.QtCore import pyqtSignal
from PyQt5.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

PHASE_COLOURS = {"forward": "#2e7d32", "loss": "#8e24aa", "backward": "#c62828", "update": "#1565c0"}


def shape_text(shape) -> str:
    return "×".join(str(n) for n in shape)


class NetworkStrip(QWidget):
    """One checkable button per layer (plus the input and the loss); click a layer to focus it."""

    layer_clicked = pyqtSignal(int)  # layer index; -1 for the loss block

    def __init__(self, parent=None):
        super().__init__(parent)
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(2, 2, 2, 2)
        self.row.setSpacing(4)
        self.buttons: list[QToolButton] = []
        self.input_label = QLabel()
        self.loss_button = None
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)

    def set_model(self, model) -> None:
        while self.row.count():
            widget = self.row.takeAt(0).widget()
            if widget is not None and widget is not self.input_label:
                widget.deleteLater()
        self.input_label.setText(f"input\n{shape_text(model.input_shape)}")
        self.row.addWidget(self.input_label)
        self.buttons = []
        for k, layer in enumerate(model.layers):
            button = self._button(f"{layer.name}\n{layer.describe()}\n{shape_text(layer.output_shape)} · "
                                  f"{layer.count_params():,} params")
            button.clicked.connect(lambda _=False, k=k: self.layer_clicked.emit(k))
            self.buttons.append(button)
        self.loss_button = self._button(f"loss\n{(model.loss or '—').replace('categorical_', '')}\n")
        self.loss_button.clicked.connect(lambda: self.layer_clicked.emit(-1))
        self.row.addStretch(1)

    def _button(self, text: str) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setCheckable(True)
        button.setAutoRaise(False)
        self._small_font(button)
        self.row.addWidget(button)
        return button

    def _small_font(self, widget) -> None:
        font = widget.font()
        font.setPointSizeF(self.font().pointSizeF() * 0.8)
        widget.setFont(font)

    def set_font_scale(self, scale: float) -> None:
        """The blocks keep their smaller type after the window scaled every font."""
        for widget in [*self.buttons, self.loss_button, self.input_label]:
            self._small_font(widget)

    def highlight(self, step) -> None:
        """Light the block of ``step`` in the colour of its phase."""
        current = self.loss_button if step.layer_index is None else self.buttons[step.layer_index]
        colour = PHASE_COLOURS[step.phase]
        for button in [*self.buttons, self.loss_button]:
            lit = button is current
            button.setChecked(lit)
            style = f"QToolButton {{ background: {colour}; color: white; font-weight: bold; }}"
            button.setStyleSheet(style if lit else "")
