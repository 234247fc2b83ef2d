"""Exporting a GIF: 100 frames of the lecture model at 1280x800, as a ratio to rendering them alone.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/export.py [--frames 100] [--size 1280x800]

One slide (lecture preset, shipped weights, test sample 0, the conv view, frames 0 to N-1 by frame) is
rendered by cnnviz-export's own Renderer (offscreen, presentation layout). The reference, measured
in the same run, grabs the same frames without encoding; then the same frames go to a GIF, and to
an MP4 for comparison. Each is run --repeats times and the best run is kept. Target: the GIF in
<= 10 s on the project's machine.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PyQt5.QtWidgets import QApplication  # noqa: E402

from cnnviz.gui.lessons import export  # noqa: E402
from cnnviz.gui.lessons.model import Lesson, Slide  # noqa: E402


def best_of(repeats: int, run) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--size", default="1280x800")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    size = export.parse_size(args.size)
    app = QApplication.instance() or QApplication(sys.argv[:1])  # noqa: F841
    lesson = Lesson(slides=[Slide(title="bench", view="conv", start=0, end=args.frames - 1)])
    prepared = lesson.prepare(0)
    renderer = export.Renderer(size)
    for _ in renderer.frames(prepared):  # the window is built and laid out once, before timing
        break
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        render = best_of(args.repeats, lambda: sum(1 for _ in renderer.frames(prepared)))
        gif = best_of(args.repeats, lambda: export.export_slide(renderer, prepared, out, "b", ("gif",), 10, True))
        gif_bytes = (out / "b.gif").stat().st_size
        mp4 = best_of(args.repeats, lambda: export.export_slide(renderer, prepared, out, "b", ("mp4",), 10, True))
    renderer.close()
    n = args.frames
    print(f"{n} frames at {args.size}, best of {args.repeats}")
    print(f"render only (reference): {render:6.2f} s  ({n / render:5.1f} frames/s)")
    print(f"GIF export:              {gif:6.2f} s  ({n / gif:5.1f} frames/s)  ratio {gif / render:4.2f}  "
          f"{gif_bytes / 1e6:.1f} MB   target <= 10 s")
    print(f"MP4 export:              {mp4:6.2f} s  ({n / mp4:5.1f} frames/s)  ratio {mp4 / render:4.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
