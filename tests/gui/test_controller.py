"""Playback: the controller moves the trace cursor by granularity, frames per tick and timer."""
from __future__ import annotations

import pytest

from cnnviz.engine.trace import Cursor, Trace
from cnnviz.gui.controller import PlaybackController
from cnnviz.presets import load_preset
from tests.gui.helpers import dataset


@pytest.fixture
def trace():
    model = load_preset("lecture", seed=0)
    model.compile(optimizer="sgd")
    data = dataset()
    return Trace(model, data.x_test[1], int(data.y_test[1]))


def test_forward_and_back_follow_the_cursor_at_every_granularity(trace):
    controller = PlaybackController(trace)
    emitted = []
    controller.moved.connect(lambda: emitted.append(controller.cursor.position))
    reference = Cursor(trace)
    for granularity in ("frame", "row", "channel", "step", "phase"):
        controller.set_granularity(granularity)
        for moves, go, oracle in ((7, controller.forward, reference.next), (3, controller.back, reference.prev)):
            for _ in range(moves):
                before = len(emitted)
                changed = go()
                assert changed == oracle(granularity)
                assert controller.cursor.position == reference.position
                assert len(emitted) == before + int(changed)
                assert not changed or emitted[-1] == reference.position


def test_moved_is_not_emitted_when_nothing_moves(qtbot, trace):
    controller = PlaybackController(trace)
    with qtbot.assertNotEmitted(controller.moved):
        assert controller.back() is False
    controller.forward("pass")
    assert controller.at_end()
    with qtbot.assertNotEmitted(controller.moved):
        assert controller.forward() is False


def test_play_advances_frames_per_tick_and_stops_at_the_end(qtbot, trace):
    controller = PlaybackController(trace)
    controller.set_fps(120)
    controller.set_granularity("step")
    controller.set_frames_per_tick(3)
    with qtbot.waitSignal(controller.moved, timeout=1000):
        controller.play()
    assert controller.cursor.step % 3 == 0 and controller.cursor.step >= 3
    with qtbot.waitSignal(controller.playing_changed, timeout=5000) as blocker:
        pass
    assert blocker.args == [False] and controller.at_end() and not controller.playing


def test_play_at_the_end_restarts(qtbot, trace):
    controller = PlaybackController(trace)
    controller.forward("pass")
    controller.play()
    assert controller.cursor.position == 0 and controller.playing
    controller.pause()
    assert not controller.playing


def test_faster_and_slower_walk_fps_then_frames_per_tick(trace):
    controller = PlaybackController(trace)
    controller.set_fps(30)
    controller.faster()
    assert (controller.fps, controller.frames_per_tick) == (60, 1)
    controller.faster()
    assert (controller.fps, controller.frames_per_tick) == (60, 2)
    controller.slower()
    controller.slower()
    assert (controller.fps, controller.frames_per_tick) == (30, 1)


def test_bad_settings_are_refused_and_change_nothing(trace):
    controller = PlaybackController(trace)
    for setter, value in ((controller.set_fps, 0), (controller.set_frames_per_tick, 0),
                          (controller.set_granularity, "layer")):
        with pytest.raises(ValueError):
            setter(value)
    assert (controller.fps, controller.frames_per_tick, controller.granularity) == (10, 1, "frame")


def test_new_trace_keeps_the_position_when_asked(trace):
    controller = PlaybackController(trace)
    controller.jump(3, 5)
    position = controller.cursor.position
    controller.set_trace(Trace(trace.model, trace.x, trace.label), keep_position=True)
    assert controller.cursor.position == position
    controller.set_trace(trace)
    assert controller.cursor.position == 0
