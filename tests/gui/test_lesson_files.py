"""Lesson files: written and read back, checked per slide with messages that name the slide, saved atomically."""
from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnviz.engine.trace import Trace
from cnnviz.gui.lessons.model import Lesson, LessonError, Slide, load_lesson, range_positions
from cnnviz.paths import RESOURCES

SHIPPED = sorted((RESOURCES / "lessons").glob("*.cnnviz-lesson.json"))


def two_slides() -> Lesson:
    return Lesson(title="Test", slides=[
        Slide(title="Windows", view="conv", start=0, end=5, note="say it"),
        Slide(title="Pooling", view="pool", start=2704, end=2710, granularity="row", fps=4,
              optimizer={"name": "adam", "learning_rate": 0.001}, input={"test_index": 3}),
    ])


def test_a_saved_lesson_reads_back_the_same(tmp_path):
    path = tmp_path / "l.cnnviz-lesson.json"
    two_slides().save(path)
    data = json.loads(path.read_text())
    assert data["format"] == "cnnviz-lesson" and data["version"] == 1
    assert data["slides"][1]["from"] == 2704 and data["slides"][1]["to"] == 2710
    back = load_lesson(path)
    assert back.slides == two_slides().slides and back.title == "Test"
    assert back.check() == []
    prepared = back.prepare(1)
    assert prepared.model.optimizer.name == "adam" and prepared.description == "test sample 3" and prepared.label == 3
    assert prepared.positions[0] == 2704 and prepared.positions[-1] == 2710


def test_range_positions_follow_the_granularity_and_end_exactly_at_to(tmp_path):
    prepared = two_slides().prepare(0)
    assert prepared.positions == [0, 1, 2, 3, 4, 5]
    trace = Trace(prepared.model, prepared.x, prepared.label)
    assert range_positions(trace, 0, 60, "row") == [0, 26, 52, 60]  # rows of 26 windows, cut at 60
    assert range_positions(trace, 7, 7, "step") == [7]


def test_a_failed_save_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "l.cnnviz-lesson.json"
    two_slides().save(path)
    before = path.read_bytes()
    lesson = two_slides()
    lesson.slides[0].title = "changed"
    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)  # fails after the new text went to the temporary file
    with pytest.raises(LessonError, match="cannot save the lesson"):
        lesson.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["l.cnnviz-lesson.json"]


def broken_lesson(tmp_path) -> Lesson:
    data = two_slides().to_dict()
    good = data["slides"][0]
    data["slides"] = [
        good,
        {**good, "title": "Missing weights", "weights": "gone.npz"},
        {**good, "title": "Missing image", "input": {"image": "seven.png", "label": 7}},
        {**good, "title": "Bad range", "from": 10, "to": 999999},
        {**good, "title": "Backwards range", "from": 10, "to": 3},
        {**good, "title": "Unknown view", "view": "hologram"},
        {**good, "title": "Last good", "view": "maps"},
    ]
    path = tmp_path / "broken.cnnviz-lesson.json"
    path.write_text(json.dumps(data))
    return load_lesson(path)


def test_bad_slides_are_named_and_the_rest_still_works(tmp_path):
    lesson = broken_lesson(tmp_path)
    problems = lesson.check()
    expected = {2: ("Missing weights", "weights file 'gone.npz' not found"),
                3: ("Missing image", "image 'seven.png' not found"),
                4: ("Bad range", "this slide's trace has 10165 frames"),
                5: ("Backwards range", "expected 0 <= from <= to"),
                6: ("Unknown view", "unknown view 'hologram'")}
    assert len(problems) == len(expected)
    for problem, (number, (title, why)) in zip(problems, expected.items()):
        assert problem.startswith(f'slide {number} "{title}": ') and why in problem, problem
    assert lesson.prepare(0).positions[-1] == 5 and lesson.prepare(6).slide.view == "maps"


def test_broken_slides_are_saved_back_unchanged(tmp_path):
    lesson = broken_lesson(tmp_path)
    lesson.save(tmp_path / "again.cnnviz-lesson.json")
    assert json.loads((tmp_path / "again.cnnviz-lesson.json").read_text())["slides"] == \
        json.loads(lesson.path.read_text())["slides"]


@pytest.mark.parametrize("text, why", [
    ("not json", "not a valid JSON document"),
    ("[" * 100_000, "nested too deeply"),
    ('{"slides": []}', 'expected an object with "format": "cnnviz-lesson"'),
    ('{"format": "cnnviz-lesson", "version": 7, "slides": []}', "lesson version 7; this cnnviz reads version 1"),
    ('{"format": "cnnviz-lesson", "version": 1, "slides": {}}', "'slides' must be a list"),
])
def test_a_file_that_is_not_a_lesson_says_why(tmp_path, text, why):
    path = tmp_path / "x.cnnviz-lesson.json"
    path.write_text(text)
    with pytest.raises(LessonError, match=why):
        load_lesson(path)


def test_files_outside_the_lesson_folder_are_refused(tmp_path):
    data = two_slides().to_dict()
    data["slides"][0]["weights"] = "../../etc/secret.npz"
    path = tmp_path / "x.cnnviz-lesson.json"
    path.write_text(json.dumps(data))
    assert "must be a file name beside the lesson" in load_lesson(path).check()[0]


def test_an_image_beside_the_lesson_is_the_input(tmp_path):
    from PIL import Image

    pixels = np.zeros((56, 56), np.uint8)
    pixels[10:46, 26:30] = 255
    Image.fromarray(pixels).save(tmp_path / "one.png")
    data = two_slides().to_dict()
    data["slides"][0]["input"] = {"image": "one.png", "label": 1}
    path = tmp_path / "x.cnnviz-lesson.json"
    path.write_text(json.dumps(data))
    prepared = load_lesson(path).prepare(0)
    assert prepared.x.shape == (28, 28, 1) and prepared.x.max() > 0.8 and prepared.label == 1


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_lessons_open_without_problems(path):
    lesson = load_lesson(path)
    assert len(lesson.slides) >= 4 and lesson.check() == []
    assert all(slide.note for slide in lesson.slides)


def test_three_lessons_are_shipped():
    assert [p.name.split(".")[0] for p in SHIPPED] == ["backprop", "convolution", "update-rules"]


def test_lesson_files_need_no_qt():
    import subprocess

    code = "import sys, cnnviz.gui.lessons.model; sys.exit(any(m.startswith('PyQt5') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_save_as_in_another_folder_takes_the_slides_files_along(tmp_path):
    from cnnviz.presets import load_preset

    first = tmp_path / "a"
    first.mkdir()
    model = load_preset("lecture", seed=3)
    model.save_weights(first / "w.npz")
    lesson = two_slides()
    lesson.slides[0].weights = None
    lesson.slides[0].model = "lecture"
    lesson.slides[1].weights = "w.npz"
    lesson.save(first / "l.cnnviz-lesson.json")
    lesson = load_lesson(first / "l.cnnviz-lesson.json")
    second = tmp_path / "b"
    second.mkdir()
    lesson.save(second / "l.cnnviz-lesson.json")
    again = load_lesson(second / "l.cnnviz-lesson.json")
    assert again.check() == [] and (second / "w.npz").is_file()
    assert np.array_equal(again.prepare(1).model.layers[0].params["kernel"], model.layers[0].params["kernel"])


def test_captured_weights_never_overwrite_a_file(tmp_path):
    from cnnviz.gui.lessons.model import copy_model
    from cnnviz.presets import load_preset

    lesson = two_slides()
    lesson.slides[0].weights, lesson.slides[0].unsaved_weights = None, copy_model(load_preset("lecture", seed=1))
    (tmp_path / "l-01-windows.npz").write_bytes(b"someone else's")
    lesson.save(tmp_path / "l.cnnviz-lesson.json")
    assert lesson.slides[0].weights == "l-01-windows-2.npz"
    assert (tmp_path / "l-01-windows.npz").read_bytes() == b"someone else's"
    assert load_lesson(tmp_path / "l.cnnviz-lesson.json").check() == []


JSON = st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**12) | st.floats(allow_nan=True)
                    | st.text(max_size=20), lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)
FIELDS = {"title": st.text(max_size=10), "note": JSON, "model": st.sampled_from(["lecture", "nope"]) | JSON,
          "weights": st.sampled_from(["preset", None, "w.npz", "../x.npz", "/etc/passwd"]) | JSON,
          "input": st.fixed_dictionaries({"test_index": st.integers(-5, 10**9)}) | JSON,
          "optimizer": st.fixed_dictionaries({"name": st.sampled_from(["sgd", "adam", "x"]),
                                              "learning_rate": JSON}) | JSON,
          "view": st.sampled_from(["conv", "pool", "x"]) | JSON, "from": JSON | st.integers(-3, 20000),
          "to": JSON | st.integers(-3, 20000), "granularity": st.sampled_from(["row", "frame", "x"]) | JSON,
          "fps": JSON}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(slides=st.lists(st.fixed_dictionaries({}, optional=FIELDS) | JSON, max_size=3))
def test_any_json_opens_with_clear_messages_or_works(tmp_path, slides):
    """Whatever the slides hold, opening and checking the lesson raises nothing but LessonError, every
    problem names its slide, and saving writes the slides back as they were read."""
    path = tmp_path / "h.cnnviz-lesson.json"
    path.write_text(json.dumps({"format": "cnnviz-lesson", "version": 1, "slides": slides}))
    lesson = load_lesson(path)
    problems = lesson.check()
    assert len(problems) == sum(1 for s in lesson.slides if s.problem)
    for problem in problems:
        assert problem.startswith("slide ")
    lesson.save(tmp_path / "again.cnnviz-lesson.json")
    again = json.loads((tmp_path / "again.cnnviz-lesson.json").read_text())["slides"]
    kept = [json.dumps(s) for s, l in zip(again, lesson.slides) if l.raw is not None]
    assert kept == [json.dumps(s) for s, l in zip(slides, lesson.slides) if l.raw is not None]
