"""Lessons: lesson files (model.py, no Qt), presenting them (presentation.py, panel.py) and exporting
every slide as GIF, MP4 and PNG frames (export.py, the ``cnnviz-export`` command)."""
