"""Render training.png: the lecture network trained from scratch in the app (Adam, 5 epochs),
then the Output view with the trained network's probabilities and the live curves beside it.

    xvfb-run -a -s "-screen 0 1280x800x24" python resources/screenshots/training.py
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PyQt5.QtCore import QEventLoop, QTimer  # noqa: E402
from PyQt5.QtWidgets import QApplication  # noqa: E402

from cnnviz.gui.app import build_window, load_default_dataset  # noqa: E402
from cnnviz.presets import load_preset  # noqa: E402

app = QApplication(sys.argv[:1])
dataset = load_default_dataset()
sample = (dataset.x_test[0], int(dataset.y_test[0]), "test sample 0")
window = build_window(load_preset("lecture", seed=0), dataset, sample)
window.resize(1280, 800)
window.show()
window.scale_fonts(1.15)  # lecture mode, one step larger
panel = window.training_panel
window.side_tabs.setCurrentWidget(panel.parentWidget().parentWidget())
panel.optimizer_combo.setCurrentText("adam")
panel.lr_spin.setValue(0.001)
panel.batch_spin.setValue(32)
panel.epochs_spin.setValue(5)
panel.start()
loop = QEventLoop()
panel.state_changed.connect(lambda state: state == "idle" and loop.quit())
QTimer.singleShot(600_000, loop.quit)  # never hang
loop.exec_()
window.show_view("output")
app.processEvents()
window.draw_frame()
app.processEvents()
path = Path(__file__).with_name("training.png")
window.grab().save(str(path), "PNG")
print(path.relative_to(ROOT))
