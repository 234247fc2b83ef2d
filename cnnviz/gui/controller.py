"""Playback: a Cursor into the trace moved by the step buttons, the keyboard, or a QTimer."""
from __future__ import annotations

from PyQt5.QtCore import QObject, QTimer, pyqtSignal

from ..engine.trace import GRANULARITIES, Cursor

SPEEDS = (1, 2, 5, 10, 20, 30, 60)  # frames (ticks) per second offered by +/-


class PlaybackController(QObject):
    """Owns the cursor and the timer. Views listen to ``moved`` and draw ``current()``.

    fps: timer ticks per second; frames_per_tick: how many units one tick advances;
    granularity: the unit of a step forward/back (one of GRANULARITIES).
    """

    moved = pyqtSignal()             # the cursor changed (or a new trace arrived)
    playing_changed = pyqtSignal(bool)
    settings_changed = pyqtSignal()  # fps, frames per tick or granularity

    def __init__(self, trace=None, parent=None):
        super().__init__(parent)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self.fps = 10
        self.frames_per_tick = 1
        self.granularity = "frame"
        self.cursor = None
        self.trace = None
        if trace is not None:
            self.set_trace(trace)

    # ------------------------------------------------------------------ trace
    def set_trace(self, trace, keep_position: bool = False) -> None:
        """Point at a new trace; keep the global position when asked and it still exists."""
        position = self.cursor.position if (keep_position and self.cursor is not None) else 0
        self.trace = trace
        self.cursor = Cursor(trace)
        if 0 < position < trace.total_frames:
            self.cursor.jump_global(position)
        self.moved.emit()

    def current(self) -> dict:
        return self.cursor.current()

    @property
    def step(self):
        return self.trace.steps[self.cursor.step]

    # ------------------------------------------------------------------ moving
    def _after(self, changed: bool) -> bool:
        if changed:
            self.moved.emit()
        return changed

    def forward(self, granularity: str | None = None) -> bool:
        return self._after(self.cursor.next(granularity or self.granularity))

    def back(self, granularity: str | None = None) -> bool:
        return self._after(self.cursor.prev(granularity or self.granularity))

    def next_step(self) -> bool:
        return self.forward("step")

    def prev_step(self) -> bool:
        return self.back("step")

    def restart(self) -> None:
        self.cursor.restart()
        self.moved.emit()

    def jump(self, step: int, frame: int = 0) -> None:
        self.cursor.jump(step, frame)
        self.moved.emit()

    def jump_global(self, index: int) -> None:
        self.cursor.jump_global(index)
        self.moved.emit()

    def at_end(self) -> bool:
        return self.cursor.position == self.trace.total_frames - 1

    # ------------------------------------------------------------------ playing
    @property
    def playing(self) -> bool:
        return self.timer.isActive()

    def play(self) -> None:
        if self.at_end():
            self.cursor.restart()
            self.moved.emit()
        self.timer.start(round(1000 / self.fps))
        self.playing_changed.emit(True)

    def pause(self) -> None:
        if self.timer.isActive():
            self.timer.stop()
            self.playing_changed.emit(False)

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def _tick(self) -> None:
        changed = False
        for _ in range(self.frames_per_tick):
            if not self.cursor.next(self.granularity):
                break
            changed = True
        if changed:
            self.moved.emit()
        if self.at_end():
            self.pause()

    # ------------------------------------------------------------------ settings
    def set_fps(self, fps: int) -> None:
        if not 1 <= int(fps) <= 120:
            raise ValueError(f"frames per second must be 1 to 120, got {fps}")
        self.fps = int(fps)
        if self.playing:
            self.timer.setInterval(round(1000 / self.fps))
        self.settings_changed.emit()

    def set_frames_per_tick(self, count: int) -> None:
        if int(count) < 1:
            raise ValueError(f"frames per tick must be at least 1, got {count}")
        self.frames_per_tick = int(count)
        self.settings_changed.emit()

    def set_granularity(self, granularity: str) -> None:
        if granularity not in GRANULARITIES:
            raise ValueError(f"unknown granularity {granularity!r}; expected one of {GRANULARITIES}")
        self.granularity = granularity
        self.settings_changed.emit()

    def faster(self) -> None:
        """Next speed up: more frames per second, then more frames per tick."""
        larger = [s for s in SPEEDS if s > self.fps]
        if larger:
            self.set_fps(larger[0])
        else:
            self.set_frames_per_tick(self.frames_per_tick * 2)

    def slower(self) -> None:
        if self.frames_per_tick > 1:
            self.set_frames_per_tick(self.frames_per_tick // 2)
            return
        smaller = [s for s in SPEEDS if s < self.fps]
        if smaller:
            self.set_fps(smaller[-1])
