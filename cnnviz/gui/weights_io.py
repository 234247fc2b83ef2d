"""File > Open weights / Save weights / Save weights as / Recent weights.

Opening checks everything before it changes anything: a broken or hostile file (truncated, not an
npz, wrong shapes, non-finite values, pickled objects) shows a message and leaves the model, the
views and the plots as they were. A file whose stored architecture differs from the current model
says which layers differ and offers to switch to the file's architecture. Keras ``.h5`` and PyTorch
``.safetensors`` files go through ``cnnviz.engine.importers``. Saves are atomic (``engine.weights``) and
refuse non-finite weights, so a good file is never replaced by a diverged one.
"""
from __future__ import annotations

from pathlib import Path

from PyQt5.QtCore import QObject, QSettings
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import QAction, QFileDialog, QMenu, QMessageBox

from ..engine.exporters import EXPORT_SUFFIXES, export_model
from ..engine.model import Sequential
from ..engine.weights import architecture_of, read_npz

RECENT_KEY = "recent_weights"
MAX_RECENT = 8
OPEN_FILTER = "Weights (*.npz *.h5 *.hdf5 *.keras *.safetensors);;cnnviz weights (*.npz);;All files (*)"
SAVE_FILTER = "cnnviz weights (*.npz)"
EXPORT_FILTER = "Keras 3 (*.keras);;Keras HDF5 (*.h5);;ONNX (*.onnx);;cnnviz weights (*.npz)"


def settings() -> QSettings:
    """Where the recent-files list lives (tests point this at a temporary file)."""
    return QSettings("cnnviz", "cnnviz")


def recent_files() -> list[str]:
    value = settings().value(RECENT_KEY, [])
    if isinstance(value, str):  # QSettings gives a lone string for a one-item list
        value = [value]
    return [str(path) for path in value or []]


def remember(path) -> list[str]:
    """Put ``path`` first in the recent-files list (at most MAX_RECENT, no duplicates)."""
    path = str(Path(path).resolve())
    paths = [path, *(p for p in recent_files() if p != path)][:MAX_RECENT]
    store = settings()
    store.setValue(RECENT_KEY, paths)
    store.sync()
    return paths


def _layer_config(layer) -> dict:
    """What makes two layers different: name, type, settings and parameter shapes (not the pass-through
    shape changes an earlier layer causes)."""
    config = {"class": type(layer).__name__, **layer.get_config(),
              "params": {key: value.shape for key, value in layer.params.items()}}
    config.pop("trainable", None)
    return config


def architecture_differences(current: Sequential, other: Sequential) -> list[str]:
    """Plain sentences naming each layer (and the input) where ``other`` differs from ``current``."""
    lines = []
    if tuple(current.input_shape) != tuple(other.input_shape):
        lines.append(f"input: {tuple(current.input_shape)} now, {tuple(other.input_shape)} in the file")

    def describe(layer):
        return "nothing" if layer is None else f"{layer.name} ({layer.describe()}) → {tuple(layer.output_shape)}"

    for index in range(max(len(current.layers), len(other.layers))):
        mine = current.layers[index] if index < len(current.layers) else None
        theirs = other.layers[index] if index < len(other.layers) else None
        if mine is None or theirs is None or _layer_config(mine) != _layer_config(theirs):
            lines.append(f"layer {index + 1}: {describe(mine)} now, {describe(theirs)} in the file")
    return lines


def _read_npz_model(path, current: Sequential):
    """(arrays, model built from the stored architecture or None); ValueError for a bad file."""
    arrays = read_npz(path)
    stored = architecture_of(arrays)
    if stored is None:
        return arrays, None
    model = Sequential.from_config(stored, seed=current.seed)
    model.set_weights(arrays)
    return arrays, model


class WeightsFiles(QObject):
    """The weights entries of ``window.file_menu`` for ``app_state.model``; ``training`` (the
    TrainingPanel) saves them; ``path`` is the file last opened or saved."""

    def __init__(self, app_state, window, training):
        super().__init__(window)
        self.app_state = app_state
        self.window = window
        self.training = training
        self.path = None
        menu = window.file_menu
        before = window.quit_action
        self.open_action = self._action("Open weights…", "Ctrl+Alt+O", self.open_dialog)
        self.save_action = self._action("Save weights", "Ctrl+S", self.save)
        self.save_as_action = self._action("Save weights as…", "Ctrl+Alt+S", self.save_as)
        self.recent_menu = QMenu("Recent weights", window)
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self.export_action = self._action("Export model…", "", self.export_dialog)
        for action in (self.open_action, self.save_action, self.save_as_action):
            menu.insertAction(before, action)
        menu.insertMenu(before, self.recent_menu)
        menu.insertAction(before, self.export_action)
        menu.insertSeparator(before)

    def _action(self, text, shortcut, slot) -> QAction:
        action = QAction(text, self.window)
        action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _=False: slot())
        self.window.addAction(action)
        return action

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in recent_files():
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.setData(path)
            action.triggered.connect(lambda _=False, p=path: self.open(p))
        self.recent_menu.setEnabled(True)
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none yet)").setEnabled(False)

    def _folder(self) -> str:
        return str(Path(self.path).parent) if self.path else str(Path.cwd())

    def _error(self, title: str, message: str) -> None:
        self.app_state.report("warning", title, message)

    def _training_running(self) -> bool:
        return self.app_state.busy == "training"

    # ------------------------------------------------------------------ opening
    def open_dialog(self) -> bool:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open weights", self._folder(), OPEN_FILTER)
        return self.open(path) if path else False

    def open(self, path) -> bool:
        """Load weights into the current model (or, if the user agrees, switch to the file's
        architecture). True if something was loaded; on any problem a message and no change."""
        path = Path(path)
        if self._training_running():
            self._error("Training is running", "Pause or stop training before opening weights.")
            return False
        window = self.window
        current = self.app_state.model
        try:
            if path.suffix.lower() == ".npz":
                arrays, file_model = _read_npz_model(path, current)
                differences = [] if file_model is None else architecture_differences(current, file_model)
                if not differences:
                    current.set_weights(arrays)
            else:
                file_model, differences = self._import(path, current)
        except (ValueError, MemoryError) as error:
            message = str(error) if str(path) in str(error) else f"{path}: {error}"
            self._error("Cannot open weights", f"{message}\n\nNothing was changed.")
            return False
        if differences:
            question = (f"{path.name} was saved from a different architecture:\n\n• " + "\n• ".join(differences)
                        + "\n\nSwitch to the file's architecture (with its weights)?")
            answer = QMessageBox.question(window, "Different architecture", question,
                                          QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
            if answer != QMessageBox.Yes:
                return False
            try:
                self.app_state.set_model(file_model)
            except (ValueError, MemoryError) as error:
                reason = str(error) or "not enough memory"
                self._error("Cannot open weights", f"{path}: {reason}\n\nNothing was changed.")
                return False
        else:
            if current.optimizer is not None:
                current.optimizer.reset()  # momentum of other weights would be meaningless
            self.app_state.refresh_trace()
        self.path = str(path)
        remember(path)
        window.statusBar().showMessage(f"Opened weights {path}", 5000)
        return True

    @staticmethod
    def _import(path, current):
        """Keras/PyTorch weights: into the current model if they fit (returns (None, [])), else a
        model with the file's own architecture and its differences (Keras files that store one)."""
        from ..engine.importers import import_weights
        from ..engine.model import load_model

        try:
            import_weights(current, path)
            return None, []
        except ValueError as fit_error:
            try:
                file_model = load_model(path, seed=current.seed)
            except ValueError:
                raise fit_error from None
            return file_model, architecture_differences(current, file_model) or ["the weights do not fit"]

    # ------------------------------------------------------------------ saving
    def save(self) -> bool:
        if self.path is None or Path(self.path).suffix.lower() != ".npz":
            return self.save_as()
        return self.save_to(self.path)

    def save_as(self) -> bool:
        suggestion = self.path if self.path and self.path.endswith(".npz") else \
            str(Path(self._folder()) / f"{self.app_state.model.name}.npz")
        path, _ = QFileDialog.getSaveFileName(self.window, "Save weights as", suggestion, SAVE_FILTER)
        if not path:
            return False
        if Path(path).suffix.lower() != ".npz":
            path += ".npz"
        return self.save_to(path)

    def save_to(self, path) -> bool:
        """Write the current weights and architecture atomically (a temporary file, then a rename)."""
        try:
            self.training.save_weights(path)
        except (OSError, ValueError) as error:
            self._error("Cannot save weights", f"{path}: {error}")
            return False
        self.path = str(path)
        remember(path)
        self.window.statusBar().showMessage(f"Saved weights to {path}", 5000)
        return True

    # ------------------------------------------------------------------ exporting
    def export_dialog(self) -> bool:
        suggestion = str(Path(self._folder()) / f"{self.app_state.model.name}.keras")
        path, chosen = QFileDialog.getSaveFileName(self.window, "Export model", suggestion, EXPORT_FILTER)
        if not path:
            return False
        if Path(path).suffix.lower() not in EXPORT_SUFFIXES:
            path += chosen[chosen.find("(*") + 2 : -1] if "(*" in chosen else ".keras"
        return self.export(path)

    def export(self, path) -> bool:
        """Write the current model (architecture and weights) for Keras, ONNX or cnnviz; a message on failure."""
        if self._training_running():
            self._error("Training is running", "Pause or stop training before exporting the model.")
            return False
        try:
            export_model(self.app_state.model, path)
        except (OSError, ValueError) as error:
            self._error("Cannot export the model", f"{path}: {error}\n\nNo file was written.")
            return False
        self.window.statusBar().showMessage(f"Exported the model to {path}", 5000)
        return True
