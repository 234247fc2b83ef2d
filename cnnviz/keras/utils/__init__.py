"""``keras.utils``: to_categorical (also as ``utils.np_utils.to_categorical``), set_random_seed."""
from ...engine.model import set_random_seed  # noqa: F401
from .np_utils import to_categorical  # noqa: F401
