"""Tests run with no display: Qt draws offscreen (set before anything imports Qt)."""
import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"
