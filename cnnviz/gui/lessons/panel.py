"""The Lesson menu, the Lesson side panel, presenting a lesson with a clicker and the presenter window.

Lesson > New / Open / Save (Ctrl+Shift+N / O / S), Add this view as a slide (Ctrl+B), Present (F5).
The panel lists the slides (drag to reorder, double-click to rename, Delete), sets a slide's range
from the cursor ("from here" / "to here") and holds the lecturer's note.

Presenting (see presentation.py for the layout): PageDown / Right / Space play the slide's range, or
when it has played go to the next slide; PageUp / Left go back to the start of the range, then to the
previous slide. Slides that cannot be shown are skipped with a message that names them.
"""
from __future__ import annotations

from pathlib import Path

from PyQt5.QtCore import QEvent, Qt, QTimer
from PyQt5.QtWidgets import (QAbstractItemView, QApplication, QFileDialog, QHBoxLayout, QLabel, QListWidget,
                             QListWidgetItem, QMenu, QMessageBox, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget)

from .model import SUFFIX, Lesson, LessonError, load_lesson, shipped_mnist
from .presentation import window_action
from .slides import capture_slide, show_slide

FILTER = f"cnnviz lessons (*{SUFFIX});;JSON files (*.json)"


class PresenterWindow(QWidget):
    """The lecturer's view on the laptop screen: this slide's title and note, the next slide's title."""

    def __init__(self):
        super().__init__(None, Qt.Window)
        self.setWindowTitle("cnnviz — presenter view")
        self.position = QLabel()
        self.title = QLabel()
        self.title.setStyleSheet("font-size: 20pt; font-weight: bold")
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.note.setStyleSheet("font-size: 16pt")
        self.next_title = QLabel()
        self.next_title.setStyleSheet("font-size: 14pt; color: gray")
        layout = QVBoxLayout(self)
        for widget in (self.position, self.title, self.note):
            layout.addWidget(widget)
        layout.setStretch(2, 1)
        layout.addWidget(self.next_title)
        self.resize(700, 450)

    def show_slide(self, lesson: Lesson, index: int) -> None:
        slide = lesson.slides[index]
        self.position.setText(f"slide {index + 1} of {len(lesson.slides)}")
        self.title.setText(slide.title)
        self.note.setText(slide.problem or slide.note or "(no note)")
        following = lesson.slides[index + 1].title if index + 1 < len(lesson.slides) else "(end of the lesson)"
        self.next_title.setText(f"Next: {following}")


class LessonPanel(QWidget):
    """The lesson shown in ``window`` (a MainWindow of ``state``): menu, side panel, and presenting
    through ``presentation``."""

    def __init__(self, state, window, presentation):
        super().__init__()
        self.state = state
        self.window_ = window
        self.presentation = presentation
        self.lesson = None
        self.index = -1         # the slide shown, or -1
        self.prepared = None    # its Prepared
        self.played = 0         # index into prepared.positions while presenting
        self.dirty = False
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self.presenter = PresenterWindow()

        self.list = QListWidget()
        self.list.setDragDropMode(QAbstractItemView.InternalMove)
        self.list.setEditTriggers(QAbstractItemView.DoubleClicked | QAbstractItemView.EditKeyPressed)
        self.list.model().rowsMoved.connect(self._rows_moved)
        self.list.itemChanged.connect(self._renamed)
        self.list.currentRowChanged.connect(self._row_chosen)
        self.range_label = QLabel()
        self.problem_label = QLabel()
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet("color: #b00020")
        self.from_button = QPushButton("From here")
        self.from_button.setToolTip("The slide's range starts at the current frame")
        self.from_button.clicked.connect(lambda: self.set_range_end("start"))
        self.to_button = QPushButton("To here")
        self.to_button.setToolTip("The slide's range ends at the current frame")
        self.to_button.clicked.connect(lambda: self.set_range_end("end"))
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self.delete_slide)
        self.note = QPlainTextEdit()
        self.note.setPlaceholderText("The lecturer's note for this slide (shown in the presenter view)")
        self.note.textChanged.connect(self._note_edited)
        buttons = QHBoxLayout()
        for button in (self.from_button, self.to_button, self.delete_button):
            button.setFocusPolicy(Qt.NoFocus)
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 2)
        layout.addWidget(self.range_label)
        layout.addLayout(buttons)
        layout.addWidget(self.problem_label)
        layout.addWidget(QLabel("Note"))
        layout.addWidget(self.note, 1)

        self.menu = menu = QMenu("&Lesson", window)
        window.menuBar().insertMenu(window.help_menu.menuAction(), menu)
        self.new_action = window_action(window, "New lesson", ["Ctrl+Shift+N"], self.new_lesson, menu)
        self.open_action = window_action(window, "Open lesson…", ["Ctrl+Shift+O"], self.open_dialog, menu)
        self.save_action = window_action(window, "Save lesson", ["Ctrl+Shift+S"], self.save, menu)
        self.save_as_action = window_action(window, "Save lesson as…", [], self.save_as, menu)
        menu.addSeparator()
        self.add_action = window_action(window, "Add this view as a slide", ["Ctrl+B"], self.add_slide, menu)
        menu.addSeparator()
        # F5 itself is View > Presentation, which presents the lesson when it has slides
        self.present_action = window_action(window, "Present\tF5", [], presentation.start, menu)
        presentation.set_driver(self)
        window.add_panel(self, "Lesson")
        window.installEventFilter(self)  # after the training panel's: asked first, so Cancel stops it all
        self._refresh()

    # ------------------------------------------------------------------ files
    def new_lesson(self) -> None:
        if not self._may_discard():
            return
        self._set_lesson(Lesson())

    def _may_discard(self) -> bool:
        """True when there is nothing unsaved, or the lecturer saved it or chose to discard it."""
        if not self.dirty:
            return True
        answer = QMessageBox.question(self.window_, "Unsaved lesson", "The lesson has changes that are not saved.",
                                      QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save)
        if answer == QMessageBox.Save:
            return self.save()
        return answer == QMessageBox.Discard

    def eventFilter(self, watched, event) -> bool:
        """Closing the window with an unsaved lesson asks first (Cancel keeps the window open).

        The event type is checked first: while the garbage collector tears down a closed window, Qt still
        sends its children events after this panel's attributes are gone."""
        if event.type() == QEvent.Close and watched is self.window_ and not self._may_discard():
            event.ignore()
            return True
        return False

    def open_dialog(self) -> None:
        if not self._may_discard():
            return
        path, _ = QFileDialog.getOpenFileName(self.window_, "Open lesson", "", FILTER)
        if path:
            self.open(path)

    def open(self, path) -> bool:
        """Open a lesson; a slide that cannot be shown is named in one message and the rest still works."""
        try:
            lesson = load_lesson(path)
        except LessonError as error:
            self.state.report("warning", "Cannot open the lesson", str(error))
            return False
        problems = lesson.check()
        self._set_lesson(lesson)
        if problems:
            self.state.report("warning", "Some slides cannot be shown",
                              "These slides are kept but skipped until fixed:\n\n" + "\n".join(problems))
        usable = [k for k, slide in enumerate(lesson.slides) if not slide.problem]
        if usable:
            self.list.setCurrentRow(usable[0])
        return True

    def save(self) -> bool:
        if self.lesson is None:
            return False
        if self.lesson.path is None:
            return self.save_as()
        return self.save_to(self.lesson.path)

    def save_as(self) -> bool:
        if self.lesson is None:
            return False
        path, _ = QFileDialog.getSaveFileName(self.window_, "Save lesson", f"lesson{SUFFIX}", FILTER)
        return bool(path) and self.save_to(path)

    def save_to(self, path) -> bool:
        path = Path(path)
        if not path.name.endswith(".json"):
            path = path.with_name(path.name + SUFFIX)
        try:
            self.lesson.save(path)
        except LessonError as error:
            self.state.report("warning", "Cannot save the lesson", str(error))
            return False
        self.dirty = False
        self._refresh()
        self.state.report("info", "Lesson saved", f"lesson saved to {path}")
        return True

    def _set_lesson(self, lesson) -> None:
        self.lesson, self.index, self.prepared, self.dirty = lesson, -1, None, False
        self._fill_list()

    # ------------------------------------------------------------------ slides
    def slide_count(self) -> int:
        return 0 if self.lesson is None else len(self.lesson.slides)

    def add_slide(self) -> None:
        """Ctrl+B: the window as it is now becomes a new slide after the current one."""
        if self.lesson is None:
            self._set_lesson(Lesson())
        window = self.window_
        try:
            slide = capture_slide(self.state, window, window.controller.step.title, shipped_mnist())
        except LessonError as error:
            self.state.report("warning", "Cannot add the slide", str(error))
            return
        at = self.index + 1 if self.index >= 0 else len(self.lesson.slides)
        self.lesson.slides.insert(at, slide)
        self.dirty = True
        self._fill_list()
        self.list.blockSignals(True)
        self.list.setCurrentRow(at)
        self.list.blockSignals(False)
        self.index = at
        self._prepare(at)
        self._refresh()

    def delete_slide(self) -> None:
        row = self.list.currentRow()
        if self.lesson is None or row < 0:
            return
        del self.lesson.slides[row]
        self.dirty = True
        self.index, self.prepared = -1, None
        self._fill_list()

    def set_range_end(self, which: str) -> None:
        """'start' or 'end' of the current slide's range becomes the cursor's frame."""
        if self.prepared is None:
            return
        slide = self.prepared.slide
        position = self.window_.controller.cursor.position
        if which == "start":
            slide.start, slide.end = position, max(slide.end, position)
        else:
            slide.start, slide.end = min(slide.start, position), position
        self.dirty = True
        self._prepare(self.index)
        self._refresh()

    def _prepare(self, index: int):
        try:
            self.prepared = self.lesson.prepare(index)
        except LessonError as error:
            self.prepared = None
            self.state.report("info", "Slide skipped", str(error))
        return self.prepared

    def go_to(self, index: int, at_end: bool = False) -> bool:
        """Show slide ``index`` at the first (or last) frame of its range; False when it cannot be shown."""
        self.timer.stop()
        self.index = index
        prepared = self._prepare(index)
        self._refresh()
        self.presenter.show_slide(self.lesson, index)
        if prepared is None:
            return False
        self.played = len(prepared.positions) - 1 if at_end else 0
        show_slide(self.state, self.window_, prepared, prepared.positions[self.played])
        return True

    # ------------------------------------------------------------------ presenting (the driver of PresentationMode)
    def started(self) -> None:
        screens = QApplication.screens()
        if len(screens) > 1:  # the projector shows the window; the laptop the presenter view
            self.presenter.setGeometry(screens[0].availableGeometry())
            self.presenter.show()
        start = self.index if 0 <= self.index < self.slide_count() else 0
        self._go_usable(start, +1)

    def stopped(self) -> None:
        self.timer.stop()
        self.presenter.hide()

    def _go_usable(self, index: int, direction: int, at_end: bool = False) -> bool:
        """Go to ``index`` or the nearest slide that can be shown in ``direction``."""
        while 0 <= index < self.slide_count():
            if self.go_to(index, at_end):
                self.list.blockSignals(True)
                self.list.setCurrentRow(index)
                self.list.blockSignals(False)
                return True
            index += direction
        return False

    def next(self) -> None:
        """PageDown: finish a playing range, else play the range, else go to the next slide."""
        if self.prepared is None:
            self._go_usable(self.index + 1, +1)
        elif self.timer.isActive():
            self.timer.stop()
            self._show_played(len(self.prepared.positions) - 1)
        elif self.played < len(self.prepared.positions) - 1:
            self.timer.start(round(1000 / self.prepared.slide.fps))
        else:
            self._go_usable(self.index + 1, +1)

    def previous(self) -> None:
        """PageUp: back to the start of the range, else to the previous slide."""
        if self.prepared is not None and (self.timer.isActive() or self.played > 0):
            self.timer.stop()
            self._show_played(0)
        else:
            self._go_usable(self.index - 1, -1)

    def _tick(self) -> None:
        self._show_played(self.played + 1)
        if self.played >= len(self.prepared.positions) - 1:
            self.timer.stop()

    def _show_played(self, played: int) -> None:
        self.played = played
        self.window_.controller.jump_global(self.prepared.positions[played])

    # ------------------------------------------------------------------ the panel
    def _fill_list(self) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for slide in self.lesson.slides if self.lesson else []:
            item = QListWidgetItem(slide.title)
            item.setFlags(item.flags() | Qt.ItemIsEditable | Qt.ItemIsDragEnabled)
            if slide.problem:
                item.setForeground(Qt.red)
                item.setToolTip(slide.problem)
            self.list.addItem(item)
        self.list.blockSignals(False)
        self._refresh()

    def _refresh(self) -> None:
        has_lesson = self.lesson is not None
        for action in (self.save_action, self.save_as_action):
            action.setEnabled(has_lesson)
        slide = self.lesson.slides[self.index] if has_lesson and 0 <= self.index < self.slide_count() else None
        for widget in (self.from_button, self.to_button, self.note):
            widget.setEnabled(slide is not None and slide.raw is None)
        self.delete_button.setEnabled(slide is not None)
        self.note.blockSignals(True)
        self.note.setPlainText("" if slide is None else slide.note)
        self.note.blockSignals(False)
        if slide is None:
            self.range_label.setText("No slide chosen" if has_lesson else "No lesson: Lesson > New, or Ctrl+B")
        else:
            frames = "" if self.prepared is None else f", {len(self.prepared.positions)} shown"
            self.range_label.setText(f"frames {slide.start + 1} to {slide.end + 1} by {slide.granularity}{frames}")
        self.problem_label.setText(slide.problem if slide is not None and slide.problem else "")
        title = self.lesson.title if has_lesson else ""
        self.window_.setWindowTitle(f"cnnviz — {title}{' *' if self.dirty else ''}" if has_lesson else
                                    "cnnviz — how a CNN learns, step by step")

    def _row_chosen(self, row: int) -> None:
        if self.lesson is not None and 0 <= row < self.slide_count() and row != self.index:
            self.go_to(row)

    def _rows_moved(self, _parent, start, _end, _destination, row) -> None:
        shown = self.lesson.slides[self.index] if 0 <= self.index < self.slide_count() else None
        slide = self.lesson.slides.pop(start)
        self.lesson.slides.insert(row if row < start else row - 1, slide)
        self.index = next((k for k, s in enumerate(self.lesson.slides) if s is shown), -1)
        self.dirty = True
        self._refresh()

    def _renamed(self, item) -> None:
        slide = self.lesson.slides[self.list.row(item)]
        if item.text().strip() and item.text() != slide.title:
            slide.title = item.text().strip()
            self.dirty = True
            self._refresh()

    def _note_edited(self) -> None:
        if self.lesson is not None and 0 <= self.index < self.slide_count():
            self.lesson.slides[self.index].note = self.note.toPlainText()
            self.dirty = True
