"""``keras.optimizers``: the engine's optimizers with Keras 3 defaults. Older Keras' ``lr=`` means
``learning_rate=``; gradient clipping, EMA, amsgrad and Keras' decoupled weight decay are refused."""
from ..engine import optimizers as engine
from .adapters import keras_signature

_KERAS_ONLY = {"weight_decay": None, "clipnorm": None, "clipvalue": None, "global_clipnorm": None, "use_ema": False,
               "ema_momentum": 0.99, "ema_overwrite_frequency": None, "loss_scale_factor": None,
               "gradient_accumulation_steps": None, "name": (None,)}
_RENAMED = {"lr": "learning_rate"}

SGD = keras_signature(engine.SGD, _KERAS_ONLY, _RENAMED, layer=False)
Adam = keras_signature(engine.Adam, {**_KERAS_ONLY, "amsgrad": False}, _RENAMED, layer=False)
RMSprop = keras_signature(engine.RMSprop, {**_KERAS_ONLY, "momentum": 0.0, "centered": False}, _RENAMED, layer=False)
Adagrad = keras_signature(engine.Adagrad, _KERAS_ONLY, _RENAMED, layer=False)
Adadelta = keras_signature(engine.Adadelta, _KERAS_ONLY, _RENAMED, layer=False)
Optimizer = engine.Optimizer
get = engine.get_optimizer
