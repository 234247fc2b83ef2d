"""The training lab: datasets opened in the app (class names, colour), runs compared on one plot, the
confusion matrix, and the live network while training runs."""
from __future__ import annotations

import numpy as np
import pytest
from PyQt5.QtCore import Qt
from PyQt5.QtGui import QImage

from cnnviz.data import load_dataset, synthetic
from cnnviz.data.cifar import CLASS_NAMES
from cnnviz.gui.app import build_window, preset_model
from cnnviz.runs import load_runs

from .test_training import configure, tiny_model, wait_idle

WAIT_MS = 60000


def lab_window(qtbot, model, dataset):
    window = build_window(model, dataset)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    return window


def show_tab(window, title):
    """Click the side tab ``title`` (the Live and Evaluation tabs draw only while shown)."""
    tabs = window.side_tabs
    tabs.tabBar().setCurrentIndex(next(i for i in range(tabs.count()) if tabs.tabText(i) == title))


def cifar_binary_folder(folder, per_batch=8, seed=0):
    """A CIFAR-10 folder of the binary version: per image a label byte and 32x32 R, G, B planes."""
    rng = np.random.default_rng(seed)
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        records = rng.integers(0, 256, (per_batch, 3073), dtype=np.uint8)
        records[:, 0] = np.arange(per_batch) % 10
        records.tofile(folder / f"{name}.bin")
    return folder


def image_folder(folder, size=16, per_class=6):
    """Colour PNGs in one sub-folder per class: reddish cats, bluish dogs."""
    rng = np.random.default_rng(1)
    for name, channel in (("cat", 0), ("dog", 2)):
        (folder / name).mkdir(parents=True)
        for k in range(per_class):
            pixels = rng.integers(0, 90, (size, size, 3), dtype=np.uint8)
            pixels[..., channel] += 160
            pixels = np.ascontiguousarray(pixels)
            QImage(pixels.data, size, size, 3 * size, QImage.Format_RGB888).copy().save(str(folder / name / f"{k}.png"))
    return folder


def train_one_epoch(qtbot, panel, scratch=True, **settings):
    configure(panel, optimizer="adam", lr=0.001, epochs=1, **settings)
    assert panel.train_from_scratch() if scratch else panel.start()
    wait_idle(qtbot, panel)


def test_cifar_and_image_folders_open_with_class_names_and_a_colour_model_trains_on_them(qtbot, tmp_path, messages):
    window = lab_window(qtbot, preset_model("lecture", None, seed=0), load_dataset("mnist").subset(64, 16))
    assert window.dataset_menu.open(cifar_binary_folder(tmp_path / "cifar-10-batches-bin"))
    assert window.state.dataset.name == "cifar-10" and window.input_panel.class_combo.itemText(9) == "truck"
    dialog = window.dataset_menu.fit_dialog
    assert dialog.isVisible() and "28x28x1" in dialog.message.text() and "32x32x3" in dialog.message.text()
    labels = [dialog.preset_combo.itemText(i) for i in range(dialog.preset_combo.count())]
    dialog.use_preset(next(label for label in labels if label.startswith("lecture")))
    assert window.state.model.input_shape == (32, 32, 3) and window.state.x.shape == (32, 32, 3)
    assert np.array_equal(window.state.x, window.state.dataset.x_test[0]), "the colour test image, not a grey copy"
    panel = window.training_panel
    train_one_epoch(qtbot, panel, batch=8)
    assert panel.run.dataset == "cifar-10" and panel.run.epochs["val_accuracy"]
    live = window.live_view
    show_tab(window, "Live")
    assert live.input_item.image.shape == (32, 32, 3) and np.array_equal(live.input_item.image, window.state.x)
    assert not live.channels_box.isHidden() and live.kernels_item.image.ndim == 3, "colour kernels"
    names = [name for _, name in live.probabilities.getAxis("bottom")._tickLevels[0]]
    assert names == CLASS_NAMES
    assert CLASS_NAMES[int(window.state.dataset.y_test[0])] in window.input_panel.status.text()

    assert window.dataset_menu.open(image_folder(tmp_path / "photos"))
    assert window.state.dataset.class_names == ["cat", "dog"] and window.state.dataset.input_shape == (16, 16, 3)
    dialog = window.dataset_menu.fit_dialog
    dialog.use_preset(next(dialog.preset_combo.itemText(i) for i in range(dialog.preset_combo.count())
                           if dialog.preset_combo.itemText(i).startswith("dense")))
    assert window.state.model.output_shape == (2,) and window.views["output"].class_names == ["cat", "dog"]
    train_one_epoch(qtbot, panel, batch=4)
    combo = window.input_panel.class_combo
    assert [combo.itemText(i) for i in range(combo.count())] == ["cat", "dog"]
    assert live.input_item.image.shape == (16, 16, 3) and live.kernels_box.label.text().startswith("dense_1")
    assert len(panel.runs) == 2 and not messages


def test_a_bad_dataset_says_why_and_keeps_the_current_one(qtbot, tmp_path, messages):
    data = load_dataset("mnist").subset(64, 16)
    window = lab_window(qtbot, preset_model("lecture", None, seed=0), data)
    (tmp_path / "empty").mkdir()
    assert not window.dataset_menu.open(tmp_path / "empty")
    assert window.state.dataset is data and "sub-folder" in messages[-1][1] and "kept" in messages[-1][1]


def test_dense_and_cnn_runs_compared_hidden_switched_saved_and_the_confusion_matrix_loads_a_cell(qtbot, tmp_path):
    data = load_dataset("mnist").subset(256, 64)
    window = lab_window(qtbot, preset_model("dense", None, seed=0), data)
    panel = window.training_panel
    train_one_epoch(qtbot, panel, batch=32)
    window.model_menu.use_preset("lecture")
    train_one_epoch(qtbot, panel, batch=32)
    dense, cnn = panel.runs
    assert [dense.label, cnn.label] == ["dense 784-128-10, adam 1e-3", "lecture, adam 1e-3"]
    for plot in (panel.loss_plot, panel.accuracy_plot):
        assert [label.text for _, label in plot.legend.items] == [dense.label, cnn.label]
        assert all(len(plot.curves[run][1].getData()[0]) == 8 for run in (dense, cnn))

    panel.run_list.item(0).setCheckState(Qt.Unchecked)  # hide the dense run
    assert not any(curve.isVisible() for curve in panel.loss_plot.curves[dense])
    assert all(curve.isVisible() for curve in panel.loss_plot.curves[cnn])
    assert [label.text for _, label in panel.accuracy_plot.legend.items] == [cnn.label]
    panel.run_list.item(0).setCheckState(Qt.Checked)

    panel.x_combo.setCurrentText("samples seen")
    x, _ = panel.loss_plot.curves[cnn][0].getData()
    assert x[-1] == 256 and panel.loss_plot.plotItem.getAxis("bottom").labelText == "samples seen"
    panel.x_combo.setCurrentText("seconds")
    x, _ = panel.accuracy_plot.curves[dense][1].getData()
    assert x[-1] == pytest.approx(dense.wall_time) and dense.samples_per_s > 0

    panel.rename_run(1, "CNN")
    assert [label.text for _, label in panel.loss_plot.legend.items] == [dense.label, "CNN"]
    assert panel.save_runs(tmp_path / "runs.json") and panel.export_png(tmp_path / "runs.png")
    assert QImage(str(tmp_path / "runs.png")).width() > 100
    saved = load_runs(tmp_path / "runs.json")
    assert [r.label for r in saved] == [dense.label, "CNN"] and saved[1].batches == cnn.batches
    panel.delete_run(1)
    assert panel.runs == [dense] and cnn not in panel.loss_plot.curves
    assert panel.load_runs(tmp_path / "runs.json") and [r.label for r in panel.runs] == [dense.label, dense.label,
                                                                                         "CNN"]

    view = window.evaluation_view  # filled at the epoch's end, on the 64 test digits
    show_tab(window, "Evaluation")
    matrix = view.result["matrix"]
    assert matrix.sum() == 64 and view.table.horizontalHeaderItem(10).text() == "accuracy"
    off_diagonal = [(i, j) for i in range(10) for j in range(10) if i != j and matrix[i, j]]
    true_class, predicted_class = off_diagonal[0]
    item = view.table.item(true_class, predicted_class)
    view.table.scrollToItem(item)
    qtbot.mouseClick(view.table.viewport(), Qt.LeftButton, pos=view.table.visualItemRect(item).center())
    assert window.state.label == true_class and window.input_panel.index in np.flatnonzero(
        (view.result["labels"] == true_class) & (view.result["predicted"] == predicted_class))
    assert window.state.trace.predicted == predicted_class
    assert f"of {matrix[true_class, predicted_class]}" in window.input_panel.status.text()


def test_the_live_view_shows_the_first_kernels_changing_while_training_runs(qtbot):
    window = lab_window(qtbot, tiny_model(), synthetic("bars", size=8, n_train=96, n_test=32, seed=0))
    panel = window.training_panel
    configure(panel, lr=0.05, epochs=100_000)
    show_tab(window, "Live")
    initial = window.state.model.layers[0].params["kernel"].copy()
    panel.start()
    seen = []
    panel.snapshot_ready.connect(lambda snapshot: seen.append((panel.state, snapshot["kernels"].copy(),
                                                               window.live_view.kernels_item.image.copy(),
                                                               snapshot["weights"] is not None)))
    qtbot.waitUntil(lambda: len(seen) >= 3, timeout=WAIT_MS)
    assert all(state == "running" for state, _, _, _ in seen)
    assert not np.array_equal(seen[0][1], seen[-1][1]), "the kernels the worker sends change"
    qtbot.wait(50)  # the view draws each snapshot right after it arrives
    assert not np.array_equal(seen[0][2], window.live_view.kernels_item.image, equal_nan=True), \
        "and the grid drawn of them"
    assert np.array_equal(window.state.model.layers[0].params["kernel"], initial), "the lecture views wait"
    panel.follow_box.setChecked(True)  # unless asked to follow: from the next snapshot asked for (with weights)
    qtbot.waitUntil(lambda: seen[-1][3], timeout=WAIT_MS)
    live_kernel = window.state.model.layers[0].params["kernel"]
    assert np.array_equal(live_kernel, seen[-1][1]) and not np.array_equal(live_kernel, seen[0][1])
    assert np.array_equal(window.state.trace.records[0].params["kernel"], live_kernel)
    show_tab(window, "Training")  # a hidden Live tab leaves its drawing to when it is shown again
    drawn = window.live_view.kernels_item.image.copy()
    count = len(seen)
    qtbot.waitUntil(lambda: len(seen) > count, timeout=WAIT_MS)
    assert np.array_equal(window.live_view.kernels_item.image, drawn, equal_nan=True)
    show_tab(window, "Live")
    assert not np.array_equal(window.live_view.kernels_item.image, drawn, equal_nan=True)
    panel.stop_and_wait()


def idx_file(path, array):
    """An IDX file of unsigned bytes: magic 0x0000080<ndim>, the sizes, the bytes."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_the_keras_cache_is_listed_and_opens_with_one_click(qtbot, tmp_path, monkeypatch):
    cache = tmp_path / "keras" / "datasets"
    (cache / "fashion-mnist").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for stem, n in (("train", 40), ("t10k", 10)):
        idx_file(cache / "fashion-mnist" / f"{stem}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        idx_file(cache / "fashion-mnist" / f"{stem}-labels-idx1-ubyte", np.arange(n) % 10)
    np.savez(cache / "mnist.npz", x_train=rng.integers(0, 256, (20, 28, 28), dtype=np.uint8), y_train=np.arange(20) % 10,
             x_test=rng.integers(0, 256, (10, 28, 28), dtype=np.uint8), y_test=np.arange(10))
    (cache / "cifar-10-batches-py-target").mkdir()  # where Keras 3 extracts CIFAR-10
    cifar_binary_folder(cache / "cifar-10-batches-py-target" / "cifar-10-batches-py", per_batch=2)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    window = lab_window(qtbot, preset_model("dense", None, seed=0), load_dataset("mnist").subset(64, 16))
    menu = window.dataset_menu
    menu.aboutToShow.emit()
    actions = {action.text().split(" (")[0]: action for action in menu.keras_menu.actions()}
    assert list(actions) == ["MNIST", "Fashion-MNIST", "CIFAR-10"]
    actions["Fashion-MNIST"].trigger()
    assert window.state.dataset.class_names[9] == "Ankle boot" and len(window.state.dataset.x_train) == 40
    assert window.input_panel.class_combo.itemText(0) == "T-shirt/top" and menu.fit_dialog is None
    show_tab(window, "Live")
    assert "Ankle boot" in [name for _, name in window.live_view.probabilities.getAxis("bottom")._tickLevels[0]]
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "elsewhere"))
    menu.aboutToShow.emit()
    assert not menu.keras_menu.actions()[0].isEnabled() and "nothing there" in menu.keras_menu.actions()[0].text()


def test_data_at_launch_picks_a_fitting_preset_unless_a_model_is_named(tmp_path):
    from cnnviz.gui import app

    folder = cifar_binary_folder(tmp_path / "cifar")
    cifar = load_dataset(folder)
    lecture = preset_model("lecture", None, seed=0)
    assert app.fitting_model(lecture, cifar, model_chosen=False).input_shape == (32, 32, 3)
    assert app.fitting_model(lecture, cifar, model_chosen=True) is lecture
    assert app.main(["--data", str(folder), "--screenshot", str(tmp_path / "shot.png")]) == 0
    assert not QImage(str(tmp_path / "shot.png")).isNull()
    assert app.main(["--data", str(tmp_path / "nothing"), "--screenshot", str(tmp_path / "x.png")]) == 2


def test_a_colour_image_file_stays_in_colour_for_a_colour_model(qtbot, tmp_path):
    folder = image_folder(tmp_path / "photos", size=16, per_class=2)
    dataset = load_dataset(folder)
    from cnnviz.presets import preset_for

    window = lab_window(qtbot, preset_for("dense", (16, 16, 3), 2), dataset)
    show_tab(window, "Live")
    assert window.input_panel.open_image(folder / "cat" / "0.png")
    red, blue = window.state.x[..., 0].mean(), window.state.x[..., 2].mean()
    assert red > blue + 0.3, "a reddish cat stays red"
    light = np.full((16, 16, 3), 230, np.uint8)
    light[..., 2] = 120
    QImage(light.data, 16, 16, 48, QImage.Format_RGB888).copy().save(str(tmp_path / "light.png"))
    assert window.input_panel.open_image(tmp_path / "light.png")
    assert window.state.x[..., 0].mean() > 0.85 and "inverted" not in window.input_panel.status.text()
    assert np.array_equal(window.live_view.input_item.image, window.state.x)


def test_continue_extends_the_run_and_train_from_scratch_starts_again_from_the_seed(qtbot):
    window = lab_window(qtbot, tiny_model(), synthetic("bars", size=8, n_train=64, n_test=16, seed=0))
    panel = window.training_panel
    configure(panel, lr=0.05, batch=16, epochs=1)
    panel.scratch_button.click()
    wait_idle(qtbot, panel)
    first = panel.run
    panel.start_button.click()  # Continue
    wait_idle(qtbot, panel)
    assert panel.runs == [first] and first.epochs["position"] == [1, 2] and first.batches["samples"][-1] == 128
    assert first.batches["seconds"] == sorted(first.batches["seconds"])
    panel.scratch_button.click()  # the same seed: the same fresh weights, the same first batch
    wait_idle(qtbot, panel)
    again = panel.run
    assert len(panel.runs) == 2 and again.seed == first.seed == 0 and again.epochs["position"] == [1]
    assert again.batches["loss"][0] == pytest.approx(first.batches["loss"][0])
    panel.seed_spin.setValue(7)
    panel.scratch_button.click()
    wait_idle(qtbot, panel)
    assert panel.run.seed == 7 and panel.run.batches["loss"][0] != pytest.approx(first.batches["loss"][0])
