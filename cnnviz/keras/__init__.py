"""A Keras-shaped front door to cnnviz: replace ``keras`` (or ``tensorflow.keras``) with
``cnnviz.keras`` in a tutorial's import lines and it runs on the NumPy engine.

    from cnnviz.keras.models import Sequential, load_model
    from cnnviz.keras.layers import Input, Conv2D, MaxPooling2D, Dropout, Flatten, Dense
    from cnnviz.keras.datasets import mnist
    from cnnviz.keras.utils import to_categorical
    import cnnviz.keras as keras            # keras.Sequential, keras.layers, keras.utils, ...

Models are the engine's ``Sequential``: the app can trace and animate them, and ``model.save``
writes files that Keras 3 opens. Keras arguments cnnviz does not implement are refused by name.
"""
from .. import __version__  # noqa: F401
from . import backend, callbacks, datasets, layers, losses, models, optimizers, utils  # noqa: F401
from .layers import Input  # noqa: F401
from .models import Sequential, load_model, save_model  # noqa: F401
