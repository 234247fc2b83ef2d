"""cnnviz-export: GIF, MP4 and PNG frames per slide and index.html, from the shipped lessons too;
Ctrl+C leaves complete files only."""
from __future__ import annotations

import json
import re
import sys

import imageio.v2 as imageio
import numpy as np
import pytest
from PIL import Image, ImageSequence

from cnnviz.gui.lessons import export
from cnnviz.gui.lessons.model import load_lesson
from tests.gui.test_lesson_files import SHIPPED, two_slides

SMALL = "480x320"  # small frames keep the test quick; the size is the only thing that differs from the real thing


def gif_frames(path) -> list[np.ndarray]:
    with Image.open(path) as image:
        return [np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(image)]


def check_exported(out, lesson):
    html = (out / "index.html").read_text()
    for index, slide in enumerate(lesson.slides):
        stem = export.slide_stem(index, slide)
        count = len(lesson.prepare(index).positions)
        frames = gif_frames(out / f"{stem}.gif")
        assert len(frames) == count, f"{stem}.gif: {len(frames)} frames for a range of {count}"
        assert frames[0].shape == (320, 480, 3)
        if count > 1:
            assert all((a != b).any() for a, b in zip(frames, frames[1:])), f"{stem}.gif repeats a frame"
        with imageio.get_reader(out / f"{stem}.mp4", format="FFMPEG") as video:  # the MP4 plays
            decoded = [frame for frame in video]
        assert len(decoded) == count and decoded[0].shape == (320, 480, 3)
        pngs = sorted((out / stem).glob("frame-*.png"))
        assert len(pngs) == count
        for png in pngs[:: max(1, count // 3)]:
            pixels = np.asarray(Image.open(png))
            assert pixels.std() > 10, f"{png} is blank"
        for name in (f"{stem}.gif", f"{stem}.mp4", f"{stem}/frame-0001.png"):
            assert f"'{name}'" in html
        assert slide.title.replace("'", "&#x27;") in html
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")], "no partial files are left"


def test_export_writes_gif_mp4_png_and_a_handout(tmp_path):
    path = tmp_path / "l.cnnviz-lesson.json"
    lesson = two_slides()
    lesson.slides[1].end = 2704 + 13 * 2  # a few rows of pooling windows
    lesson.save(path)
    out = tmp_path / "out"
    assert export.main([str(path), "--out", str(out), "--format", "gif,mp4,png", "--size", SMALL]) == 0
    check_exported(out, load_lesson(path))
    with Image.open(out / "01-windows.gif") as gif:
        assert gif.info["loop"] == 0 and gif.info["duration"] == 100  # loops, at the slide's 10 fps
    gif, png = gif_frames(out / "01-windows.gif")[2].astype(int), np.asarray(Image.open(
        out / "01-windows" / "frame-0003.png").convert("RGB")).astype(int)
    error = np.abs(gif - png).max(axis=2)  # the GIF's palette against the lossless frame
    assert error.mean() < 3 and np.percentile(error, 99) < 24  # a 64-colour palette: 99th percentile 50


def test_gifs_can_play_once_and_formats_can_be_chosen(tmp_path):
    path = tmp_path / "l.cnnviz-lesson.json"
    two_slides().save(path)
    out = tmp_path / "out"
    assert export.main([str(path), "--out", str(out), "--format", "gif", "--size", SMALL, "--once", "--fps", "4"]) == 0
    with Image.open(out / "01-windows.gif") as gif:
        assert "loop" not in gif.info and gif.info["duration"] == 250
    assert sorted(p.name for p in out.iterdir()) == ["01-windows.gif", "02-pooling.gif", "index.html"]


def test_gif_palette_keeps_the_diverging_colours(tmp_path):
    """A red-white-blue ramp like the kernel cells survives the palette: every colour within a few levels."""
    from cnnviz.gui.colormaps import DIVERGING_LUT

    ramp = np.repeat(DIVERGING_LUT[None, :, :3], 40, axis=0).astype(np.uint8)
    frame = np.full((320, 480, 3), 240, np.uint8)
    frame[100:140, 100:356] = ramp
    palette = np.asarray(export.GifWriter.palette(frame).getpalette()[: 256 * 3]).reshape(-1, 3)
    nearest = np.abs(ramp[0][:, None, :].astype(int) - palette[None]).sum(axis=2).min(axis=1)
    assert nearest.max() <= 12


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name.split(".")[0])
def test_every_shipped_lesson_exports(tmp_path, path, monkeypatch):
    monkeypatch.setattr(export, "LAYOUT_WIDTH", 640)  # drawn at the window's smallest size: quicker
    out = tmp_path / "out"
    assert export.main([str(path), "--out", str(out), "--format", "gif,mp4,png", "--size", SMALL]) == 0
    check_exported(out, load_lesson(path))


def test_ctrl_c_leaves_complete_files_only(tmp_path, monkeypatch):
    path = tmp_path / "l.cnnviz-lesson.json"
    two_slides().save(path)
    frames = export.Renderer.frames

    def interrupted(self, prepared):
        for k, frame in enumerate(frames(self, prepared)):
            if prepared.slide.title == "Pooling" and k == 1:
                raise KeyboardInterrupt
            yield frame

    monkeypatch.setattr(export.Renderer, "frames", interrupted)
    out = tmp_path / "out"
    assert export.main([str(path), "--out", str(out), "--size", SMALL]) == 130
    names = sorted(p.name for p in out.iterdir())
    assert names == ["01-windows", "01-windows.gif", "01-windows.mp4", "index.html"]
    assert len(gif_frames(out / "01-windows.gif")) == 6 and len(list((out / "01-windows").iterdir())) == 6
    assert "02-pooling" not in (out / "index.html").read_text()


@pytest.mark.parametrize("args, message", [
    (["--size", "1921x1080"], "expected even numbers"),
    (["--size", "big"], "expected WIDTHxHEIGHT"),
    (["--format", "gif,avi"], "expected one or more of gif,mp4,png"),
    (["--fps", "0"], "expected 1 to 50 frames per second"),
])
def test_bad_options_say_what_is_expected(tmp_path, capsys, args, message):
    path = tmp_path / "l.cnnviz-lesson.json"
    two_slides().save(path)
    assert export.main([str(path), "--out", str(tmp_path / "out"), *args]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_a_broken_slide_is_named_and_the_others_exported(tmp_path, capsys):
    data = two_slides().to_dict()
    data["slides"].insert(1, {**data["slides"][0], "title": "Gone", "weights": "gone.npz"})
    path = tmp_path / "l.cnnviz-lesson.json"
    path.write_text(json.dumps(data))
    out = tmp_path / "out"
    assert export.main([str(path), "--out", str(out), "--format", "gif", "--size", SMALL]) == 1
    assert re.search(r'skipped slide 2 "Gone": weights file \'gone.npz\' not found', capsys.readouterr().err)
    assert sorted(p.name for p in out.iterdir()) == ["01-windows.gif", "03-pooling.gif", "index.html"]
    assert "Not exported: weights file" in (out / "index.html").read_text()


def test_mp4_without_imageio_ffmpeg_says_what_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # as if the export extra were not installed
    path = tmp_path / "l.cnnviz-lesson.json"
    two_slides().save(path)
    assert export.main([str(path), "--out", str(tmp_path / "out"), "--format", "gif,mp4"]) == 2
    assert "pip install 'cnnviz[export]'" in capsys.readouterr().err and not (tmp_path / "out").exists()
