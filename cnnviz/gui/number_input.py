"""A number field that says so when it changes what was typed.

Qt's QDoubleSpinBox refuses keystrokes that would leave its range, so typing 1000000 into a
field with maximum 10 silently leaves 10. ``BoundedDoubleSpinBox`` accepts any number while
typing (also 1e6), clamps it into the range when editing ends, and emits ``clamped(message)``
so the panel can tell the user what value is used instead.
"""
from __future__ import annotations

import math
import re

from PyQt5.QtCore import pyqtSignal
from PyQt5.QtGui import QValidator
from PyQt5.QtWidgets import QDoubleSpinBox


PARTIAL_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d*)?([eE][+-]?\d*)?\s*")


class BoundedDoubleSpinBox(QDoubleSpinBox):
    clamped = pyqtSignal(str)

    def __init__(self, what: str, parent=None):
        super().__init__(parent)
        self.what = what
        self._typed = None  # the out-of-range number typed in this edit
        self.editingFinished.connect(self._say_if_clamped)

    def _number(self, text: str):
        try:
            value = float(text.strip().replace(self.locale().decimalPoint(), "."))
        except ValueError:
            return None
        return value if math.isfinite(value) else None

    def validate(self, text, position):
        state, text, position = super().validate(text, position)
        if state != QValidator.Acceptable and PARTIAL_NUMBER.fullmatch(text.replace(",", ".")):
            return QValidator.Intermediate, text, position  # e.g. "1e" on the way to "1e6"
        return state, text, position

    def valueFromText(self, text: str) -> float:
        value = self._number(text)
        if value is None:
            return super().valueFromText(text)
        bounded = min(max(value, self.minimum()), self.maximum())
        if bounded != value:
            self._typed = value
        return bounded

    def _say_if_clamped(self) -> None:
        if self._typed is not None:
            typed, self._typed = self._typed, None
            self.clamped.emit(f"The {self.what} {typed:g} is outside {self.minimum():g} to {self.maximum():g}; "
                              f"using {self.value():g}.")

    def fixup(self, text: str) -> str:
        value = self._number(text)
        return self.textFromValue(self.valueFromText(text)) if value is not None else super().fixup(text)
