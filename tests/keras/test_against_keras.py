"""Training in cnnviz takes the same steps as training in Keras 3: the same start (a cnnviz model
saved as .keras and opened in Keras), the same batches, the same weights after them."""
import importlib.util
import os

import numpy as np
import pytest

from cnnviz.keras import layers, models, utils
from cnnviz.keras.datasets import mnist

if importlib.util.find_spec("torch") is not None:
    os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")


@pytest.mark.parametrize("optimizer, keras_class", [
    ({"name": "sgd", "learning_rate": 0.05, "momentum": 0.9}, "SGD"),
    ({"name": "sgd", "learning_rate": 0.05, "momentum": 0.9, "nesterov": True}, "SGD"),
    ({"name": "adagrad"}, "Adagrad"),
    ({"name": "adadelta", "learning_rate": 1.0}, "Adadelta"),
])
def test_the_same_batches_give_the_same_weights_as_keras(tmp_path, optimizer, keras_class):
    (x, y), _ = mnist.load_data()
    x, y = x[:256, ..., None].astype("float32") / 255, utils.to_categorical(y[:256], 10)
    ours = models.Sequential([layers.Input(shape=(28, 28, 1)), layers.Conv2D(4, (3, 3), activation="relu"),
                              layers.MaxPooling2D((2, 2)), layers.Conv2D(8, (3, 3), padding="same", activation="relu"),
                              layers.AveragePooling2D((2, 2)), layers.Flatten(), layers.Dense(16, activation="relu"),
                              layers.Dense(10, activation="softmax")], seed=1)
    ours.compile(optimizer=dict(optimizer), loss="categorical_crossentropy", metrics=["accuracy"])
    ours.save(tmp_path / "start.keras")
    theirs = keras.models.load_model(tmp_path / "start.keras")
    settings = {key: value for key, value in optimizer.items() if key != "name"}
    theirs.compile(optimizer=getattr(keras.optimizers, keras_class)(**settings), loss="categorical_crossentropy",
                   metrics=["accuracy"])
    ours.fit(x, y, batch_size=64, epochs=2, shuffle=False, verbose=0)
    theirs.fit(x, y, batch_size=64, epochs=2, shuffle=False, verbose=0)
    for mine, keras_weights in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(mine, np.asarray(keras_weights), atol=2e-6)
