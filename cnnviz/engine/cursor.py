"""Moving through a trace: a position (step, frame) moved at any granularity."""
from __future__ import annotations

GRANULARITIES = ("frame", "row", "channel", "step", "phase", "pass")


class Cursor:
    """A position (step, frame) in a trace, moved at any granularity of ``GRANULARITIES``.

    Each granularity cuts the trace into units; ``next(g)`` moves to the start of the next
    unit (or to the very last frame when there is none) and ``prev(g)`` to the nearest unit
    start before the position (so from inside a step, prev("step") first goes back to its
    frame 0). Units:
      frame: one frame; row: ``frame_grid[-1]`` consecutive frames of a step; channel:
      prod(frame_grid[1:]) frames (the whole step for a one-axis grid); step: a step;
      phase: the steps of one phase; pass: the whole trace (next: the end, prev: the start).
    Both return False only when the position did not change.
    """

    def __init__(self, trace):
        self.trace = trace
        self.step = 0
        self.frame = 0

    @property
    def position(self) -> int:
        return self.trace.steps[self.step].first_frame + self.frame

    @property
    def total(self) -> int:
        return self.trace.total_frames

    def current(self):
        return self.trace.frame(self.step, self.frame)

    def _block(self, step, granularity: str) -> int:
        if granularity == "row":
            return step.frame_grid[-1]
        return step.frame_count // step.frame_grid[0] if len(step.frame_grid) > 1 else step.frame_count

    def _move(self, step: int, frame: int) -> bool:
        changed = (step, frame) != (self.step, self.frame)
        self.step, self.frame = step, frame
        return changed

    def _end(self):
        last = len(self.trace.steps) - 1
        return last, self.trace.steps[last].frame_count - 1

    @staticmethod
    def _check(granularity):
        if granularity not in GRANULARITIES:
            raise ValueError(f"unknown granularity {granularity!r}; expected one of {GRANULARITIES}")

    def next(self, granularity: str = "frame") -> bool:
        self._check(granularity)
        steps = self.trace.steps
        s, f = self.step, self.frame
        count = steps[s].frame_count
        if granularity == "pass":
            return self._move(*self._end())
        if granularity == "frame":
            target = (s, f + 1) if f + 1 < count else (s + 1, 0)
        elif granularity in ("row", "channel"):
            block = self._block(steps[s], granularity)
            start = (f // block + 1) * block
            target = (s, start) if start < count else (s + 1, 0)
        elif granularity == "step":
            target = (s + 1, 0)
        else:
            phase = steps[s].phase
            following = next((t.index for t in steps[s + 1 :] if t.phase != phase), len(steps))
            target = (following, 0)
        if target[0] >= len(steps):
            target = self._end()
        return self._move(*target)

    def prev(self, granularity: str = "frame") -> bool:
        self._check(granularity)
        steps = self.trace.steps
        s, f = self.step, self.frame
        if granularity == "pass":
            return self._move(0, 0)
        if granularity == "frame":
            if f > 0:
                return self._move(s, f - 1)
            return self._move(s - 1, steps[s - 1].frame_count - 1) if s > 0 else False
        if granularity in ("row", "channel"):
            block = self._block(steps[s], granularity)
            start = (f // block) * block
            if start < f:
                return self._move(s, start)
            if f > 0:
                return self._move(s, f - block)
            if s == 0:
                return False
            before = steps[s - 1]
            block = self._block(before, granularity)
            return self._move(s - 1, (before.frame_count - 1) // block * block)
        if granularity == "step":
            if f > 0:
                return self._move(s, 0)
            return self._move(s - 1, 0) if s > 0 else False
        first = self._phase_start(s)
        if (s, f) != (first, 0):
            return self._move(first, 0)
        return self._move(self._phase_start(first - 1), 0) if first > 0 else False

    def _phase_start(self, s: int) -> int:
        steps = self.trace.steps
        while s > 0 and steps[s - 1].phase == steps[s].phase:
            s -= 1
        return s

    def jump(self, step: int, frame: int = 0) -> None:
        self.trace._check(step, frame)
        self.step, self.frame = int(step), int(frame)

    def jump_global(self, index: int) -> None:
        self.step, self.frame = self.trace.locate(index)

    def restart(self) -> None:
        self.step = self.frame = 0
