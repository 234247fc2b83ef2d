"""The app's last line of defence: an exception no slot caught becomes a message, not an abort.

PyQt5 aborts the whole application on an exception that escapes a slot. ``install(state)``
replaces that with: a ``ValueError`` (bad input that reached a path without its own check) is
shown as a message; anything else is a bug, so its traceback goes to stderr (the log) and a
message says so. Either way the window stays open with what it had.
"""
from __future__ import annotations

import sys
import traceback


def install(state) -> None:
    """Route exceptions that escape Qt slots to ``state.report`` (the app's one way to tell the user)."""
    def report(kind, error, trace):
        if issubclass(kind, KeyboardInterrupt):
            return sys.__excepthook__(kind, error, trace)
        if issubclass(kind, ValueError):
            state.report("warning", "Cannot do that", f"{error}\n\nNothing was changed.")
            return None
        traceback.print_exception(kind, error, trace, file=sys.stderr)
        state.report("error", "Something went wrong", f"{kind.__name__}: {error}\n\nThis is a bug in cnnviz; its "
                     "details are in the terminal. The window keeps what it had.")
        return None

    sys.excepthook = report
