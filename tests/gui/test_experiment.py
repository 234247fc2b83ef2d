"""The single-image experiment panel: train one image towards a target class until the prediction flips."""
from __future__ import annotations

import numpy as np

from tests.gui.test_training import WAIT_MS, configure, tiny_window


def chosen_image(window, index=3):
    x, label = window.state.dataset.x_test[index], int(window.state.dataset.y_test[index])
    window.state.set_sample(x, label, f"test sample {index}")
    return x


def test_the_experiment_flips_the_prediction_of_a_chosen_image(qtbot):
    window = tiny_window(qtbot)
    panel = window.experiment_panel
    x = chosen_image(window)
    before = int(np.argmax(window.state.model.predict(x[None])[0]))
    target = 1 - before
    panel.target_combo.setCurrentIndex(target + 1)
    panel.train_combo.setCurrentText("dense")
    panel.lr_spin.setValue(0.1)
    optimizer = window.state.model.optimizer
    conv_kernel = window.state.model.layers[0].params["kernel"].copy()
    with qtbot.waitSignal(panel.finished, timeout=WAIT_MS) as finished:
        panel.play_button.click()
    last = finished.args[0]
    assert last["flipped"] and last["target"] == target and last["iteration"] >= 1
    assert int(np.argmax(window.state.model.predict(x[None])[0])) == target
    assert np.array_equal(window.state.model.layers[0].params["kernel"], conv_kernel), "only dense layers trained"
    assert window.state.model.optimizer is optimizer and all(layer.trainable for layer in window.state.model.layers)
    iterations, probabilities = panel.curve.getData()
    assert list(iterations) == list(range(last["iteration"] + 1))
    assert probabilities[-1] == last["target_probability"] > 0.5 > probabilities[0]
    brushes = [point.brush().color().name() for point in panel.points.points()]
    assert brushes[0] != brushes[-1], "points are coloured by the predicted class"
    assert window.state.trace.predicted == target, "the lecture views show the changed network"
    assert "flipped" in panel.status.text() and panel.play_button.text() == "Play"


def test_default_target_is_the_least_likely_class_and_undo_restores(qtbot):
    window = tiny_window(qtbot)
    panel = window.experiment_panel
    x = chosen_image(window, 5)
    probabilities = window.state.model.predict(x[None])[0]
    weights = window.state.model.weights_by_name()
    assert panel.target_combo.currentIndex() == 0 and panel.target() is None
    panel.step()
    first = panel.records[0]
    assert first["iteration"] == 0 and first["target"] == int(np.argmin(probabilities))
    assert np.array_equal(first["probabilities"], probabilities)
    panel.step()
    assert panel.records[-1]["iteration"] == 1 and panel.running
    assert any(not np.array_equal(weights[k], v) for k, v in window.state.model.weights_by_name().items())
    panel.undo()
    assert not panel.running
    assert all(np.array_equal(weights[k], v) for k, v in window.state.model.weights_by_name().items())


def test_stops_after_the_step_limit(qtbot):
    window = tiny_window(qtbot)
    panel = window.experiment_panel
    chosen_image(window)
    panel.lr_spin.setValue(0.00001)
    panel.steps_spin.setValue(3)
    with qtbot.waitSignal(panel.finished, timeout=WAIT_MS) as finished:
        for _ in range(10):
            panel.step()
            if not panel.running:
                break
    assert finished.args[0]["iteration"] == 3 and not finished.args[0]["flipped"]
    assert "Still" in panel.status.text()


def test_not_while_training_runs(qtbot, messages):
    window = tiny_window(qtbot)
    training = window.training_panel
    configure(training, epochs=100_000)
    training.start()
    window.experiment_panel.step()
    assert not window.experiment_panel.running and "Pause or stop training" in messages[-1][1]
    training.stop_and_wait()


def test_a_new_sample_ends_the_run(qtbot):
    window = tiny_window(qtbot)
    panel = window.experiment_panel
    chosen_image(window, 1)
    panel.step()
    assert panel.running
    chosen_image(window, 2)
    assert not panel.running and "test sample 2" in panel.sample_label.text()


def test_a_new_model_ends_the_run_on_the_old_model(qtbot):
    from tests.gui.test_training import tiny_model

    window = tiny_window(qtbot)
    panel = window.experiment_panel
    chosen_image(window)
    old, old_optimizer = window.state.model, window.state.model.optimizer
    states = {key: {name: np.copy(v) for name, v in state.items()} for key, state in old_optimizer.states.items()}
    panel.step()
    panel.step()
    assert panel.running and old.optimizer is old_optimizer, "the experiment never swaps the model's optimizer"
    assert old_optimizer.states.keys() == states.keys() and all(
        np.array_equal(old_optimizer.states[key][name], states[key][name]) for key in states for name in states[key]), \
        "nor changes its state: it steps with an SGD of its own"
    window.state.set_model(tiny_model(filters=3))
    assert not panel.running and old.optimizer is old_optimizer
    assert window.state.model.optimizer is not old_optimizer and not panel.undo_button.isEnabled()
