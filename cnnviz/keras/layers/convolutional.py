"""``keras.layers.convolutional`` as older Keras code imports it."""
from . import AveragePooling2D, AvgPool2D, Conv2D, MaxPool2D, MaxPooling2D  # noqa: F401

Convolution2D = Conv2D
