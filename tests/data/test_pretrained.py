"""The pretrained weights in resources/weights reach their targets on the shipped test images."""
import pytest

from cnnviz.data import load_dataset
from cnnviz.engine.model import load_model
from cnnviz.paths import WEIGHTS
from cnnviz.presets import PRESETS, load_preset

TARGETS = {"kerasy-mnist": 0.97, "lecture": 0.90, "lenet": 0.95, "same-padding": 0.96, "allconv-bn": 0.90,
           "dense": 0.93}


@pytest.mark.parametrize("preset", PRESETS)
def test_pretrained_weights_fit_their_preset_and_reach_the_target(preset):
    model = load_model(WEIGHTS / f"{preset}.npz")
    assert model.get_config()["config"]["layers"] == load_preset(preset).get_config()["config"]["layers"]
    assert all(value.dtype.name == "float32" for value in model.weights_by_name().values())
    data = load_dataset("mnist")
    accuracy = float((model.predict(data.x_test).argmax(axis=1) == data.y_test).mean())
    assert accuracy >= TARGETS[preset]
