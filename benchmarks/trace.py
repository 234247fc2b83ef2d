"""Speed of the step-by-step trace on the Kerasy-notebook MNIST model (SGD).

    python benchmarks/trace.py [--repeats 20] [--frames 3000]

Prints the median time to build a trace of one sample (target <= 50 ms), the same model's
plain forward + backward on that sample measured in the same run (the reference, and the
ratio to it), and the mean time to fetch a frame: a random step, then a random frame in it
(target <= 1 ms), with the slowest frame kind.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cnnviz.data import load_dataset  # noqa: E402
from cnnviz.engine.trace import Trace  # noqa: E402
from cnnviz.presets import load_preset  # noqa: E402


def median_ms(action, repeats: int) -> float:
    action()  # warm-up: buffers, caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--frames", type=int, default=3000)
    args = parser.parse_args(argv)

    model = load_preset("kerasy-mnist", seed=0)
    model.compile(optimizer="sgd")
    digits = load_dataset("mnist")
    x, label = digits.x_test[0], int(digits.y_test[0])
    rng = np.random.default_rng(0)

    reference = median_ms(lambda: (model.forward(x[None]), model.backward(np.array([label]))), args.repeats)
    build = median_ms(lambda: Trace(model, x, label), args.repeats)
    trace = Trace(model, x, label)

    steps = rng.integers(len(trace.steps), size=args.frames)
    picks = [(int(s), int(rng.integers(trace.steps[s].frame_count))) for s in steps]
    per_kind: dict[str, list[float]] = {}
    for step, frame in picks:
        start = time.perf_counter()
        trace.frame(step, frame)
        per_kind.setdefault(trace.steps[step].kind, []).append(time.perf_counter() - start)
    all_times = [t for times in per_kind.values() for t in times]
    mean_frame = statistics.fmean(all_times) * 1e3
    slowest = max(per_kind, key=lambda kind: statistics.fmean(per_kind[kind]))

    print(f"model: kerasy-mnist, SGD; one MNIST test digit; {len(trace.steps)} steps, "
          f"{trace.total_frames:,} frames")
    print(f"forward + backward of one sample (reference): {reference:.2f} ms")
    print(f"build a trace: {build:.2f} ms median of {args.repeats} "
          f"({build / reference:.2f}x the reference; target <= 50 ms: {'ok' if build <= 50 else 'MISSED'})")
    print(f"fetch a frame: {mean_frame:.4f} ms mean over {args.frames} random frames "
          f"(target <= 1 ms: {'ok' if mean_frame <= 1 else 'MISSED'}); slowest kind {slowest} "
          f"{statistics.fmean(per_kind[slowest]) * 1e3:.4f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
