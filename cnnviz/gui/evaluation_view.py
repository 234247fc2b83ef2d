"""The Evaluation tab: the confusion matrix of the network on the test set and its accuracy per class,
refreshed at the end of every training epoch (or on request). Click a cell to load its samples (true
class i predicted as j) into the input panel. The numbers come from ``engine.evaluation``.
"""
from __future__ import annotations

import numpy as np
from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtGui import QBrush, QColor
from PyQt5.QtWidgets import QHeaderView, QLabel, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from ..engine.evaluation import cell_samples
from .views.common import DrawnWhenShown


def fmt_percent(share) -> str:
    """0.953 -> '95.3%'; NaN (a class without test samples) -> '—'."""
    return "—" if share is None or not np.isfinite(share) else f"{100 * share:.0f}%"


class EvaluationView(DrawnWhenShown, QWidget):
    """Fed by ``training_panel.evaluated``; loads a clicked cell's samples with ``input_panel.choose_among``."""

    cell_chosen = pyqtSignal(int, int)

    def __init__(self, training_panel, input_panel, parent=None):
        super().__init__(parent)
        self.training_panel = training_panel
        self.input_panel = input_panel
        self.result = None
        self.caption = QLabel("The confusion matrix appears after the first training epoch, or press Evaluate.")
        self.caption.setWordWrap(True)
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.table.cellClicked.connect(self.choose_cell)
        self.evaluate_button = QPushButton("Evaluate the current weights on the test set")
        self.evaluate_button.clicked.connect(self._evaluate)
        column = QVBoxLayout(self)
        column.setContentsMargins(2, 2, 2, 2)
        column.addWidget(self.caption)
        column.addWidget(self.table, 1)
        column.addWidget(self.evaluate_button)
        training_panel.evaluated.connect(self.show_result)

    def _evaluate(self) -> None:
        if not self.training_panel.evaluate_now():
            self.caption.setText("There are no test images that fit this model.")

    def show_result(self, result: dict) -> None:
        """``result``: ``engine.evaluation.evaluate_predictions`` with the ``class_names``. Drawn when the tab
        is shown (a hidden table is not rebuilt at every epoch: that time would go from training)."""
        self.result = result
        self.draw_when_shown(result)

    def _draw(self, result: dict) -> None:
        matrix, accuracy, names = result["matrix"], result["accuracy"], result["class_names"]
        classes = len(matrix)
        names = [names[k] if k < len(names) else str(k) for k in range(classes)]
        shares = result["shares"]
        self.table.setRowCount(classes)
        self.table.setColumnCount(classes + 1)
        self.table.setHorizontalHeaderLabels([*names, "accuracy"])
        self.table.horizontalHeader().setSectionResizeMode(classes, QHeaderView.ResizeToContents)
        self.table.setVerticalHeaderLabels(names)
        for i in range(classes):
            for j in range(classes):
                item = QTableWidgetItem(str(matrix[i, j]))
                item.setTextAlignment(Qt.AlignCenter)
                strength = int(255 * shares[i, j] ** 0.5)  # a gamma, so that a few mistakes show
                hue = (60, 160, 60) if i == j else (220, 80, 60)
                item.setBackground(QBrush(QColor(*hue, strength)))
                item.setToolTip(f"true {names[i]}, predicted {names[j]}: {matrix[i, j]} test samples "
                                f"(click to load them)")
                self.table.setItem(i, j, item)
            item = QTableWidgetItem(fmt_percent(accuracy[i]))
            item.setTextAlignment(Qt.AlignCenter)
            self.table.setItem(i, classes, item)
        self.caption.setText(f"Test set: {result['right']} of {result['total']} right "
                             f"({fmt_percent(result['overall'])}). Rows: the true class; columns: the prediction. "
                             "Click a cell to load its samples.")

    def choose_cell(self, true_class: int, predicted_class: int) -> None:
        result = self.result
        if result is None or predicted_class >= len(result["matrix"]):
            return
        names = self.table.verticalHeaderItem(true_class).text(), self.table.horizontalHeaderItem(
            predicted_class).text()
        indices = cell_samples(result["labels"], result["predicted"], true_class, predicted_class)
        self.input_panel.choose_among(indices, f"{names[0]} predicted as {names[1]}")
        self.cell_chosen.emit(true_class, predicted_class)
