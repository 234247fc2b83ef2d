"""The pure-NumPy CNN engine. Never imports Qt, pyqtgraph, cnnviz.gui or cnnviz.data (an
import-linter contract in the tests enforces it)."""
from .layers import *  # noqa: F401,F403  (every layer class: layers.__all__)
from .model import Callback, History, Sequential  # noqa: F401
from .optimizers import SGD, Adadelta, Adagrad, Adam, RMSprop  # noqa: F401
