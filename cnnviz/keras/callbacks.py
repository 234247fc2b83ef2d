"""``keras.callbacks``: Callback, History, EarlyStopping, ModelCheckpoint (atomic), LambdaCallback, ProgbarLogger."""
from ..engine.callbacks import (Callback, EarlyStopping, History, LambdaCallback, ModelCheckpoint,  # noqa: F401
                                ProgbarLogger)
