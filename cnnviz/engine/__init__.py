"""The pure-NumPy CNN engine. Never imports Qt or pyqtgraph (a test enforces it)."""
from .layers import (Activation, AveragePooling2D, Conv2D, Dense, Dropout, Flatten, Input,  # noqa: F401
                     MaxPooling2D)
from .model import Callback, History, Sequential  # noqa: F401
from .optimizers import SGD, Adadelta, Adagrad, Adam, RMSprop  # noqa: F401
