"""cnnviz: watch a convolutional network learn, one window at a time."""
__version__ = "0.1.0"
