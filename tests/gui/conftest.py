"""GUI test hygiene: windows of one test are destroyed before the next one starts.

pytest-qt closes each test's widgets and calls deleteLater(); here the deferred deletions are
carried out and Python's garbage is collected right then, so no window of an earlier test is
torn down by the garbage collector in the middle of a later test's painting.
"""
import gc

import pytest
from PyQt5.QtCore import QCoreApplication, QEvent


@pytest.fixture(autouse=True)
def destroy_closed_windows(qapp):
    yield
    QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    gc.collect()
    qapp.processEvents()
