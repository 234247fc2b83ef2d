"""The model builder dialog and the Model menu: live shapes and parameter counts, the engine's reasons
for impossible layers, presets, JSON architecture files."""
from __future__ import annotations

import json

import numpy as np
from PyQt5.QtWidgets import QDialog, QFileDialog

from cnnviz.gui.model_builder import ModelBuilderDialog
from cnnviz.presets import load_preset
from tests.gui.test_training import tiny_window


def choose(dialog, kind, **values):
    dialog.kind_combo.setCurrentText(kind)
    editor = dialog.stack.currentWidget()
    for name, value in values.items():
        widget = editor.fields[name]
        widget.setCurrentText(value) if isinstance(value, str) else widget.setValue(value)


def column(dialog, col):
    return [dialog.table.item(row, col).text() for row in range(dialog.table.rowCount())]


def test_builds_layer_by_layer_with_live_shapes_and_counts(qtbot):
    dialog = ModelBuilderDialog()
    qtbot.addWidget(dialog)
    for spin, n in zip(dialog.input_spins, (8, 8, 1)):
        spin.setValue(n)
    choose(dialog, "Conv2D", filters=4, kernel=3, stride=1, padding="valid", activation="relu")
    assert "(6, 6, 4)" in dialog.preview_label.text() and "40 parameters" in dialog.preview_label.text()
    assert dialog.add_layer()
    choose(dialog, "MaxPooling2D", pool=2, stride=2)
    assert dialog.add_layer()
    choose(dialog, "Flatten")
    assert dialog.add_layer()
    choose(dialog, "Dense", units=3, activation="softmax")
    assert "(3,)" in dialog.preview_label.text() and "111 parameters" in dialog.preview_label.text()
    assert dialog.add_layer()
    assert column(dialog, 1) == ["(8, 8, 1)", "(6, 6, 4)", "(3, 3, 4)", "(36,)", "(3,)"]
    assert column(dialog, 2) == ["0", "40", "0", "0", "111"]
    assert "151 parameters" in dialog.total_label.text()
    dialog.accept()
    model = dialog.result_model
    assert model.count_params() == 151 and model.predict(np.zeros((2, 8, 8, 1))).shape == (2, 3)


def test_refuses_an_impossible_layer_with_the_engine_reason(qtbot):
    dialog = ModelBuilderDialog()
    qtbot.addWidget(dialog)
    for spin, n in zip(dialog.input_spins, (8, 8, 1)):
        spin.setValue(n)
    choose(dialog, "Conv2D", kernel=9)
    assert not dialog.add_button.isEnabled()
    assert "kernel (9, 9) is larger than its padded input (8, 8)" in dialog.preview_label.text()
    assert not dialog.add_layer()
    assert "larger than its padded input" in dialog.message.text() and dialog.entries == []
    choose(dialog, "Conv2D", kernel=9, padding="same")  # with padding it fits
    assert dialog.add_button.isEnabled() and "(8, 8, 8)" in dialog.preview_label.text()


def test_removing_a_layer_that_later_layers_need_is_refused(qtbot):
    dialog = ModelBuilderDialog()
    qtbot.addWidget(dialog)
    for spin, n in zip(dialog.input_spins, (8, 8, 1)):
        spin.setValue(n)
    for kind, values in (("Conv2D", {}), ("Flatten", {}), ("Dense", {"units": 2})):
        choose(dialog, kind, **values)
        assert dialog.add_layer()
    dialog.table.selectRow(2)  # Flatten: Dense cannot take (6, 6, 8)
    assert not dialog.remove_selected()
    assert len(dialog.entries) == 3 and "Refused" in dialog.message.text() and "dense" in dialog.message.text().lower()
    dialog.input_spins[0].setValue(2)  # the 3x3 kernel no longer fits: the old input comes back
    assert dialog.input_spins[0].value() == 8 and "larger than" in dialog.message.text()
    dialog.table.selectRow(3)
    assert dialog.remove_selected() and len(dialog.entries) == 2


def test_presets_and_json_files(qtbot, tmp_path, monkeypatch, messages):
    dialog = ModelBuilderDialog()
    qtbot.addWidget(dialog)
    dialog.preset_combo.setCurrentText("kerasy-mnist")
    dialog._preset_chosen()
    reference = load_preset("kerasy-mnist")
    assert dialog.model.count_params() == reference.count_params() == 1_199_882
    assert column(dialog, 1)[-1] == "(10,)"
    path = tmp_path / "arch.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(path), "")))
    assert dialog.save_dialog()
    saved = json.loads(path.read_text())
    assert [layer["class_name"] for layer in saved["config"]["layers"]] == [
        layer["class_name"] for layer in reference.get_config()["config"]["layers"]]
    fresh = ModelBuilderDialog()
    qtbot.addWidget(fresh)
    assert fresh.load_file(path) and fresh.model.count_params() == 1_199_882
    (tmp_path / "bad.json").write_text('{"input_shape": [4, 4, 1], "layers": [{"class_name": "Conv2D", '
                                       '"config": {"filters": 1, "kernel_size": 5}}]}')
    assert not fresh.load_file(tmp_path / "bad.json")
    assert "larger than its padded input" in messages[-1][1] and fresh.model.count_params() == 1_199_882


def test_model_menu_switches_the_window_model(qtbot, tmp_path, monkeypatch, messages):
    window = tiny_window(qtbot)
    menu = window.model_menu
    assert menu.menuAction() in window.menuBar().actions()

    def build_and_accept(dialog):
        choose(dialog, "Dense", units=2, activation="softmax")
        dialog.table.selectRow(4)
        dialog.remove_selected()
        assert dialog.add_layer()
        dialog.accept()
        return QDialog.Accepted

    monkeypatch.setattr(QDialog, "exec_", build_and_accept)
    old = window.state.model
    with qtbot.waitSignal(window.state.model_changed):
        menu.build_dialog()
    assert window.state.model is not old and window.state.model.input_shape == (8, 8, 1)
    assert window.state.model.layers[-1].output_shape == (2,)
    (tmp_path / "broken.json").write_text("{")
    broken = str(tmp_path / "broken.json")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (broken, "")))
    current = window.state.model
    assert not menu.open_dialog()
    assert window.state.model is current and "not a valid JSON" in messages[-1][1]


def test_the_builder_opens_on_a_layer_that_fits_without_an_error(qtbot):
    from cnnviz.gui.model_builder import ModelBuilderDialog
    from cnnviz.presets import preset_model

    dialog = ModelBuilderDialog(preset_model("lecture", seed=0))
    qtbot.addWidget(dialog)
    assert dialog.add_button.isEnabled() and "✗" not in dialog.preview_label.text()
    assert dialog.kind_combo.currentText() != "Conv2D", "a Conv2D cannot follow the flat softmax output"
