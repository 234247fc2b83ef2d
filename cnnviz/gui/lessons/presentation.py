"""Presentation mode (F5, View > Presentation): the picture alone for a projector.

Hides the side panel, the menus, the playback bar and the status bar, scales fonts and pictures up
(``font_scale_for`` the screen's height) and goes full screen (on the second screen when there is one); Esc leaves and puts everything back. B blanks
the screen. PageDown / PageUp (what presentation clickers send) step forward / back.

A lesson takes over the clicker keys through ``set_driver``: when the driver has slides, F5 presents
the lesson and PageDown / Right / Space, PageUp / Left go to the driver's ``next()`` / ``previous()``.
"""
from __future__ import annotations

from PyQt5.QtCore import QObject, Qt, pyqtSignal
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import QAction, QApplication, QWidget



def font_scale_for(height: int) -> float:
    """Fonts and cell numbers on a projector, relative to the desk: 1.6x on a 1080-line screen, in
    proportion to the screen's height, 1.2x to 2.4x (so a 1280x800 projector still shows the equation)."""
    return min(2.4, max(1.2, 1.6 * height / 1080))
PLAYBACK_KEYS = ("play", "forward", "back")  # the window's actions whose keys a lesson takes over


def window_action(window, text: str, keys, slot, menu=None) -> QAction:
    """An action of ``window`` whose shortcuts work even with the menu bar hidden."""
    action = QAction(text, window)
    action.setShortcuts([QKeySequence(key) for key in keys])
    action.setShortcutContext(Qt.WindowShortcut)
    action.triggered.connect(slot)
    window.addAction(action)
    if menu is not None:
        menu.addAction(action)
    return action


class PresentationMode(QObject):
    """Presentation layout of a MainWindow. ``active`` tells whether it is on; ``driver`` is the
    lesson presenting (or None for the plain mode)."""

    changed = pyqtSignal(bool)

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.active = False
        self.driver = None       # set_driver: an object with slide_count(), next(), previous(), started(), stopped()
        self.presenting = None   # the driver while it presents
        self._saved = None
        self.blank = QWidget(window)
        self.blank.setStyleSheet("background: black")
        self.blank.setAttribute(Qt.WA_StyledBackground)
        self.blank.hide()
        view_menu = window.view_menu
        view_menu.addSeparator()
        self.action = window_action(window, "Presentation", ["F5"], self.start, view_menu)
        self.next_action = window_action(window, "Next", ["PgDown"], self.next)
        self.previous_action = window_action(window, "Previous", ["PgUp"], self.previous)
        self.blank_action = window_action(window, "Blank the screen", ["B"], self.toggle_blank)
        self.leave_action = window_action(window, "Leave the presentation", ["Esc"], self.leave)
        self._enable_keys(False)

    def set_driver(self, driver) -> None:
        self.driver = driver

    def _enable_keys(self, on: bool) -> None:
        for action in (self.next_action, self.previous_action, self.blank_action, self.leave_action):
            action.setEnabled(on)
        lesson = on and self.presenting is not None
        self.next_action.setShortcuts([QKeySequence(k) for k in (["PgDown", "Right", "Space"] if lesson
                                                                  else ["PgDown"])])
        self.previous_action.setShortcuts([QKeySequence(k) for k in (["PgUp", "Left"] if lesson else ["PgUp"])])
        for name in PLAYBACK_KEYS:  # two actions on one key would both stay silent
            self.window.actions_[name].setEnabled(not lesson)

    # ------------------------------------------------------------------ entering and leaving
    def start(self) -> None:
        """F5: present the lesson when one with slides is open, else the plain presentation layout."""
        if self.active:
            return
        driver = self.driver if self.driver is not None and self.driver.slide_count() else None
        self.enter(driver)

    def enter(self, driver=None, full_screen: bool = True) -> None:
        """Switch to the presentation layout; ``driver`` (a lesson) gets the clicker keys."""
        if self.active:
            return
        w = self.window
        self._saved = {"dock": w.side_dock.isVisible(), "menus": w.menuBar().isVisible(),
                       "status": w.statusBar().isVisible(), "controls": w.controls.isVisible(),
                       "full_screen": w.isFullScreen(), "font_scale": w.font_scale}
        self.active, self.presenting = True, driver
        for widget in (w.side_dock, w.menuBar(), w.statusBar(), w.controls):
            widget.hide()
        if full_screen:
            screens = QApplication.screens()
            screen = screens[1] if len(screens) > 1 else (w.screen() or QApplication.primaryScreen())
            if len(screens) > 1 and w.windowHandle() is not None:  # the projector is the second screen
                w.windowHandle().setScreen(screen)
                w.setGeometry(screen.geometry())
            w.scale_fonts(font_scale_for(screen.geometry().height()))
            w.showFullScreen()
        else:
            w.scale_fonts(font_scale_for(w.height()))
        self._enable_keys(True)
        if driver is not None:
            driver.started()
        self.changed.emit(True)

    def leave(self) -> None:
        if not self.active:
            return
        w, saved = self.window, self._saved
        driver, self.presenting = self.presenting, None
        self.active = False
        self._enable_keys(False)
        self.blank.hide()
        w.controller.pause()
        w.scale_fonts(saved["font_scale"] / w.font_scale)
        for widget, key in ((w.side_dock, "dock"), (w.menuBar(), "menus"), (w.statusBar(), "status"),
                            (w.controls, "controls")):
            widget.setVisible(saved[key])
        if not saved["full_screen"] and w.isFullScreen():
            w.showNormal()
        if driver is not None:
            driver.stopped()
        self.changed.emit(False)

    # ------------------------------------------------------------------ keys
    def next(self) -> None:
        if self.blank.isVisible():
            self.blank.hide()
        elif self.presenting is not None:
            self.presenting.next()
        else:
            self.window.controller.forward()

    def previous(self) -> None:
        if self.blank.isVisible():
            self.blank.hide()
        elif self.presenting is not None:
            self.presenting.previous()
        else:
            self.window.controller.back()

    def toggle_blank(self) -> None:
        if self.blank.isVisible():
            self.blank.hide()
        else:
            self.blank.setGeometry(self.window.rect())
            self.blank.show()
            self.blank.raise_()
