"""The cnnviz desktop app (PyQt5 + pyqtgraph). May import the engine; the engine never imports this."""
