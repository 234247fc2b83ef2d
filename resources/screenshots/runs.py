"""Render runs.png, live.png and evaluation.png: the dense preset and the lecture CNN, each trained from
scratch in the app for 5 epochs (Adam 1e-3, batch 32) on the shipped digits, compared on one plot
against seconds of training; the Live tab and the confusion matrix of the CNN.

    xvfb-run -a -s "-screen 0 1280x800x24" python resources/screenshots/runs.py
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
window = build_window(preset_model("dense", None, seed=0), dataset, sample)
window.resize(1280, 800)
window.show()
panel = window.training_panel


def show_tab(title):
    tabs = window.side_tabs
    tabs.setCurrentIndex(next(i for i in range(tabs.count()) if tabs.tabText(i) == title))
    window.resizeDocks([window.side_dock], [560], Qt.Horizontal)
    app.processEvents()


def train_from_scratch():
    panel.optimizer_combo.setCurrentText("adam")
    panel.lr_spin.setValue(0.001)
    panel.batch_spin.setValue(32)
    panel.epochs_spin.setValue(5)
    panel.train_from_scratch()
    loop = QEventLoop()
    panel.state_changed.connect(lambda state: state == "idle" and loop.quit())
    QTimer.singleShot(600_000, loop.quit)  # never hang
    loop.exec_()


def save(name):
    app.processEvents()
    window.draw_frame()
    app.processEvents()
    path = Path(__file__).with_name(name)
    window.grab().save(str(path), "PNG")
    print(path.relative_to(ROOT))


show_tab("Training")
train_from_scratch()
window.model_menu.use_preset("lecture")
train_from_scratch()
panel.x_combo.setCurrentText("seconds")
window.show_view("maps")
save("runs.png")
show_tab("Live")
save("live.png")
show_tab("Evaluation")
save("evaluation.png")
