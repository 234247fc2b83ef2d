"""Render the README's training pictures, training in the app as a user would:

- training.png: the lecture network trained from scratch (Adam 1e-3, 5 epochs, fonts one step larger), the
  Output view with the trained network's probabilities and the live curves beside it;
- runs.png, live.png, evaluation.png: the dense preset and the lecture CNN, each trained from scratch
  for 5 epochs (Adam 1e-3, batch 32) on the shipped digits, compared on one plot against seconds of
  training; the Live tab and the confusion matrix of the CNN.

    xvfb-run -a -s "-screen 0 1280x800x24" python resources/screenshots/training.py
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PyQt5.QtCore import QEventLoop, Qt, QTimer  # noqa: E402
from PyQt5.QtWidgets import QApplication  # noqa: E402

from cnnviz.gui.app import build_window, load_default_dataset, preset_model  # noqa: E402

app = QApplication(sys.argv[:1])
dataset = load_default_dataset()
sample = (dataset.x_test[0], int(dataset.y_test[0]), "test sample 0")


def open_window(model_name):
    window = build_window(preset_model(model_name, None, seed=0), dataset, sample)
    window.resize(1280, 800)
    window.show()
    return window


def show_tab(window, title, width=None):
    tabs = window.side_tabs
    tabs.setCurrentIndex(next(i for i in range(tabs.count()) if tabs.tabText(i) == title))
    if width:
        window.resizeDocks([window.side_dock], [width], Qt.Horizontal)
    app.processEvents()


def train_from_scratch(window):
    """Adam 1e-3, batch 32, 5 epochs from fresh weights (seed 0), as a user would; returns when training
    has finished."""
    panel = window.training_panel
    panel.optimizer_combo.setCurrentText("adam")
    panel.lr_spin.setValue(0.001)
    panel.batch_spin.setValue(32)
    panel.epochs_spin.setValue(5)
    loop = QEventLoop()
    panel.state_changed.connect(lambda state: state == "idle" and loop.quit())
    QTimer.singleShot(600_000, loop.quit)  # never hang
    panel.train_from_scratch()
    loop.exec_()


def save(window, name):
    app.processEvents()
    window.draw_frame()
    app.processEvents()
    path = Path(__file__).with_name(name)
    window.grab().save(str(path), "PNG")
    print(path.relative_to(ROOT))


window = open_window("lecture")
window.scale_fonts(1.15)  # lecture mode, one step larger
show_tab(window, "Training")
train_from_scratch(window)
window.show_view("output")
save(window, "training.png")
window.close()

window = open_window("dense")
show_tab(window, "Training", width=560)
train_from_scratch(window)
window.model_menu.use_preset("lecture")
train_from_scratch(window)
window.training_panel.x_combo.setCurrentText("seconds")
window.show_view("maps")
save(window, "runs.png")
show_tab(window, "Live", width=560)
save(window, "live.png")
show_tab(window, "Evaluation", width=560)
save(window, "evaluation.png")
