"""A small CNN learns horizontal vs vertical bars."""
import numpy as np

from cnnviz.engine import Sequential
from cnnviz.engine.layers import Conv2D, Dense, Flatten, Input, MaxPooling2D
from cnnviz.engine.optimizers import Adam


def bars(n: int, seed: int, size: int = 8):
    """n noisy images (size, size, 1) with one bright bar; label 0 horizontal, 1 vertical."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 0.2, size=(n, size, size, 1)).astype(np.float32)
    labels = rng.integers(2, size=n)
    where = rng.integers(size, size=n)
    for image, label, line in zip(x, labels, where):
        if label == 0:
            image[line, :, 0] += 1.0
        else:
            image[:, line, 0] += 1.0
    return x, labels


def test_small_cnn_learns_bars():
    x, y = bars(400, seed=0)
    x_test, y_test = bars(200, seed=1)
    model = Sequential(seed=0)
    model.add(Input(input_shape=(8, 8, 1)))
    model.add(Conv2D(8, kernel_size=(3, 3), activation="relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Flatten())
    model.add(Dense(2, activation="softmax"))
    model.compile(optimizer=Adam(learning_rate=0.01), loss="categorical_crossentropy", metrics=["accuracy"])
    _, before = model.evaluate(x_test, y_test)
    history = model.fit(x, y, batch_size=16, epochs=10, validation_data=(x_test, y_test), verbose=0)
    _, after = model.evaluate(x_test, y_test)
    assert before < 0.8
    assert after >= 0.95, history.history
    assert history.history["loss"][-1] < history.history["loss"][0]
