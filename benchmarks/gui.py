"""Frames rendered per second by the desktop app, stepping through the default model offscreen.

    QT_QPA_PLATFORM=offscreen python benchmarks/gui.py [--frames 600] [--size 1280x800]

The default window (lecture preset, shipped weights and MNIST sample when present) steps frame by
frame (``controller.forward()``, what the Right key does) through the first frames of every step
of the trace (conv, pooling, flatten, dense, loss, backward, update), ``--frames`` frames in all,
with "follow" on, so each view draws its own frames. Every frame is forced to paint:
``window.grab()`` renders the whole window into a pixmap. Prints frames per second (target
>= 30), the slowest frame kind, and as a reference measured in the same run the cost of only
fetching those frames from the trace (the ratio says how much of the time is drawing).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PyQt5.QtWidgets import QApplication  # noqa: E402

from cnnviz.gui.app import first_unsure_sample, load_default_dataset, preset_model  # noqa: E402
from cnnviz.gui.app import build_window  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--size", default="1280x800")
    args = parser.parse_args(argv)
    width, height = (int(n) for n in args.size.split("x"))

    app = QApplication.instance() or QApplication(sys.argv[:1])
    model = preset_model("lecture", None, seed=0)
    dataset = load_default_dataset()
    sample = None
    if dataset is not None:
        index = first_unsure_sample(model, dataset)
        sample = (dataset.x_test[index], int(dataset.y_test[index]))
    window = build_window(model, dataset, sample)
    window.resize(width, height)
    window.show()
    app.processEvents()
    controller, trace = window.controller, window.state.trace
    per_step = max(1, args.frames // len(trace.steps))

    for step in trace.steps:  # warm-up: every view builds its items once
        controller.jump(step.index)
        window.grab()

    per_kind = defaultdict(list)
    positions = []
    start = time.perf_counter()
    for step in trace.steps:
        controller.jump(step.index)
        for _ in range(min(per_step, step.frame_count)):
            tick = time.perf_counter()
            controller.forward()
            window.grab()
            per_kind[window.frame.kind].append(time.perf_counter() - tick)
            positions.append(controller.cursor.position)
    elapsed = time.perf_counter() - start

    start = time.perf_counter()
    for position in positions:
        trace.frame_at(int(position))
    reference = time.perf_counter() - start

    fps = len(positions) / elapsed
    slowest = max(per_kind, key=lambda kind: np.mean(per_kind[kind]))
    print(f"window {width}x{height}, {len(positions)} frames stepped, up to {per_step} in each of the "
          f"{len(trace.steps)} steps (every frame kind) of {trace.total_frames}")
    print(f"rendered: {fps:.1f} frames per second ({elapsed / len(positions) * 1e3:.1f} ms per frame; "
          "target >= 30 fps)")
    print(f"slowest kind: {slowest} ({np.mean(per_kind[slowest]) * 1e3:.1f} ms per frame)")
    print(f"reference, fetching the same frames from the trace only: {reference / len(positions) * 1e3:.3f} ms "
          f"per frame (drawing is {elapsed / max(reference, 1e-9):.0f}x that)")
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
