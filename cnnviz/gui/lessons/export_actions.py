"""File > Export view as image (PNG at any width, SVG) and File > Export animation (this step, or the
lesson slide's range, as GIF or MP4), drawn by the window's own views."""
from __future__ import annotations

from pathlib import Path

from PyQt5.QtCore import QObject, QRectF, QSize
from PyQt5.QtGui import QImage, QPainter
from PyQt5.QtWidgets import QFileDialog, QInputDialog

from .export import GifWriter, Mp4Writer, grab
from .model import LessonError, range_positions
from .presentation import window_action


def render_image(widget, width: int) -> QImage:
    """``widget`` (a view) drawn at ``width`` pixels wide (height in its proportions), sharp: a scaled painter."""
    height = max(1, round(width * widget.height() / widget.width()))
    image = QImage(width, height, QImage.Format_RGB32)
    image.fill(0xFFFFFFFF)
    painter = QPainter(image)
    painter.scale(width / widget.width(), height / widget.height())
    widget.render(painter)
    painter.end()
    return image


def render_svg(widget, path) -> None:
    from PyQt5.QtSvg import QSvgGenerator

    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(QSize(widget.width(), widget.height()))
    generator.setViewBox(QRectF(0, 0, widget.width(), widget.height()))
    generator.setTitle(f"cnnviz: {widget.title}")
    painter = QPainter(generator)
    widget.render(painter)
    painter.end()


class ExportActions(QObject):
    """The two File menu entries for ``window`` showing ``state``; ``lessons`` (a LessonPanel) gives the
    slide's range. A child of the window, so it lives as long as the window."""

    def __init__(self, state, window, lessons):
        super().__init__(window)
        self.state, self.window_, self.lessons = state, window, lessons
        menu = window.file_menu
        before = window.quit_action
        self.image_action = window_action(window, "Export view as image…", [], self.export_image_dialog)
        self.animation_action = window_action(window, "Export animation…", [], self.export_animation_dialog)
        menu.insertAction(before, self.image_action)
        menu.insertAction(before, self.animation_action)
        menu.insertSeparator(before)

    @property
    def view(self):
        return self.window_.tabs.currentWidget()

    # ------------------------------------------------------------------ image
    def export_image_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window_, "Export view as image", f"{self.view.name}.png",
                                              "PNG image (*.png);;SVG drawing (*.svg)")
        if not path:
            return
        width = self.view.width() * 2
        if not path.lower().endswith(".svg"):
            width, ok = QInputDialog.getInt(self.window_, "Image width", "Width in pixels:", width, 64, 16384)
            if not ok:
                return
        self.export_image(path, width)

    def export_image(self, path, width: int) -> bool:
        path = Path(path)
        if path.suffix.lower() == ".svg":
            render_svg(self.view, path)
            ok = path.is_file()
        else:
            ok = render_image(self.view, width).save(str(path), "PNG")
        if not ok:
            self.state.report("warning", "Cannot export the view", f"{path}: could not be written")
        return ok

    # ------------------------------------------------------------------ animation
    def positions(self, which: str) -> list[int]:
        """'step': the current step from its first frame at the chosen granularity; 'slide': the range of
        the lesson slide on screen."""
        controller = self.window_.controller
        if which == "slide":
            if self.lessons.prepared is None:
                raise LessonError("no lesson slide is shown: choose one in the Lesson tab")
            return self.lessons.prepared.positions
        step = controller.step
        return range_positions(self.state.trace, step.first_frame, step.first_frame + step.frame_count - 1,
                               controller.granularity)

    def export_animation_dialog(self) -> None:
        choices = ["this step"] + (["the slide's range"] if self.lessons.prepared is not None else [])
        which, ok = QInputDialog.getItem(self.window_, "Export animation", "Frames:", choices, 0, False)
        if not ok:
            return
        path, _ = QFileDialog.getSaveFileName(self.window_, "Export animation", f"{self.view.name}.gif",
                                              "GIF (*.gif);;MP4 video (*.mp4)")
        if not path:
            return
        loop = True
        if not path.lower().endswith(".mp4"):
            played, ok = QInputDialog.getItem(self.window_, "Export animation", "The GIF:",
                                              ["loops", "plays once"], 0, False)
            if not ok:
                return
            loop = played == "loops"
        self.export_animation(path, "step" if which == "this step" else "slide", loop)

    def export_animation(self, path, which: str = "step", loop: bool = True) -> bool:
        """The view's frames of ``which`` as a GIF or MP4 (by the file's suffix); the cursor comes back."""
        path = Path(path)
        window, view = self.window_, self.view
        controller = window.controller
        back_to = controller.cursor.position
        try:
            positions = self.positions(which)
            size = (view.width() // 2 * 2, view.height() // 2 * 2)

            def frames():
                for position in positions:
                    controller.jump_global(position)
                    yield grab(view, size)

            if path.suffix.lower() == ".mp4":
                writer = Mp4Writer(path, controller.fps)
                try:
                    for frame in frames():
                        writer.add(frame)
                    writer.finish()
                except BaseException:
                    writer.abort()
                    raise
            else:
                gif = GifWriter(path.with_suffix(".gif"), controller.fps, loop)
                try:
                    gif.write(frames())
                except BaseException:
                    gif.abort()
                    raise
        except (LessonError, OSError) as error:
            self.state.report("warning", "Cannot export the animation", str(error))
            return False
        finally:
            controller.jump_global(back_to)
        window.statusBar().showMessage(f"{len(positions)} frames written to {path}", 5000)
        return True
