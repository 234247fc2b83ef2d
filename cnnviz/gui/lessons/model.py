"""Lesson files (``*.cnnviz-lesson.json``): an ordered list of slides, each pinning a model, its weights,
an input, the optimizer, a view and a range of frames to play. No Qt here: the exporter and the tests
read lessons without a window.

A lesson file::

    {"format": "cnnviz-lesson", "version": 1, "title": "Convolution",
     "slides": [{"title": "One window at a time", "note": "Say what the yellow box is.",
                 "model": "lecture",                  # a preset, or an architecture (Sequential.get_config)
                 "weights": "preset",                 # the preset's shipped weights, a path beside the
                                                      # lesson file, or null (seeded initial weights)
                 "input": {"test_index": 0},          # the shipped MNIST test set, or
                                                      # {"image": "seven.png", "label": 7} beside the lesson
                 "optimizer": {"name": "sgd", "learning_rate": 0.01},
                 "view": "conv", "from": 0, "to": 40, # global frame positions in the trace, both included
                 "granularity": "frame", "fps": 10}]}

A slide that cannot be used (a missing file, an unknown view, a range outside its trace) keeps its
JSON as it was and carries a ``problem`` that names it; the rest of the lesson still works, and saving
writes the broken slide back unchanged.
"""
from __future__ import annotations

import json
import re
import shutil
from functools import lru_cache
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...engine.model import Sequential
from ...engine.optimizers import get_optimizer
from ...engine.trace import GRANULARITIES, Cursor, Trace
from ...engine.weights import atomic_write
from ...limits import read_json
from ...paths import WEIGHTS
from ...presets import PRESETS, load_preset
from ..views import VIEW_NAMES

FORMAT = "cnnviz-lesson"
VERSION = 1
SUFFIX = ".cnnviz-lesson.json"
PRESET_WEIGHTS = "preset"
UNTITLED = "Untitled lesson"


class LessonError(ValueError):
    """A lesson file or one of its slides cannot be used; the message says which and why."""


def _slug(title: str) -> str:
    """'Max pooling: 2×2' -> 'max-pooling-2-2' (file names of exported slides)."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40] or "slide"


@dataclass
class Slide:
    """One slide. ``start``/``end`` are global frame positions (JSON "from"/"to"), both included."""

    title: str
    model: str | dict = "lecture"
    weights: str | None = PRESET_WEIGHTS
    input: dict = field(default_factory=lambda: {"test_index": 0})
    optimizer: dict = field(default_factory=lambda: {"name": "sgd", "learning_rate": 0.01})
    view: str = "conv"
    start: int = 0
    end: int = 0
    granularity: str = "frame"
    fps: int = 10
    note: str = ""
    problem: str | None = None  # why the slide cannot be shown (not saved)
    raw: dict | None = None     # the slide's JSON as read, kept for a slide that could not be read
    # Captured in the app and not yet in a file (written beside the lesson when it is saved):
    unsaved_weights: Sequential | None = field(default=None, repr=False, compare=False)
    unsaved_image: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def slug(self) -> str:
        return _slug(self.title)

    def files(self) -> list[str]:
        """The files beside the lesson that this slide refers to (weights, image)."""
        names = [] if self.weights in (None, PRESET_WEIGHTS) or self.raw is not None else [self.weights]
        if self.raw is None and isinstance(self.input.get("image"), str):
            names.append(self.input["image"])
        return names

    def to_dict(self) -> dict:
        if self.raw is not None:
            return self.raw
        return {"title": self.title, "note": self.note, "model": self.model, "weights": self.weights,
                "input": self.input, "optimizer": self.optimizer, "view": self.view, "from": self.start,
                "to": self.end, "granularity": self.granularity, "fps": self.fps}

    @classmethod
    def from_dict(cls, data) -> "Slide":
        """Check every field that needs no file; raises LessonError saying which field and what is expected."""
        if not isinstance(data, dict):
            raise LessonError(f"a slide must be a JSON object, got {type(data).__name__}")
        unknown = set(data) - {"title", "note", "model", "weights", "input", "optimizer", "view", "from", "to",
                               "granularity", "fps"}
        if unknown:
            raise LessonError(f"unknown field(s) {sorted(unknown)}")

        def need(name, kinds, what):
            if name not in data:
                raise LessonError(f"'{name}' is missing; expected {what}")
            value = data[name]
            if not isinstance(value, kinds) or isinstance(value, bool) and bool not in kinds:
                raise LessonError(f"'{name}' is {value!r}; expected {what}")
            return value

        title = need("title", (str,), "a text")
        note = data.get("note", "")
        if not isinstance(note, str):
            raise LessonError(f"'note' is {note!r}; expected a text")
        model = need("model", (str, dict), f"a preset {list(PRESETS)} or an architecture object")
        if isinstance(model, str) and model not in PRESETS:
            raise LessonError(f"'model' is {model!r}; expected a preset {list(PRESETS)} or an architecture object")
        weights = data.get("weights", PRESET_WEIGHTS)
        if weights is not None and not isinstance(weights, str):
            raise LessonError(f"'weights' is {weights!r}; expected \"preset\", a file name or null")
        if weights == PRESET_WEIGHTS and not isinstance(model, str):
            raise LessonError("'weights' is \"preset\" but 'model' is not a preset; give a weights file or null")
        source = need("input", (dict,), '{"test_index": N} or {"image": FILE, "label": K}')
        if set(source) == {"test_index"}:
            if not isinstance(source["test_index"], int) or isinstance(source["test_index"], bool) \
                    or source["test_index"] < 0:
                raise LessonError(f"'input' test_index is {source['test_index']!r}; expected an index >= 0")
        elif set(source) == {"image", "label"}:
            if not isinstance(source["image"], str) or not isinstance(source["label"], int):
                raise LessonError(f"'input' is {source!r}; expected an image file name and an integer label")
        else:
            raise LessonError(f"'input' is {source!r}; expected {{\"test_index\": N}} or "
                              f"{{\"image\": FILE, \"label\": K}}")
        optimizer = need("optimizer", (dict,), '{"name": "sgd", "learning_rate": 0.01, ...}')
        try:
            get_optimizer(optimizer)
        except (ValueError, AttributeError) as error:
            raise LessonError(f"'optimizer': {error}") from None
        view = need("view", (str,), f"one of {list(VIEW_NAMES)}")
        if view not in VIEW_NAMES:
            raise LessonError(f"unknown view {view!r}; expected one of {list(VIEW_NAMES)}")
        start = need("from", (int,), "a frame number >= 0")
        end = need("to", (int,), "a frame number >= 'from'")
        if not 0 <= start <= end:
            raise LessonError(f"bad range from {start} to {end}; expected 0 <= from <= to")
        granularity = data.get("granularity", "frame")
        if granularity not in GRANULARITIES:
            raise LessonError(f"'granularity' is {granularity!r}; expected one of {list(GRANULARITIES)}")
        fps = data.get("fps", 10)
        if not isinstance(fps, int) or isinstance(fps, bool) or not 1 <= fps <= 60:
            raise LessonError(f"'fps' is {fps!r}; expected 1 to 60 frames per second")
        return cls(title=title, note=note, model=model, weights=weights, input=source, optimizer=optimizer,
                   view=view, start=start, end=end, granularity=granularity, fps=fps)


@dataclass
class Prepared:
    """What a window needs to show a slide: a compiled model with its weights, the input and its trace."""

    slide: Slide
    model: Sequential
    x: np.ndarray  # (H, W, C) float32 in [0, 1]
    label: int
    description: str
    positions: list[int]  # the frames the slide plays, in order (see ``range_positions``)


def range_positions(trace: Trace, start: int, end: int, granularity: str) -> list[int]:
    """The global frame positions a slide plays: ``start``, then one ``granularity`` unit at a time,
    ending exactly at ``end`` (the last unit is cut there)."""
    cursor = Cursor(trace)
    cursor.jump_global(start)
    positions = [start]
    while positions[-1] < end and cursor.next(granularity):
        positions.append(min(cursor.position, end))
    return positions


def _unused(path: Path) -> Path:
    """``path``, or 'name-2.ext', 'name-3.ext', ... when it exists."""
    candidate, number = path, 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
    return candidate


@dataclass
class Lesson:
    title: str = UNTITLED
    slides: list[Slide] = field(default_factory=list)
    path: Path | None = None  # where it was read from or saved to; relative files are beside it

    @property
    def folder(self) -> Path:
        return self.path.parent if self.path is not None else Path.cwd()

    @staticmethod
    def name_of(index: int, slide: Slide) -> str:
        """How messages name a slide: 'slide 2 "Max pooling"' (counted from 1, as on screen)."""
        return f'slide {index + 1} "{slide.title}"'

    def problems(self) -> list[str]:
        return [f"{self.name_of(k, s)}: {s.problem}" for k, s in enumerate(self.slides) if s.problem]

    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "title": self.title,
                "slides": [slide.to_dict() for slide in self.slides]}

    def save(self, path) -> None:
        """Write the lesson atomically: a crash half-way leaves the old file as it was.

        Weights and images captured in the app are written beside it first, as '<lesson>-NN-<slug>.npz'
        / '.png' (never over an existing file); saved to another folder, the files its slides refer to
        are copied there, so the lesson keeps working as one folder."""
        path = Path(path)
        stem = path.name.split(".")[0]
        if self.title == UNTITLED:
            self.title = stem
        try:
            for index, slide in enumerate(self.slides):
                name = f"{stem}-{index + 1:02d}-{slide.slug}"
                if slide.unsaved_weights is not None:
                    target = _unused(path.parent / f"{name}.npz")
                    slide.unsaved_weights.save_weights(target)
                    slide.weights, slide.unsaved_weights = target.name, None
                if slide.unsaved_image is not None:
                    target = _unused(path.parent / f"{name}.png")
                    write_image(target, slide.unsaved_image)
                    slide.input, slide.unsaved_image = {"image": target.name, "label": slide.input["label"]}, None
            if self.path is not None and self.folder.resolve() != path.parent.resolve():
                for slide in self.slides:
                    for name in slide.files():
                        if (self.folder / name).is_file() and not (path.parent / name).exists():
                            (path.parent / name).parent.mkdir(parents=True, exist_ok=True)
                            shutil.copyfile(self.folder / name, path.parent / name)
        except OSError as error:
            raise LessonError(f"{path.parent}: cannot save the slides' files ({error.strerror or error})") from None
        text = json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n"
        try:
            atomic_write(path, lambda stream: stream.write(text.encode("utf-8")))
        except OSError as error:
            raise LessonError(f"{path}: cannot save the lesson ({error.strerror or error})") from None
        self.path = path

    # ------------------------------------------------------------------ resolving slides
    def prepare(self, index: int, dataset=None) -> Prepared:
        """Build slide ``index``: model, weights, input, optimizer and trace, and check its range.

        dataset: the shipped MNIST (loaded here when None and the slide needs it). Raises LessonError
        naming the slide; the slide's ``problem`` is set or cleared accordingly."""
        slide = self.slides[index]
        try:
            if slide.raw is not None:
                raise LessonError(slide.problem)
            prepared = self._prepare(slide, dataset)
        except LessonError as error:
            slide.problem = str(error)
            raise LessonError(f"{self.name_of(index, slide)}: {error}") from None
        slide.problem = None
        return prepared

    def check(self, dataset=None) -> list[str]:
        """Prepare every slide once; returns the problems (each naming its slide)."""
        for index in range(len(self.slides)):
            try:
                self.prepare(index, dataset)
            except LessonError:
                pass
        return self.problems()

    def _file(self, name: str, what: str) -> Path:
        path = Path(name)
        if path.is_absolute() or ".." in path.parts:
            raise LessonError(f"{what} {name!r} must be a file name beside the lesson, not a path outside it")
        path = self.folder / path
        if not path.is_file():
            raise LessonError(f"{what} {name!r} not found (looked for {path})")
        return path

    def _prepare(self, slide: Slide, dataset) -> Prepared:
        try:
            if isinstance(slide.model, str):
                model = load_preset(slide.model, seed=0)
            else:
                model = Sequential.from_config(slide.model, seed=0)
        except ValueError as error:
            raise LessonError(f"model: {error}") from None
        if slide.unsaved_weights is not None:
            model = copy_model(slide.unsaved_weights)
        elif slide.weights == PRESET_WEIGHTS:
            weights = WEIGHTS / f"{slide.model}.npz"
            if not weights.is_file():
                raise LessonError(f"the preset {slide.model!r} ships no weights ({weights} is missing)")
        elif slide.weights is not None:
            weights = self._file(slide.weights, "weights file")
        if slide.weights is not None and slide.unsaved_weights is None:
            try:
                model.load_weights(weights)
            except (ValueError, OSError) as error:
                raise LessonError(f"weights {weights.name}: {error}") from None
        x, label, description = self._input(slide, model, dataset)
        model.compile(optimizer=get_optimizer(dict(slide.optimizer)), loss="categorical_crossentropy",
                      metrics=["accuracy"])
        try:
            trace = Trace(model, x, label)
        except ValueError as error:
            raise LessonError(f"the input does not fit the model: {error}") from None
        if slide.end >= trace.total_frames:
            raise LessonError(f"bad range from {slide.start} to {slide.end}: this slide's trace has "
                              f"{trace.total_frames} frames (0 to {trace.total_frames - 1})")
        positions = range_positions(trace, slide.start, slide.end, slide.granularity)
        return Prepared(slide, model, x, label, description, positions)

    def _input(self, slide: Slide, model: Sequential, dataset):
        source = slide.input
        classes = model.output_shape[-1]
        if slide.unsaved_image is not None:
            x, label, description = slide.unsaved_image, source["label"], "captured image"
        elif "test_index" in source:
            dataset = dataset or shipped_mnist()
            index = source["test_index"]
            if index >= len(dataset.x_test):
                raise LessonError(f"test_index {index} is past the test set (0 to {len(dataset.x_test) - 1})")
            x, label, description = dataset.x_test[index], int(dataset.y_test[index]), f"test sample {index}"
        else:
            x, label, description = read_image(self._file(source["image"], "image")), source["label"], \
                source["image"]
        if not 0 <= label < classes:
            raise LessonError(f"label {label} is not a class of the model (0 to {classes - 1})")
        if x.shape != tuple(model.input_shape):
            x = _resize(x, model.input_shape)
        return np.asarray(x, np.float32), int(label), description


@lru_cache(maxsize=1)
def shipped_mnist():
    """The shipped MNIST digits that ``{"test_index": N}`` refers to (read once)."""
    from ...data import load_dataset

    try:
        return load_dataset("mnist")
    except (ValueError, OSError) as error:
        raise LessonError(f"the shipped MNIST test set cannot be read ({error})") from None


def copy_model(model: Sequential) -> Sequential:
    """A new Sequential with the same architecture and a copy of the weights (no optimizer)."""
    copy = Sequential.from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


def read_image(path: Path) -> np.ndarray:
    """An image file as float32 (H, W, 3) in [0, 1]: ``cnnviz.data.formats.read_image`` (Pillow, the
    pixel count checked from the header first), never inverted (a captured slide saves what the model saw)."""
    from ...data.formats import read_image as read_pixels

    try:
        pixels, _ = read_pixels(path)
    except ValueError as error:
        raise LessonError(f"image {path.name}: {error}") from None
    return pixels.astype(np.float32) / 255


def _resize(x: np.ndarray, shape) -> np.ndarray:
    """(H, W, C) -> ``shape`` (H', W', C'): Pillow's bilinear resize, grey by the channel mean."""
    from PIL import Image

    height, width, channels = shape
    grey = channels == 1
    pixels = np.clip(x.mean(axis=2) if grey else x[..., :3], 0, 1)
    image = Image.fromarray((pixels * 255).astype(np.uint8)).resize((width, height), Image.BILINEAR)
    out = np.asarray(image, np.float32) / 255
    return out[..., None] if grey else out


def write_image(path: Path, x: np.ndarray) -> None:
    """(H, W, C) float in [0, 1] -> a PNG (grey for one channel), written atomically."""
    from PIL import Image

    pixels = (np.clip(x, 0, 1) * 255).round().astype(np.uint8)
    image = Image.fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels[..., :3])
    atomic_write(path, lambda stream: image.save(stream, format="PNG"))


def load_lesson(path) -> Lesson:
    """Read and check a lesson file. A file that is not a lesson raises LessonError; a slide that
    cannot be read is kept as it was, with its ``problem`` set (see ``Lesson.problems``)."""
    path = Path(path)
    try:
        data = read_json(path, "lesson file")  # size-capped, no deep nesting
    except ValueError as error:
        raise LessonError(str(error)) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise LessonError(f"{path}: not a cnnviz lesson (expected an object with \"format\": \"{FORMAT}\")")
    if data.get("version") != VERSION:
        raise LessonError(f"{path}: lesson version {data.get('version')!r}; this cnnviz reads version {VERSION}")
    slides = data.get("slides")
    if not isinstance(slides, list):
        raise LessonError(f"{path}: 'slides' must be a list of slides")
    title = data.get("title", path.name[: -len(SUFFIX)] if path.name.endswith(SUFFIX) else path.stem)
    lesson = Lesson(title=str(title), path=path)
    for raw in slides:
        try:
            lesson.slides.append(Slide.from_dict(raw))
        except LessonError as error:
            name = raw.get("title") if isinstance(raw, dict) and isinstance(raw.get("title"), str) else "untitled"
            lesson.slides.append(Slide(title=name, problem=str(error), raw=raw))
    return lesson
