"""Architecture JSON checked against its schema before anything is built: field paths in messages,
types (bool vs "false"), sizes bounded; property tests that any JSON gives a model or a ValueError."""
import json
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.engine.model import Sequential
from cnnviz.paths import MODELS
from cnnviz.presets import PRESETS, load_model_file

LECTURE = json.loads((MODELS / "lecture.json").read_text())


def changed(change):
    config = json.loads(json.dumps(LECTURE))
    change(config["config"])
    return config


def first_conv(**settings_):
    return changed(lambda body: body["layers"][0]["config"].update(settings_))


@pytest.mark.parametrize("config, message", [
    (changed(lambda b: b.update(input_shape=28)), "config.input_shape: expected a list of 1 to 3 sizes"),
    (changed(lambda b: b.update(input_shape=[28, 28, True])), r"config.input_shape: expected a whole number, got bool"),
    (changed(lambda b: b.update(input_shape=[0, 28, 1])), "config.input_shape: 0 is outside the range 1 to 65,536"),
    (changed(lambda b: b.update(dtype="banana")), "config.dtype: 'banana'; expected 'float32' or 'float64'"),
    (changed(lambda b: b.update(layers={})), "config.layers: expected a list of layers, got dict"),
    (changed(lambda b: b.pop("input_shape")), "config.input_shape: missing"),
    (changed(lambda b: b.update(colour=1)), "config.colour: unknown field"),
    (first_conv(use_bias="false"), "config.layers\\[0\\].config.use_bias: expected true or false, got str 'false'"),
    (first_conv(filters="4"), "config.layers\\[0\\].config.filters: expected a whole number, got str"),
    (first_conv(filters=4.0), "config.layers\\[0\\].config.filters: expected a whole number, got float"),
    (first_conv(filters=10 ** 400), "config.layers\\[0\\].config.filters: 1000.* is outside the range 1 to 65,536"),
    (first_conv(kernel_size=[3, 3, 3]), "kernel_size: expected a whole number or a pair"),
    (first_conv(padding="mirror"), "padding: 'mirror'; expected 'valid', 'same' or a whole number"),
    (first_conv(activation="banana"), "activation: unknown activation 'banana'"),
    (first_conv(colour="red"), "config.layers\\[0\\].config.colour: unknown setting for Conv2D"),
    (first_conv(name=["x"]), "config.layers\\[0\\].config.name: expected a name"),
    (changed(lambda b: b["layers"].append({"class_name": "LSTM", "config": {}})), "unknown layer type 'LSTM'"),
    (changed(lambda b: b["layers"].append({"class_name": "Dropout", "config": {"rate": "0.5"}})),
     r"config.layers\[6\].config.rate: expected a number in \[0, 1\)"),
    (changed(lambda b: b["layers"].append({"class_name": "Dense", "config": {}})), "units: missing; Dense needs it"),
    (changed(lambda b: b["layers"].append(7)), r"config.layers\[6\]: expected an object"),
    ([1, 2], "a model configuration must be a JSON object, got list"),
])
def test_schema_errors_name_the_field(config, message):
    with pytest.raises(ValueError, match=message):
        Sequential.from_config(config)


def test_use_bias_false_as_a_real_bool_still_drops_the_bias():
    model = Sequential.from_config(first_conv(use_bias=False))
    assert "bias" not in model.layers[0].params


def test_too_many_layers_are_refused_at_once():
    config = changed(lambda b: b.update(layers=[{"class_name": "Activation", "config": {"activation": "relu"}}]
                                        * 100_000))
    with pytest.raises(ValueError, match="100,000 layers, more than the 1,000"):
        Sequential.from_config(config)


@pytest.mark.parametrize("change, message", [
    (lambda b: b["layers"][0]["config"].update(filters=60_000), "more than the 16,777,216 cnnviz handles"),
    (lambda b: (b["layers"][2]["config"].update(filters=60_000),
                b["layers"].insert(5, {"class_name": "Dense", "config": {"units": 60_000}})),
     "would have .* weights by this layer, more than the 50,000,000"),
    (lambda b: b.update(input_shape=[65_536, 65_536, 1]), "holds 4,294,967,296 values per sample"),
])
def test_models_too_big_are_refused_before_any_weight_is_allocated(change, message):
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=message):
            Sequential.from_config(changed(change))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5e6


def test_deeply_nested_json_is_a_value_error(tmp_path):
    (tmp_path / "deep.json").write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(ValueError, match="deep.json: the JSON is nested too deeply"):
        load_model_file(tmp_path / "deep.json")


def test_every_preset_passes_the_schema():
    for name in PRESETS:
        model = load_model_file(MODELS / f"{name}.json")
        assert Sequential.from_config(model.get_config()).count_params() == model.count_params()


JSON = st.recursive(st.none() | st.booleans() | st.integers(-10, 10 ** 12) | st.floats(allow_nan=True)
                    | st.text(max_size=8) | st.sampled_from(["valid", "same", "relu", "softmax", "Dense", "Conv2D"]),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                max_size=4),
                    max_leaves=12)
PATHS = st.lists(st.sampled_from(["input_shape", "dtype", "name", "layers", 0, 1, 2, 3, 4, 5, "config", "class_name",
                                  "filters", "kernel_size", "strides", "padding", "activation", "use_bias", "units",
                                  "pool_size", "rate", "trainable"]), min_size=1, max_size=5)


@settings(max_examples=150, deadline=None)
@given(edits=st.lists(st.tuples(PATHS, JSON), min_size=1, max_size=4))
def test_any_edit_of_an_architecture_builds_or_is_refused_clearly(edits):
    config = json.loads(json.dumps(LECTURE))
    for path, value in edits:
        node = config["config"]
        for key in path[:-1]:
            try:
                node = node[key]
            except (KeyError, IndexError, TypeError):
                break
        else:
            try:
                node[path[-1]] = value
            except (IndexError, TypeError):
                pass
    try:
        model = Sequential.from_config(config)
    except ValueError as error:
        assert str(error)
        return
    assert model.count_params() <= 50_000_000 and len(model.layers) <= 1_000


def test_batch_normalization_settings_are_typed_too():
    config = changed(lambda b: b["layers"].insert(1, {"class_name": "BatchNormalization",
                                                      "config": {"center": "false"}}))
    with pytest.raises(ValueError, match=r"layers\[1\].config.center: expected true or false, got str 'false'"):
        Sequential.from_config(config)
    config["config"]["layers"][1]["config"] = {"center": False, "momentum": 0.9}
    assert "beta" not in Sequential.from_config(config).layers[1].variables()
