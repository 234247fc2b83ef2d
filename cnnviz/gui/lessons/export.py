"""Export a lesson's slides as GIF, MP4 and PNG frames, rendered offscreen by the app's own views.

    cnnviz-export LESSON --out DIR [--format gif,mp4,png] [--size 1920x1080] [--fps N] [--once]

For slide k it writes ``DIR/NN-<slug>.gif``, ``DIR/NN-<slug>.mp4`` and ``DIR/NN-<slug>/frame-NNNN.png``
(one frame per position of the slide's range), then ``DIR/index.html``, a handout that shows them in
order with titles and notes. Every file is written under a temporary name and renamed when complete,
so Ctrl+C (or a crash) leaves complete files only.

GIFs use one palette per slide that holds both colour maps' ramps (the diverging blue-white-red and
viridis) besides the colours of the first frame, so signed values keep their colours; they loop
unless ``--once``. MP4s are H.264 (yuv420p, plays everywhere) through imageio-ffmpeg, whose wheel
carries ffmpeg.
"""
from __future__ import annotations

import argparse
import html
import os
import shutil
import sys
from pathlib import Path

import numpy as np

from ...engine.weights import atomic_write
from .model import Lesson, LessonError, Prepared, load_lesson, shipped_mnist

FORMATS = ("gif", "mp4", "png")
LAYOUT_WIDTH = 1280  # smaller frames are drawn at this width and scaled down
RAMP_COLOURS = 64  # palette entries per colour map; the rest of the 256 come from the first frame


def parse_size(text: str) -> tuple[int, int]:
    """'1920x1080' -> (1920, 1080); even numbers (H.264 needs them), 320 to 7680 wide, 240 to 4320 high."""
    try:
        width, height = (int(n) for n in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"size {text!r}: expected WIDTHxHEIGHT, for example 1920x1080") from None
    if not (320 <= width <= 7680 and 240 <= height <= 4320) or width % 2 or height % 2:
        raise ValueError(f"size {text!r}: expected even numbers, 320 to 7680 wide and 240 to 4320 high")
    return width, height


def parse_formats(text: str) -> tuple[str, ...]:
    formats = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"format {text!r}: expected one or more of {','.join(FORMATS)} separated by commas")
    return formats


# ---------------------------------------------------------------------- writers
class GifWriter:
    """A GIF from a stream of frames (H, W, 3) uint8, quantized to one palette that keeps the colour maps."""

    def __init__(self, path: Path, fps: int, loop: bool):
        self.path, self.fps, self.loop = path, fps, loop
        self.partial = path.with_name(f".{path.name}.partial")

    @staticmethod
    def palette(first: np.ndarray):
        """A 'P' image whose 256 colours: the diverging and the sequential ramps, greys, and the most
        common colours of ``first`` (text, panels)."""
        from PIL import Image

        from ..colormaps import DIVERGING_LUT, SEQUENTIAL_LUT

        step = 256 // RAMP_COLOURS
        ramps = [DIVERGING_LUT[::step, :3], SEQUENTIAL_LUT[::step, :3], np.repeat(np.arange(0, 256, 17)[:, None], 3, 1)]
        fixed = np.concatenate(ramps).astype(np.uint8)
        adaptive = Image.fromarray(first).quantize(256 - len(fixed), method=Image.Quantize.MEDIANCUT)
        colours = np.asarray(adaptive.getpalette()[: 3 * (256 - len(fixed))], np.uint8).reshape(-1, 3)
        image = Image.new("P", (1, 1))
        image.putpalette(np.concatenate([fixed, colours]).ravel().tolist())
        return image

    def write(self, frames) -> None:
        """Consume ``frames`` (an iterator of (H, W, 3) uint8) and write the GIF."""
        from PIL import Image

        frames = iter(frames)
        first = next(frames)
        palette = self.palette(first)

        def quantized(rest):
            for frame in rest:
                yield Image.fromarray(frame).quantize(palette=palette, dither=Image.Dither.NONE)

        head = Image.fromarray(first).quantize(palette=palette, dither=Image.Dither.NONE)
        options = {"loop": 0} if self.loop else {}  # no loop block: browsers play it once
        head.save(self.partial, format="GIF", save_all=True, append_images=quantized(frames), optimize=False,
                  duration=round(1000 / self.fps), **options)
        os.replace(self.partial, self.path)

    def abort(self) -> None:
        self.partial.unlink(missing_ok=True)


class Mp4Writer:
    """H.264 MP4 (yuv420p) through imageio-ffmpeg."""

    @staticmethod
    def check_installed() -> None:
        """Raises LessonError saying what to install when imageio or imageio-ffmpeg is missing."""
        try:
            import imageio.v2  # noqa: F401
            import imageio_ffmpeg  # noqa: F401  (the ffmpeg binary comes with this wheel)
        except ImportError:
            raise LessonError("MP4 needs imageio and imageio-ffmpeg: pip install 'cnnviz[export]'") from None

    def __init__(self, path: Path, fps: int):
        self.check_installed()
        import imageio.v2 as imageio

        self.path = path
        self.partial = path.with_name(f".{path.stem}.partial.mp4")
        self.writer = imageio.get_writer(self.partial, format="FFMPEG", mode="I", fps=fps, codec="libx264",
                                         pixelformat="yuv420p", macro_block_size=2, quality=7,
                                         ffmpeg_log_level="error")

    def add(self, frame: np.ndarray) -> None:
        self.writer.append_data(frame)

    def finish(self) -> None:
        self.writer.close()
        os.replace(self.partial, self.path)

    def abort(self) -> None:
        try:
            self.writer.close()
        finally:
            self.partial.unlink(missing_ok=True)


class PngWriter:
    """``folder/frame-NNNN.png``, written into a hidden folder renamed when every frame is there."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.partial = folder.with_name(f".{folder.name}.partial")
        shutil.rmtree(self.partial, ignore_errors=True)
        self.partial.mkdir(parents=True)
        self.count = 0

    def add(self, frame: np.ndarray) -> None:
        from PIL import Image

        self.count += 1
        Image.fromarray(frame).save(self.partial / f"frame-{self.count:04d}.png", compress_level=1)

    def finish(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        os.replace(self.partial, self.folder)

    def abort(self) -> None:
        shutil.rmtree(self.partial, ignore_errors=True)


# ---------------------------------------------------------------------- rendering
def grab(widget, size: tuple[int, int]) -> np.ndarray:
    """The widget as it is drawn, scaled to ``size`` (width, height) when it differs: (H, W, 3) uint8."""
    from PyQt5.QtCore import Qt
    from PyQt5.QtGui import QImage

    image = widget.grab().toImage()
    if (image.width(), image.height()) != size:
        image = image.scaled(*size, Qt.IgnoreAspectRatio, Qt.SmoothTransformation)
    image = image.convertToFormat(QImage.Format_RGB888)
    width, height = size
    bits = image.constBits()
    bits.setsize(image.bytesPerLine() * height)
    rows = np.frombuffer(bits, np.uint8).reshape(height, image.bytesPerLine())
    return rows[:, : width * 3].reshape(height, width, 3).copy()


class Renderer:
    """An offscreen main window in the presentation layout at ``size``, drawing slides frame by frame."""

    def __init__(self, size: tuple[int, int]):
        self.size = size
        self.state = self.window = None

    def _window(self, prepared: Prepared):
        if self.window is None:
            from PyQt5.QtWidgets import QApplication

            from ..main_window import MainWindow
            from ..state import AppState
            from .presentation import PresentationMode

            self.state = AppState(prepared.model, shipped_mnist())
            self.window = window = MainWindow(self.state)
            # A small frame is the presentation layout drawn larger, in the same proportions, and scaled
            # down (as a screenshot would be): below that the pictures get squeezed by the text.
            width, height = self.size
            scale = max(1.0, LAYOUT_WIDTH / width)
            window.resize(round(width * scale), round(height * scale))
            PresentationMode(window).enter(full_screen=False)  # fonts for this height
            least = window.minimumSizeHint()
            scale = max(scale, least.width() / width, least.height() / height)
            window.resize(round(width * scale), round(height * scale))
            self.window.show()
            QApplication.processEvents()
        return self.window

    def frames(self, prepared: Prepared):
        """Yield the slide's frames, (H, W, 3) uint8, one per position of its range."""
        from PyQt5.QtWidgets import QApplication

        from .slides import show_slide

        window = self._window(prepared)
        show_slide(self.state, window, prepared)
        QApplication.processEvents()  # layouts settle at the new model's strip before the first grab
        window.draw_frame()
        for position in prepared.positions:
            window.controller.jump_global(position)
            yield grab(window, self.size)

    def close(self) -> None:
        if self.window is not None:
            self.window.close()
            self.window.deleteLater()
            self.window = None


# ---------------------------------------------------------------------- the lesson
def slide_stem(index: int, slide) -> str:
    return f"{index + 1:02d}-{slide.slug}"


def export_slide(renderer: Renderer, prepared: Prepared, out: Path, stem: str, formats, fps: int, loop: bool,
                 progress=None) -> dict:
    """Write one slide's files; on any error or Ctrl+C the partial files are removed. Returns what was written."""
    streams, gif = [], None  # streams take frame by frame; the GIF writer pulls them
    written = {"frames": len(prepared.positions)}
    try:
        if "mp4" in formats:
            streams.append(Mp4Writer(out / f"{stem}.mp4", fps))
        if "png" in formats:
            streams.append(PngWriter(out / stem))

        def frames():
            for frame in renderer.frames(prepared):
                for stream in streams:
                    stream.add(frame)
                if progress is not None:
                    progress.update(1)
                yield frame

        if "gif" in formats:
            gif = GifWriter(out / f"{stem}.gif", fps, loop)
            gif.write(frames())
        else:
            for _ in frames():
                pass
        for stream in streams:
            stream.finish()
    except BaseException:
        for writer in streams + [gif]:
            if writer is not None:
                writer.abort()
        raise
    for fmt in formats:
        written[fmt] = f"{stem}/frame-0001.png" if fmt == "png" else f"{stem}.{fmt}"
    return written


def write_index(out: Path, lesson: Lesson, entries: list) -> None:
    """index.html: the slides in order with titles, notes and their files (``entries``: (index, slide,
    written dict or a problem text))."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(lesson.title)}</title>",
             "<style>body{font-family:sans-serif;max-width:1000px;margin:auto;padding:1em}"
             "img,video{max-width:100%;border:1px solid #ccc}.problem{color:#b00020}</style></head><body>",
             f"<h1>{html.escape(lesson.title)}</h1>"]
    for index, slide, written in entries:
        parts.append(f"<section><h2>{index + 1}. {html.escape(slide.title)}</h2>")
        if slide.note:
            parts.append(f"<p>{html.escape(slide.note)}</p>")
        if isinstance(written, str):
            parts.append(f"<p class='problem'>Not exported: {html.escape(written)}</p></section>")
            continue
        if "gif" in written:
            parts.append(f"<p><img src='{html.escape(written['gif'])}' alt='{html.escape(slide.title)}'></p>")
        links = []
        if "mp4" in written:
            if "gif" not in written:
                parts.append(f"<p><video src='{html.escape(written['mp4'])}' controls></video></p>")
            links.append(f"<a href='{html.escape(written['mp4'])}'>MP4</a>")
        if "png" in written:
            folder = written["png"].split("/")[0]
            links.append(f"<a href='{html.escape(written['png'])}'>PNG frames</a> "
                         f"({written['frames']} in {html.escape(folder)}/)")
        if links:
            parts.append(f"<p>{' · '.join(links)}</p>")
        parts.append("</section>")
    parts.append("</body></html>\n")
    text = "\n".join(parts)
    atomic_write(out / "index.html", lambda stream: stream.write(text.encode("utf-8")))


def export_lesson(lesson: Lesson, out, formats=FORMATS, size=(1920, 1080), fps=None, loop=True,
                  progress_bar=True) -> list[str]:
    """Export every slide that can be shown; returns the problems of those that cannot (naming them)."""
    from tqdm import tqdm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    problems, prepared = [], {}
    for index in range(len(lesson.slides)):
        try:
            prepared[index] = lesson.prepare(index)
        except LessonError as error:
            problems.append(str(error))
    renderer = Renderer(size)
    entries = []
    total = sum(len(p.positions) for p in prepared.values())
    try:
        with tqdm(total=total, unit="frame", desc="cnnviz-export", disable=not progress_bar) as progress:
            for index, slide in enumerate(lesson.slides):
                if index not in prepared:
                    entries.append((index, slide, slide.problem))
                    continue
                stem = slide_stem(index, slide)
                progress.set_postfix_str(stem)
                written = export_slide(renderer, prepared[index], out, stem, formats, fps or slide.fps, loop,
                                       progress)
                entries.append((index, slide, written))
                write_index(out, lesson, entries)  # after each slide: the handout links complete files only
    finally:
        renderer.close()
    write_index(out, lesson, entries)
    return problems


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="cnnviz-export", description=__doc__.split("\n\n")[0])
    parser.add_argument("lesson", help="a lesson file (*.cnnviz-lesson.json)")
    parser.add_argument("--out", required=True, help="the folder to write into (made if missing)")
    parser.add_argument("--format", default="gif,mp4,png", help="gif, mp4 and/or png, comma-separated "
                                                                "(default gif,mp4,png)")
    parser.add_argument("--size", default="1920x1080", help="frame size WIDTHxHEIGHT (default 1920x1080)")
    parser.add_argument("--fps", type=int, help="frames per second (default: each slide's own)")
    parser.add_argument("--once", action="store_true", help="GIFs play once instead of looping")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        formats, size = parse_formats(args.format), parse_size(args.size)
        if args.fps is not None and not 1 <= args.fps <= 50:
            raise ValueError(f"--fps {args.fps}: expected 1 to 50 frames per second")
        lesson = load_lesson(args.lesson)
        if "mp4" in formats:
            Mp4Writer.check_installed()  # before any frame is drawn
    except ValueError as error:
        print(f"cnnviz-export: {error}", file=sys.stderr)
        return 2
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # no display needed, and no window flashes on one
    from PyQt5.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])  # noqa: F841  (kept alive while rendering)
    try:
        problems = export_lesson(lesson, args.out, formats, size, args.fps, loop=not args.once)
    except KeyboardInterrupt:
        print("cnnviz-export: interrupted; the files written so far are complete", file=sys.stderr)
        return 130
    except (LessonError, OSError) as error:
        print(f"cnnviz-export: {error}", file=sys.stderr)
        return 1
    for problem in problems:
        print(f"cnnviz-export: skipped {problem}", file=sys.stderr)
    print(Path(args.out) / "index.html")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
