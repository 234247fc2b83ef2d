"""``keras.datasets``: mnist (the digits cnnviz ships, or a Keras mnist.npz) and cifar10 (a local copy)."""
from . import cifar10, mnist  # noqa: F401
