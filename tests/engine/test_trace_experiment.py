"""The single-image experiment: train on one image until its prediction flips."""
import numpy as np
import pytest

from cnnviz.engine import Conv2D, Dense, Flatten, MaxPooling2D
from cnnviz.engine.trace import single_image_experiment
from tests.engine.trace_checks import build


def bars(n, rng):
    """6x6 images of a horizontal bar (0), a vertical bar (1) or a diagonal (2), with noise."""
    labels = rng.integers(3, size=n)
    x = rng.normal(0, 0.1, (n, 6, 6, 1))
    for image, label in zip(x, labels):
        k = rng.integers(6)
        if label == 0:
            image[k, :, 0] += 1
        elif label == 1:
            image[:, k, 0] += 1
        else:
            image[np.arange(6), np.arange(6), 0] += 1
    return x, labels


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    x, y = bars(300, rng)
    model = build([Conv2D(4, 3, activation="relu"), MaxPooling2D(2), Flatten(), Dense(8, activation="relu"),
                   Dense(3, activation="softmax")], (6, 6, 1), optimizer={"name": "sgd", "learning_rate": 0.1})
    for layer in model.layers:  # a fresh start: the helper's random biases are too large here
        for key, value in layer.params.items():
            value *= 0.3 if key == "kernel" else 0.0
    model.fit(x, y, batch_size=16, epochs=15, verbose=0)
    assert model.evaluate(x, y) < 0.3, "the toy model learned its task"
    weights = model.weights_by_name()
    return model, weights, x[0], int(y[0])


@pytest.fixture
def model(trained):
    model, weights, _, _ = trained
    model.set_weights(weights)
    model.compile(optimizer={"name": "sgd", "learning_rate": 0.005})  # small steps: a visible path
    for layer in model.layers:
        layer.trainable = True
    return model


def params_of(model, kind):
    return {f"{layer.name}/{key}": value.copy() for layer in model.layers if isinstance(layer, kind)
            for key, value in layer.params.items()}


def test_the_prediction_flips_to_the_least_likely_class(model, trained):
    _, _, image, label = trained
    probabilities = model.predict(image[None])[0]
    assert probabilities.argmax() == label
    least = int(probabilities.argmin())
    history = list(single_image_experiment(model, image, max_steps=200))
    assert history[0]["iteration"] == 0 and history[0]["loss"] is None
    assert history[0]["target"] == least and not history[0]["flipped"]
    np.testing.assert_allclose(history[0]["probabilities"], probabilities)
    assert [h["iteration"] for h in history] == list(range(len(history)))
    last = history[-1]
    assert last["flipped"] and last["predicted"] == least and len(history) > 2
    assert not any(h["flipped"] for h in history[:-1])
    assert last["target_probability"] > history[0]["target_probability"]
    np.testing.assert_allclose(model.predict(image[None])[0], last["probabilities"])


@pytest.mark.parametrize("train, learns, frozen", [("conv", Conv2D, Dense), ("dense", Dense, Conv2D)])
def test_only_the_chosen_layers_learn_and_flags_are_restored(model, trained, train, learns, frozen):
    _, _, image, label = trained
    target = (label + 1) % 3
    before_frozen, before_learning = params_of(model, frozen), params_of(model, learns)
    history = list(single_image_experiment(model, image, target=target, train=train, max_steps=5))
    assert len(history) >= 2 and history[-1]["target"] == target
    for key, value in params_of(model, frozen).items():
        np.testing.assert_array_equal(value, before_frozen[key])
    assert any(not np.array_equal(value, before_learning[key]) for key, value in params_of(model, learns).items())
    assert all(layer.trainable for layer in model.layers)


def test_layers_frozen_by_the_user_stay_frozen(model, trained):
    _, _, image, label = trained
    first_dense = model.layers[3]
    first_dense.trainable = False
    before = first_dense.params["kernel"].copy()
    list(single_image_experiment(model, image, target=(label + 2) % 3, train="dense", max_steps=3))
    np.testing.assert_array_equal(first_dense.params["kernel"], before)
    assert [layer.trainable for layer in model.layers] == [True, True, True, False, True]


def test_no_trainable_flag_changes_while_the_experiment_runs(model, trained):
    # The GUI steps through traces of the same model meanwhile: a layer must not look frozen to them.
    _, _, image, label = trained
    experiment = single_image_experiment(model, image, target=(label + 1) % 3, train="conv", max_steps=50)
    before = params_of(model, Dense)
    next(experiment)
    next(experiment)
    assert all(layer.trainable for layer in model.layers)
    for key, value in params_of(model, Dense).items():
        np.testing.assert_array_equal(value, before[key])
    experiment.close()
    assert all(layer.trainable for layer in model.layers)


def test_a_target_already_predicted_stops_at_once(model, trained):
    _, _, image, label = trained
    history = list(single_image_experiment(model, image, target=label))
    assert len(history) == 1 and history[0]["flipped"]


def test_bad_arguments_are_refused_at_once(model, trained):
    _, _, image, _ = trained
    with pytest.raises(ValueError, match="train"):
        single_image_experiment(model, image, train="pool")
    with pytest.raises(ValueError, match="target"):
        single_image_experiment(model, image, target=3)
    with pytest.raises(ValueError, match="one image"):
        single_image_experiment(model, np.stack([image, image]))
    with pytest.raises(ValueError, match="max_steps"):
        single_image_experiment(model, image, max_steps=-1)
    for layer in model.layers:
        layer.trainable = isinstance(layer, Dense)
    with pytest.raises(ValueError, match="no trainable layer"):
        single_image_experiment(model, image, train="conv")
