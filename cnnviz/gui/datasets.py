"""File > Open dataset: any dataset ``cnnviz.data.load_dataset`` reads, in the app.

A folder (IDX files, CIFAR-10 batches, one sub-folder of images per class), a file (.npz, an IDX
or CIFAR batch file), the shipped MNIST digits, the synthetic lecture sets, and what Keras has in
its cache (``~/.keras/datasets``). A dataset the current model does not fit (input size, channels,
classes) says so and offers the presets rebuilt for it, or the model builder.
"""
from __future__ import annotations

from PyQt5.QtWidgets import (QComboBox, QDialog, QFileDialog, QHBoxLayout, QLabel, QMenu, QPushButton,
                             QVBoxLayout)

from ..data import DATASET_NAMES, keras_cache_datasets, load_dataset
from ..presets import PRESETS, preset_for

FILE_FILTER = ("Datasets (*.npz *-ubyte *-ubyte.gz data_batch_* test_batch*);;All files (*)")


def fits(model, dataset) -> bool:
    """Can ``model`` train on ``dataset``: same image shape, an output for every class."""
    return tuple(model.input_shape) == tuple(dataset.input_shape) and model.output_shape[-1] >= dataset.num_classes


def shape_text(shape) -> str:
    return "x".join(map(str, shape))


def fitting_presets(dataset) -> dict:
    """{label: model} of the presets rebuilt for the dataset's images and classes (those whose layers fit)."""
    models = {}
    for name in PRESETS:
        try:
            model = preset_for(name, dataset.input_shape, dataset.num_classes)
        except ValueError:
            continue
        models[f"{model.name} ({model.count_params():,} parameters)"] = model
    return models


class FitModelDialog(QDialog):
    """Says why the model does not fit the dataset; offers the presets rebuilt for it or the builder."""

    def __init__(self, app_state, window, dataset):
        super().__init__(window)
        self.app_state = app_state
        self.window_ = window
        self.setWindowTitle("The model does not fit this dataset")
        model = app_state.model
        self.message = QLabel(
            f"The model <b>{model.name}</b> takes {shape_text(model.input_shape)} images and has "
            f"{model.output_shape[-1]} outputs; <b>{dataset.name}</b> has {shape_text(dataset.input_shape)} images "
            f"in {dataset.num_classes} classes. Choose a network for it (fresh weights: train it in the Training "
            f"tab), or keep the model (its input is then resized to show samples, but it cannot train).")
        self.message.setWordWrap(True)
        self.models = fitting_presets(dataset)
        self.preset_combo = QComboBox()
        self.preset_combo.addItems(list(self.models))
        self.use_button = QPushButton("Use this preset")
        self.use_button.setEnabled(bool(self.models))
        self.use_button.clicked.connect(lambda: self.use_preset(self.preset_combo.currentText()))
        self.build_button = QPushButton("Build a model…")
        self.build_button.clicked.connect(self.build)
        self.keep_button = QPushButton("Keep the current model")
        self.keep_button.clicked.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.preset_combo, 1)
        row.addWidget(self.use_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.build_button)
        buttons.addStretch(1)
        buttons.addWidget(self.keep_button)
        column = QVBoxLayout(self)
        column.addWidget(self.message)
        column.addLayout(row)
        column.addLayout(buttons)
        self.dataset = dataset

    def use_preset(self, label: str) -> None:
        self.use_model(self.models[label])

    def use_model(self, model) -> None:
        """``model`` with the dataset's first test sample as its input (in colour for a colour model)."""
        data = self.dataset
        sample = (data.x_test[0], int(data.y_test[0]), "test sample 0") if len(data.x_test) else None
        self.app_state.set_model(model, sample=sample)
        self.window_.input_panel.show_index(0)
        self.accept()

    def build(self) -> None:
        from .model_builder import ModelBuilderDialog

        start = next(iter(self.models.values()), self.app_state.model)
        builder = ModelBuilderDialog(start, self)
        if builder.exec_() == QDialog.Accepted and builder.result_model is not None:
            self.use_model(builder.result_model)


class DatasetMenu(QMenu):
    """File > Open dataset: folders, files, the shipped and synthetic sets, and Keras' cache."""

    def __init__(self, app_state, window, keras_home=None):
        super().__init__("Open dataset", window)
        self.app_state = app_state
        self.window_ = window
        self.keras_home = keras_home
        self.fit_dialog = None
        self.addAction("Folder (IDX, CIFAR-10, images by class)…", self.open_folder_dialog)
        self.addAction("File (.npz, IDX, CIFAR-10 batch)…", self.open_file_dialog)
        self.addSeparator()
        for name in DATASET_NAMES:
            label = "MNIST digits (shipped, 5,000)" if name == "mnist" else f"synthetic: {name}"
            self.addAction(label, lambda n=name: self.open(n))
        self.keras_menu = self.addMenu("Keras cache (~/.keras/datasets)")
        self.aboutToShow.connect(self._list_keras_cache)

    def _list_keras_cache(self) -> None:
        self.keras_menu.clear()
        found = keras_cache_datasets(self.keras_home)
        for name, path in found:
            self.keras_menu.addAction(f"{name} ({path})", lambda p=path: self.open(p))
        if not found:
            self.keras_menu.addAction("nothing there: Keras has not downloaded MNIST, Fashion-MNIST or CIFAR-10 "
                                      "here").setEnabled(False)

    def open_folder_dialog(self) -> bool:
        path = QFileDialog.getExistingDirectory(self.window_, "Open a dataset folder")
        return self.open(path) if path else False

    def open_file_dialog(self) -> bool:
        path, _ = QFileDialog.getOpenFileName(self.window_, "Open a dataset file", "", FILE_FILTER)
        return self.open(path) if path else False

    def open(self, source) -> bool:
        """Load ``source`` (a name or path) as the window's dataset; a message (and nothing changed) if it
        cannot be read; the offer of fitting models if the current one does not fit."""
        try:
            dataset = load_dataset(str(source))
        except (ValueError, OSError, MemoryError) as error:
            self.app_state.report("warning", "Cannot open the dataset", f"{error}\n\nThe current dataset is kept.")
            return False
        self.app_state.set_dataset(dataset)
        if len(dataset.x_test):
            self.window_.input_panel.show_index(0)
        self.window_.statusBar().showMessage(dataset.describe(), 8000)
        self.offer_fitting_model()
        return True

    def offer_fitting_model(self) -> None:
        """If the current model does not fit the dataset, say so and offer models that do (non-modal)."""
        dataset = self.app_state.dataset
        if dataset is not None and not fits(self.app_state.model, dataset):
            self.fit_dialog = FitModelDialog(self.app_state, self.window_, dataset)
            self.fit_dialog.open()
