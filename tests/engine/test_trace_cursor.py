"""Cursor navigation over a trace at every granularity."""
import pytest

from cnnviz.engine import Conv2D, Dense, Flatten, MaxPooling2D
from cnnviz.engine.trace import GRANULARITIES, Cursor, Trace
from tests.engine.trace_checks import build, sample


@pytest.fixture(scope="module")
def trace():
    model = build([Conv2D(2, 2, activation="relu"), MaxPooling2D(2), Flatten(), Dense(3, activation="softmax")],
                  (5, 5, 1))
    return Trace(model, sample(model), 1)


def test_walking_forward_and_back_visits_the_same_frames_in_reverse(trace):
    cursor = Cursor(trace)
    forward = [(cursor.step, cursor.frame, cursor.position)]
    while cursor.next():
        forward.append((cursor.step, cursor.frame, cursor.position))
    assert len(forward) == cursor.total == trace.total_frames
    assert [p for _, _, p in forward] == list(range(trace.total_frames))
    assert not cursor.next() and cursor.position == cursor.total - 1
    backward = [(cursor.step, cursor.frame, cursor.position)]
    while cursor.prev():
        backward.append((cursor.step, cursor.frame, cursor.position))
    assert backward == forward[::-1]
    assert not cursor.prev()


def test_row_and_channel_follow_the_frame_grid(trace):
    cursor = Cursor(trace)  # step 0: conv forward, grid (2, 4, 4)
    assert trace.steps[0].frame_grid == (2, 4, 4)
    cursor.jump(0, 5)
    assert cursor.next("row") and (cursor.step, cursor.frame) == (0, 8)
    assert cursor.next("channel") and (cursor.step, cursor.frame) == (0, 16)
    assert cursor.next("channel") and (cursor.step, cursor.frame) == (1, 0)  # past the last channel
    cursor.jump(0, 13)
    assert cursor.next("row") and (cursor.step, cursor.frame) == (0, 16)
    assert cursor.prev("row") and (cursor.step, cursor.frame) == (0, 12)
    cursor.jump(0, 18)
    assert cursor.prev("channel") and (cursor.step, cursor.frame) == (0, 16)
    assert cursor.prev("channel") and (cursor.step, cursor.frame) == (0, 0)
    cursor.jump(1, 0)  # maxpool grid (2, 2, 2): the previous step's last row starts at 28
    assert cursor.prev("row") and (cursor.step, cursor.frame) == (0, 28)
    cursor.jump(1, 0)
    assert cursor.prev("channel") and (cursor.step, cursor.frame) == (0, 16)


def test_one_axis_grids_make_the_whole_step_one_row_and_one_channel(trace):
    dense = next(s.index for s in trace.steps if s.kind == "dense_forward")
    cursor = Cursor(trace)
    cursor.jump(dense, 1)
    assert cursor.next("channel") and (cursor.step, cursor.frame) == (dense + 1, 0)
    cursor.jump(dense, 1)
    assert cursor.next("row") and (cursor.step, cursor.frame) == (dense + 1, 0)


def test_step_phase_and_pass(trace):
    cursor = Cursor(trace)
    cursor.jump(0, 3)
    assert cursor.next("step") and (cursor.step, cursor.frame) == (1, 0)
    assert cursor.prev("step") and (cursor.step, cursor.frame) == (0, 0)
    cursor.jump(1, 2)
    assert cursor.prev("step") and (cursor.step, cursor.frame) == (1, 0)  # start of the current step first
    assert cursor.prev("step") and (cursor.step, cursor.frame) == (0, 0)
    assert not cursor.prev("step")

    phases = [s.phase for s in trace.steps]
    loss = phases.index("loss")
    cursor.jump(1, 2)
    assert cursor.next("phase") and cursor.step == loss and cursor.frame == 0
    assert cursor.next("phase") and trace.steps[cursor.step].phase == "backward"
    backward_start = cursor.step
    cursor.next("step")
    assert cursor.prev("phase") and (cursor.step, cursor.frame) == (backward_start, 0)
    assert cursor.prev("phase") and (cursor.step, cursor.frame) == (loss, 0)
    assert cursor.prev("phase") and (cursor.step, cursor.frame) == (0, 0)

    assert cursor.next("pass") and cursor.position == cursor.total - 1
    assert not cursor.next("pass") and not cursor.next("step") and not cursor.next("phase")
    assert cursor.prev("pass") and cursor.position == 0


def test_next_without_a_next_unit_goes_to_the_end(trace):
    cursor = Cursor(trace)
    last = len(trace.steps) - 1
    cursor.jump(last, 0)
    assert cursor.next("step") == (trace.steps[last].frame_count > 1)
    assert cursor.position == cursor.total - 1


def test_jumps_and_bad_arguments(trace):
    cursor = Cursor(trace)
    cursor.jump(2, 1)
    assert cursor.position == trace.steps[2].first_frame + 1
    assert cursor.current().step == 2 and cursor.current().index == 1
    cursor.jump_global(trace.steps[3].first_frame)
    assert (cursor.step, cursor.frame) == (3, 0)
    cursor.restart()
    assert cursor.position == 0
    with pytest.raises(ValueError, match="granularity"):
        cursor.next("word")
    with pytest.raises(ValueError):
        cursor.jump(len(trace.steps), 0)
    with pytest.raises(ValueError):
        cursor.jump_global(-1)
    assert (cursor.step, cursor.frame) == (0, 0)
    assert set(GRANULARITIES) == {"frame", "row", "channel", "step", "phase", "pass"}


def unit_starts(trace, granularity):
    """Global indices where a unit of ``granularity`` starts (the oracle for next/prev)."""
    starts = []
    for step in trace.steps:
        if granularity == "row":
            block = step.frame_grid[-1]
        elif granularity == "channel":
            block = step.frame_count // step.frame_grid[0] if len(step.frame_grid) > 1 else step.frame_count
        else:
            block = 1 if granularity == "frame" else step.frame_count
        phase_start = step.index == 0 or trace.steps[step.index - 1].phase != step.phase
        if granularity == "phase" and not phase_start or granularity == "pass" and step.index > 0:
            continue
        starts += range(step.first_frame, step.first_frame + step.frame_count, block)
    return starts


@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_next_and_prev_go_to_the_nearest_unit_start_from_every_position(trace, granularity):
    starts = unit_starts(trace, granularity)
    end = trace.total_frames - 1
    cursor = Cursor(trace)
    for position in range(trace.total_frames):
        cursor.jump_global(position)
        moved = cursor.next(granularity)
        expected = min([s for s in starts if s > position], default=end)
        assert cursor.position == expected and moved == (expected != position), (position, granularity)
        cursor.jump_global(position)
        moved = cursor.prev(granularity)
        expected = max([s for s in starts if s < position], default=position)
        assert cursor.position == expected and moved == (expected != position), (position, granularity)
