"""Makes flip-after.npz for single-image-experiment slides of update-rules.cnnviz-lesson.json: the lecture
net's shipped weights after the single-image experiment (cnnviz.engine.experiment) has trained test
sample SAMPLE towards class TARGET until the prediction flipped. Run from the repository root:

    .venv/bin/python resources/lessons/make_flip_weights.py
"""
from pathlib import Path

from cnnviz.engine.experiment import single_image_experiment
from cnnviz.gui.lessons.model import shipped_mnist
from cnnviz.paths import WEIGHTS
from cnnviz.presets import load_preset

SAMPLE, TARGET = 10, 1  # a 7 in the shipped MNIST test set, trained towards "1"

model = load_preset("lecture")
model.load_weights(WEIGHTS / "lecture.npz")
model.compile(optimizer={"name": "sgd", "learning_rate": 0.001}, loss="categorical_crossentropy")
records = list(single_image_experiment(model, shipped_mnist().x_test[SAMPLE], target=TARGET, max_steps=200))
last = records[-1]
assert last["flipped"], f"no flip in {last['iteration']} steps"
print(f"flipped to {last['predicted']} after {last['iteration']} steps (p = {last['target_probability']:.3f})")
model.save_weights(Path(__file__).with_name("flip-after.npz"))
