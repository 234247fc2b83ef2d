"""GUI test hygiene: windows of one test are destroyed before the next one starts, settings go
to a temporary file, and message boxes are recorded instead of opened.

pytest-qt closes each test's widgets and calls deleteLater(); here the deferred deletions are
carried out and Python's garbage is collected right then, so no window of an earlier test is
torn down by the garbage collector in the middle of a later test's painting.
"""
import gc

import pytest
from PyQt5.QtCore import QCoreApplication, QEvent, QSettings
from PyQt5.QtWidgets import QMessageBox

from cnnviz.gui import weights_io


@pytest.fixture(autouse=True)
def destroy_closed_windows(qapp):
    yield
    QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    gc.collect()
    qapp.processEvents()


@pytest.fixture(autouse=True)
def temporary_settings(tmp_path, monkeypatch):
    """Recent files go to a temporary ini file, never the user's settings."""
    monkeypatch.setattr(weights_io, "settings", lambda: QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))


@pytest.fixture
def messages(monkeypatch):
    """Every QMessageBox.warning/information shown, as (title, text); nothing modal opens."""
    shown = []
    for kind in ("warning", "information", "critical"):
        monkeypatch.setattr(QMessageBox, kind, staticmethod(lambda parent, title, text, *a, **k: shown.append(
            (title, text)) or QMessageBox.Ok))
    return shown
