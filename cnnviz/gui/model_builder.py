"""Choosing and building architectures: the Model menu (presets, JSON files) and a dialog that builds
a Sequential layer by layer, with live output shapes and parameter counts.

The dialog never guesses: every candidate layer is built by the engine, and a layer the engine
refuses (e.g. a kernel larger than its input) is refused here with the engine's own reason.
"""
from __future__ import annotations

import json

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog, QFormLayout,
                             QGroupBox, QHBoxLayout, QHeaderView, QLabel, QMenu, QMessageBox, QPushButton, QSpinBox,
                             QStackedWidget, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from ..engine.model import Sequential
from ..engine.weights import atomic_write
from ..paths import MODELS
from ..presets import PRESETS, load_model_file, load_preset, preset_model

ACTIVATIONS = ("relu", "linear", "tanh", "sigmoid", "softmax")
JSON_FILTER = "Model architecture (*.json)"


def _spin(low, high, value) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    return spin


def _combo(items, current) -> QComboBox:
    combo = QComboBox()
    combo.addItems(items)
    combo.setCurrentText(current)
    return combo


class LayerEditor(QWidget):
    """The settings of one layer type; ``config()`` gives the engine configuration."""

    def __init__(self, class_name: str, fields: dict, parent=None):
        super().__init__(parent)
        self.class_name = class_name
        self.fields = fields
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        for label, widget in fields.items():
            form.addRow(label, widget)

    def config(self) -> dict:
        values = {label: w.currentText() if isinstance(w, QComboBox) else w.value() for label, w in self.fields.items()}
        if self.class_name == "Conv2D":
            return {"filters": values["filters"], "kernel_size": [values["kernel"]] * 2,
                    "strides": [values["stride"]] * 2, "padding": values["padding"], "activation": values["activation"]}
        if self.class_name in ("MaxPooling2D", "AveragePooling2D"):
            return {"pool_size": [values["pool"]] * 2, "strides": [values["stride"]] * 2, "padding": values["padding"]}
        if self.class_name == "Dense":
            return {"units": values["units"], "activation": values["activation"]}
        if self.class_name == "Dropout":
            return {"rate": values["rate"]}
        if self.class_name == "Activation":
            return {"activation": values["activation"]}
        return {}


def make_editors() -> list[LayerEditor]:
    rate = QDoubleSpinBox()
    rate.setRange(0.0, 0.95)
    rate.setSingleStep(0.05)
    rate.setValue(0.25)
    pools = [LayerEditor(name, {"pool": _spin(1, 64, 2), "stride": _spin(1, 64, 2),
                                "padding": _combo(["valid", "same"], "valid")})
             for name in ("MaxPooling2D", "AveragePooling2D")]
    return [
        LayerEditor("Conv2D", {"filters": _spin(1, 1024, 8), "kernel": _spin(1, 64, 3), "stride": _spin(1, 64, 1),
                               "padding": _combo(["valid", "same"], "valid"),
                               "activation": _combo(ACTIVATIONS, "relu")}),
        *pools,
        LayerEditor("Flatten", {}),
        LayerEditor("Dense", {"units": _spin(1, 65536, 10), "activation": _combo(ACTIVATIONS, "softmax")}),
        LayerEditor("Dropout", {"rate": rate}),
        LayerEditor("Activation", {"activation": _combo(ACTIVATIONS, "relu")}),
    ]


def build(input_shape, entries, name="custom", seed=0) -> Sequential:
    """A model from (H, W, C) and a list of {"class_name", "config"}; ValueError with the engine's reason."""
    return Sequential.from_config({"name": name, "input_shape": list(input_shape), "layers": entries}, seed=seed)


def entries_of(model: Sequential) -> list[dict]:
    """The layer list of ``model`` without names, so the builder renumbers them."""
    entries = []
    for layer in model.get_config()["config"]["layers"]:
        config = {k: v for k, v in layer["config"].items() if k != "name"}
        entries.append({"class_name": layer["class_name"], "config": config})
    return entries


class ModelBuilderDialog(QDialog):
    """Build a model layer by layer. After ``exec_() == Accepted``, ``result_model`` is the new
    (untrained) Sequential."""

    def __init__(self, model: Sequential | None = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Build a model")
        self.resize(720, 560)
        self.entries: list[dict] = []
        self.result_model = None
        self.model = None

        top = QHBoxLayout()
        top.addWidget(QLabel("input H × W × C"))
        self.input_spins = [_spin(1, 512, 28), _spin(1, 512, 28), _spin(1, 16, 1)]
        for spin in self.input_spins:
            spin.valueChanged.connect(self._input_changed)
            top.addWidget(spin)
        top.addStretch(1)
        top.addWidget(QLabel("start from"))
        self.preset_combo = _combo(["—", *PRESETS], "—")
        self.preset_combo.activated.connect(self._preset_chosen)
        top.addWidget(self.preset_combo)
        self.open_button = QPushButton("Open JSON…")
        self.open_button.clicked.connect(self.open_dialog)
        self.save_button = QPushButton("Save JSON…")
        self.save_button.clicked.connect(self.save_dialog)
        top.addWidget(self.open_button)
        top.addWidget(self.save_button)

        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["layer", "output shape", "parameters"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectRows)
        self.total_label = QLabel()

        adding = QGroupBox("Add a layer")
        add_column = QVBoxLayout(adding)
        self.kind_combo = QComboBox()
        self.stack = QStackedWidget()
        for editor in make_editors():
            self.kind_combo.addItem(editor.class_name)
            self.stack.addWidget(editor)
            for widget in editor.fields.values():
                signal = widget.currentTextChanged if isinstance(widget, QComboBox) else widget.valueChanged
                signal.connect(self._preview)
        self.kind_combo.currentIndexChanged.connect(self.stack.setCurrentIndex)
        self.kind_combo.currentIndexChanged.connect(self._preview)
        self.preview_label = QLabel()
        self.preview_label.setWordWrap(True)
        self.add_button = QPushButton("Add layer")
        self.add_button.clicked.connect(self.add_layer)
        self.remove_button = QPushButton("Remove selected layer")
        self.remove_button.clicked.connect(self.remove_selected)
        add_column.addWidget(self.kind_combo)
        add_column.addWidget(self.stack)
        add_column.addWidget(self.preview_label)
        add_column.addWidget(self.add_button)
        add_column.addWidget(self.remove_button)
        add_column.addStretch(1)

        middle = QHBoxLayout()
        table_column = QVBoxLayout()
        table_column.addWidget(self.table, 1)
        table_column.addWidget(self.total_label)
        middle.addLayout(table_column, 3)
        middle.addWidget(adding, 2)

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #d04040")
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.button(QDialogButtonBox.Ok).setText("Use this model")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        note = QLabel("The new model starts with fresh random weights; train it in the Training tab.")

        column = QVBoxLayout(self)
        column.addLayout(top)
        column.addLayout(middle, 1)
        column.addWidget(self.message)
        column.addWidget(note)
        column.addWidget(self.buttons)
        if model is not None:
            self.set_model(model)
        else:
            self._rebuild(self.entries)

    # ------------------------------------------------------------------ state
    @property
    def input_shape(self):
        return tuple(spin.value() for spin in self.input_spins)

    def set_model(self, model: Sequential) -> None:
        for spin, n in zip(self.input_spins, model.input_shape):
            spin.blockSignals(True)
            spin.setValue(n)
            spin.blockSignals(False)
        self._rebuild(entries_of(model), name=model.name)
        self._choose_fitting_kind()

    def _choose_fitting_kind(self) -> None:
        """Offer first a layer kind that can follow the model as it is (Dense after a flat output, not
        Conv2D), so the dialog does not open on an error for its own default."""
        for index in range(self.kind_combo.count()):
            self.kind_combo.setCurrentIndex(index)
            if self.add_button.isEnabled():
                return
        self.kind_combo.setCurrentIndex(0)

    def _rebuild(self, entries, name=None) -> bool:
        """Use ``entries`` if the engine can build them; else show its reason and keep the old ones."""
        try:
            model = build(self.input_shape, entries, name=name or (self.model.name if self.model else "custom"))
        except (ValueError, MemoryError) as error:
            self.message.setText(f"Refused: {error}")
            return False
        self.entries, self.model = list(entries), model
        self.message.clear()
        self._fill_table()
        self._preview()
        return True

    def _fill_table(self) -> None:
        model = self.model
        rows = [("input", model.input_shape, 0)] + [
            (f"{layer.name}: {layer.describe()}", layer.output_shape, layer.count_params()) for layer in model.layers]
        self.table.setRowCount(len(rows))
        for row, (text, shape, params) in enumerate(rows):
            for col, value in enumerate((text, str(tuple(shape)), f"{params:,}")):
                item = QTableWidgetItem(value)
                if col:
                    item.setTextAlignment(int(Qt.AlignRight | Qt.AlignVCenter))
                self.table.setItem(row, col, item)
        self.total_label.setText(f"{len(model.layers)} layers, {model.count_params():,} parameters, "
                                 f"output {tuple(model.output_shape)}")
        self.buttons.button(QDialogButtonBox.Ok).setEnabled(bool(model.layers))

    def candidate(self) -> dict:
        editor = self.stack.currentWidget()
        return {"class_name": editor.class_name, "config": editor.config()}

    def _preview(self) -> None:
        """Say what the layer being edited would output, or why the engine refuses it."""
        try:
            layer = build(self.input_shape, [*self.entries, self.candidate()]).layers[-1]
        except (ValueError, MemoryError) as error:
            self.preview_label.setText(f"<span style='color:#d04040'>✗ {error}</span>")
            self.add_button.setEnabled(False)
            return
        self.preview_label.setText(f"→ output {tuple(layer.output_shape)}, {layer.count_params():,} parameters")
        self.add_button.setEnabled(True)

    # ------------------------------------------------------------------ editing
    def add_layer(self) -> bool:
        return self._rebuild([*self.entries, self.candidate()])

    def remove_selected(self) -> bool:
        row = self.table.currentRow()
        if row < 1:
            self.message.setText("Select a layer (not the input) to remove.")
            return False
        return self._rebuild(self.entries[:row - 1] + self.entries[row:])

    def _input_changed(self) -> None:
        """A new input shape, if every layer still fits it; else the old one comes back."""
        if self.model is not None and not self._rebuild(self.entries):
            for spin, n in zip(self.input_spins, self.model.input_shape):
                spin.blockSignals(True)
                spin.setValue(n)
                spin.blockSignals(False)

    def _preset_chosen(self) -> None:
        name = self.preset_combo.currentText()
        if name in PRESETS:
            self.set_model(load_preset(name))

    def load_file(self, path) -> bool:
        try:
            model = load_model_file(path)
        except (ValueError, MemoryError) as error:
            QMessageBox.warning(self, "Cannot open the architecture", str(error))
            return False
        self.set_model(model)
        return True

    def open_dialog(self) -> bool:
        path, _ = QFileDialog.getOpenFileName(self, "Open architecture", str(MODELS), JSON_FILTER)
        return self.load_file(path) if path else False

    def save_dialog(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(self, "Save architecture", f"{self.model.name}.json", JSON_FILTER)
        return save_architecture(self, self.model, path) if path else False

    def accept(self) -> None:
        self.result_model = self.model
        super().accept()


def save_architecture(parent, model: Sequential, path) -> bool:
    """Write ``model``'s architecture as JSON, atomically; a message if it cannot be written."""
    text = json.dumps(model.get_config(), indent=1).encode("utf-8")
    try:
        atomic_write(path, lambda stream: stream.write(text))
    except OSError as error:
        QMessageBox.warning(parent, "Cannot save the architecture", f"{path}: {error}")
        return False
    return True


class ModelMenu(QMenu):
    """Model > presets, Build model…, Open architecture…, Save architecture…"""

    def __init__(self, app_state, window):
        super().__init__("&Model", window)
        self.app_state = app_state
        self.window_ = window
        presets = self.addMenu("Preset (with shipped weights)")
        for name in PRESETS:
            presets.addAction(name, lambda n=name: self.use_preset(n))
        self.addAction("Build model…", self.build_dialog)
        self.addAction("Open architecture…", self.open_dialog)
        self.addAction("Save architecture…", self.save_dialog)

    def use_preset(self, name: str) -> None:
        self.app_state.set_model(preset_model(name, seed=0))

    def build_dialog(self) -> ModelBuilderDialog:
        dialog = ModelBuilderDialog(self.app_state.model, self.window_)
        if dialog.exec_() == QDialog.Accepted and dialog.result_model is not None:
            try:
                self.app_state.set_model(dialog.result_model)
            except (ValueError, MemoryError) as error:
                self.app_state.report("warning", "Cannot use this model",
                                      f"{str(error) or 'not enough memory'}\n\nNothing was changed.")
        return dialog

    def open_dialog(self) -> bool:
        path, _ = QFileDialog.getOpenFileName(self.window_, "Open architecture", str(MODELS), JSON_FILTER)
        if not path:
            return False
        try:
            self.app_state.set_model(load_model_file(path))
        except (ValueError, MemoryError) as error:
            self.app_state.report("warning", "Cannot open the architecture",
                                  f"{str(error) or 'not enough memory'}\n\nNothing was changed.")
            return False
        return True

    def save_dialog(self) -> bool:
        model = self.app_state.model
        path, _ = QFileDialog.getSaveFileName(self.window_, "Save architecture", f"{model.name}.json", JSON_FILTER)
        return save_architecture(self.window_, model, path) if path else False
