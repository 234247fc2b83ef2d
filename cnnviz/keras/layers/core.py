"""``keras.layers.core`` as older Keras code imports it."""
from . import Activation, Dense, Dropout, Flatten  # noqa: F401
