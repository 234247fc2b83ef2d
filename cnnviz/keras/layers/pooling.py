"""``keras.layers.pooling`` as older Keras code imports it."""
from . import AveragePooling2D, AvgPool2D, MaxPool2D, MaxPooling2D  # noqa: F401
