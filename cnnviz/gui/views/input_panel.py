"""Choosing the input: a test sample (index, random, class, next misclassified), a drawing, or an image file."""
from __future__ import annotations

import numpy as np
from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import (QComboBox, QFileDialog, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
                             QPushButton, QSpinBox, QVBoxLayout, QWidget)

from ..images import fit_to_input, load_image, mnist_style
from .canvas import DrawingCanvas


NO_LABEL = -1  # a drawing or image file whose label was not chosen yet
INKS = {"white": np.array([1, 1, 1], np.float32), "red": np.array([1, 0, 0], np.float32),
        "green": np.array([0, 1, 0], np.float32), "blue": np.array([0, 0, 1], np.float32),
        "yellow": np.array([1, 1, 0], np.float32)}


class InputPanel(QWidget):
    """Emits ``sample_chosen(x (H, W, C), label, description)`` with label NO_LABEL for a drawing or an
    image file until its label is chosen; the application state builds the trace. ``failed(title, text)``:
    what could not be done and why (the window reports it)."""

    sample_chosen = pyqtSignal(object, int, str)
    failed = pyqtSignal(str, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.dataset = None
        self.input_shape = (28, 28, 1)
        self.predict = None           # callable: x (N, H, W, C) -> class ids (N,), set by the main window
        self.rng = np.random.default_rng(0)
        self.index = 0
        self._mistakes = None

        samples = QGroupBox("Test sample")
        grid = QGridLayout(samples)
        self.index_spin = QSpinBox()
        self.index_spin.setKeyboardTracking(False)
        self.index_spin.valueChanged.connect(self.choose_index)
        self.random_button = QPushButton("Random")
        self.random_button.clicked.connect(self.choose_random)
        self.class_combo = QComboBox()
        self.class_button = QPushButton("Next of class")
        self.class_button.clicked.connect(self.choose_next_of_class)
        self.mistake_button = QPushButton("Next misclassified")
        self.mistake_button.clicked.connect(self.choose_next_misclassified)
        grid.addWidget(QLabel("index"), 0, 0)
        grid.addWidget(self.index_spin, 0, 1)
        grid.addWidget(self.random_button, 0, 2)
        grid.addWidget(QLabel("class"), 1, 0)
        grid.addWidget(self.class_combo, 1, 1)
        grid.addWidget(self.class_button, 1, 2)
        grid.addWidget(self.mistake_button, 2, 0, 1, 3)

        drawing = QGroupBox("Draw a digit")
        column = QVBoxLayout(drawing)
        self.canvas = DrawingCanvas()
        self.canvas.drawn.connect(self.use_drawing)
        column.addWidget(self.canvas, 0, Qt.AlignHCenter)
        buttons = QHBoxLayout()
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.canvas.clear)
        self.label_combo = QComboBox()
        self.label_combo.setToolTip("The true label of your drawing or image: the loss and the backward pass "
                                    "need it (until you choose one, they use the prediction as the target)")
        self.label_combo.currentIndexChanged.connect(self._relabel)
        self.ink_combo = QComboBox()  # for colour models: the colour of the next strokes
        self.ink_combo.addItems(list(INKS))
        self.ink_combo.setToolTip("The ink colour of your strokes (the model reads colour images)")
        self.ink_combo.currentTextChanged.connect(self._choose_ink)
        self.ink_combo.hide()
        buttons.addWidget(self.clear_button)
        buttons.addWidget(self.ink_combo)
        buttons.addWidget(QLabel("label"))
        buttons.addWidget(self.label_combo)
        column.addLayout(buttons)
        self.open_button = QPushButton("Open image file…")
        self.open_button.clicked.connect(self.open_image_dialog)

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.prediction = QLabel()
        self.prediction.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(samples)
        layout.addWidget(drawing)
        layout.addWidget(self.open_button)
        layout.addWidget(self.status)
        layout.addWidget(self.prediction)
        layout.addStretch(1)
        self._own_input = None  # (x, description) of the drawing/file, relabelled by label_combo

    # ------------------------------------------------------------------ set-up
    def set_dataset(self, dataset, input_shape, names) -> None:
        """names: one per class of the model (the application state's)."""
        self.canvas.colour = input_shape[-1] == 3
        self.ink_combo.setVisible(self.canvas.colour)
        self.dataset = dataset
        self.input_shape = tuple(input_shape)
        self._mistakes = None
        count = 0 if dataset is None else len(dataset.x_test)
        for widget in (self.index_spin, self.random_button, self.class_combo, self.class_button, self.mistake_button):
            widget.setEnabled(count > 0)
        self.index_spin.blockSignals(True)
        self.index_spin.setRange(0, max(0, count - 1))
        self.index_spin.blockSignals(False)
        for combo, items in ((self.class_combo, names), (self.label_combo, ["no label", *names])):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(items)
            combo.blockSignals(False)

    def show_prediction(self, predicted: str, probability: float, label: str | None) -> None:
        """label: the class name, or None when a drawing or image has none yet (no verdict then)."""
        if label is None:
            verdict = "no label chosen"
        else:
            verdict = "right" if predicted == label else f"wrong, the label is {label}"
        self.prediction.setText(f"<span style='font-size:x-large'>prediction <b>{predicted}</b></span> "
                                f"(p = {probability:.2f}; {verdict})")

    def forget_predictions(self) -> None:
        """The model changed: misclassified samples must be found again."""
        self._mistakes = None

    # ------------------------------------------------------------------ dataset samples
    def sample(self, index: int):
        x = fit_to_input(self.dataset.x_test[index], self.input_shape)
        return x, int(self.dataset.y_test[index])

    def show_index(self, index: int) -> None:
        """Show ``index`` as the current test sample without choosing it again."""
        self.index = int(index)
        self.index_spin.blockSignals(True)
        self.index_spin.setValue(self.index)
        self.index_spin.blockSignals(False)
        if self.dataset is not None:
            label = int(self.dataset.y_test[self.index])
            self.status.setText(f"test sample {self.index}, label {self.dataset.class_names[label]}")

    def choose_index(self, index: int) -> None:
        if self.dataset is None:
            return
        self.show_index(index)
        x, label = self.sample(self.index)
        self._own_input = None
        self.sample_chosen.emit(x, label, f"test sample {self.index}")

    def choose_random(self) -> None:
        if self.dataset is not None:
            self.choose_index(int(self.rng.integers(len(self.dataset.x_test))))

    def _next_where(self, candidates) -> None:
        candidates = np.asarray(candidates)
        if candidates.size == 0:
            self.status.setText("no such test sample")
            return
        later = candidates[candidates > self.index]
        self.choose_index(int(later[0] if later.size else candidates[0]))

    def choose_next_of_class(self) -> None:
        if self.dataset is not None:
            self._next_where(np.flatnonzero(self.dataset.y_test == self.class_combo.currentIndex()))

    def choose_next_misclassified(self) -> None:
        if self.dataset is None or self.predict is None:
            return
        if self._mistakes is None:
            x = self.dataset.x_test
            if x.shape[1:] != self.input_shape:
                x = np.stack([fit_to_input(image, self.input_shape) for image in x])
            self._mistakes = np.flatnonzero(self.predict(x) != self.dataset.y_test)
        self._next_where(self._mistakes)

    def choose_among(self, indices, what: str) -> None:
        """Show the first of these test samples (e.g. a cell of the confusion matrix); "Next misclassified"
        then steps through the others, until the weights change."""
        indices = np.asarray(indices, np.int64)
        if self.dataset is None or indices.size == 0:
            self.status.setText(f"no test sample is {what}")
            return
        self._mistakes = indices
        self.choose_index(int(indices[0]))
        self.status.setText(f"{self.status.text()}: 1 of {indices.size} {what}")

    # ------------------------------------------------------------------ own inputs
    def _choose_ink(self, name: str) -> None:
        self.canvas.ink = INKS[name]

    def use_drawing(self) -> None:
        """The drawing, centred and scaled as MNIST digits are (20x20 box, centre of mass in the middle)."""
        if self.canvas.colour:  # a colour picture, taken as it is drawn
            x = fit_to_input(self.canvas.rgb, self.input_shape)
        else:
            x = fit_to_input(mnist_style(self.canvas.image)[:, :, None], self.input_shape)
        self._own_input = (x, "drawing")
        self.status.setText("your drawing: choose its label")
        self._ask_label()
        self.sample_chosen.emit(x, NO_LABEL, "drawing")

    def _ask_label(self) -> None:
        self.label_combo.blockSignals(True)
        self.label_combo.setCurrentIndex(0)  # "no label"
        self.label_combo.blockSignals(False)

    def open_image_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open an image", "",
                                              "Images (*.png *.jpg *.jpeg *.bmp);;All files (*)")
        if path:
            self.open_image(path)

    def open_image(self, path) -> bool:
        """Load an image file as the input; on failure show a message and keep the current input."""
        try:
            x, inverted = load_image(path, self.input_shape)
        except ValueError as error:
            self.failed.emit("Cannot open the image", str(error))
            return False
        self._own_input = (x, str(path))
        self.status.setText(f"image {path}" + (" (inverted: dark ink on light paper)" if inverted else "")
                            + ": choose its label")
        self._ask_label()
        self.sample_chosen.emit(x, NO_LABEL, str(path))
        return True

    def _relabel(self, index: int) -> None:
        if self._own_input is not None and index >= 0:
            x, description = self._own_input
            self.sample_chosen.emit(x, index - 1, description)  # index 0 is "no label": NO_LABEL

    def show_sample(self, x) -> None:
        """The canvas shows the current sample until the user draws over it (in colour for colour models)."""
        size = self.canvas.image.shape
        if x.shape[2] == 1:
            self.canvas.image[:] = fit_to_input(x, (*size, 1))[..., 0]
            self.canvas.rgb[:] = self.canvas.image[:, :, None]
        elif x.shape[2] == 3:
            self.canvas.rgb[:] = fit_to_input(x, (*size, 3))
            self.canvas.image[:] = self.canvas.rgb.max(axis=2)
        self.canvas.update()
