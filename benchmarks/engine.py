"""Speed and memory of the NumPy engine against PyTorch CPU on the Kerasy-notebook MNIST model.

    python benchmarks/engine.py [--rounds 5] [--steps 30] [--batches 16 64] [--threads N]

Model: 28x28x1 -> Conv2D 32 3x3 relu -> Conv2D 64 3x3 relu -> MaxPool 2 -> Flatten ->
Dense 128 relu -> Dense 10 softmax (no dropout), float32, SGD, cross-entropy.

For each batch size it measures the median time of a training step (forward + backward +
SGD update) and of a forward pass. cnnviz and (when importable) torch each run in their own
subprocess with the same number of threads (the BLAS thread count numpy uses, or --threads;
numpy's is set with threadpoolctl, torch's with torch.set_num_threads), alternating
for several rounds; the ratios cnnviz/torch are taken per round and their median printed, with
the ratio of the fastest steps beside it (on a shared machine the least disturbed figure).
It also prints the peak resident memory of the cnnviz process training at the largest batch.

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE change which kernels OpenBLAS uses; their values are
printed. To measure without them: ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python ...``.

When other processes keep the cores busy, multi-threaded OpenBLAS slows down far more than
torch (its threads wait for each other), and the median ratios mostly measure that: look at
the best ratio, or compare with ``--threads 1``.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CLASSES = 10


def blas_description() -> str:
    """Which BLAS numpy uses and the CPU kernels it picked (OPENBLAS_CORETYPE can change them)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    infos = [info for info in threadpool_info() if info["user_api"] == "blas"]
    described = [f"{i['internal_api']} {i.get('version')} ({i.get('architecture')} kernels)" for i in infos]
    return ", ".join(described) or "none"


def blas_threads() -> int:
    """Threads numpy's BLAS uses (threadpoolctl), or 2 when that cannot be asked."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return 2
    counts = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    return counts[0] if counts else 2


def step_times(action, steps: int) -> list[float]:
    for _ in range(3):  # warm-up: buffers, caches, first-call allocations
        action()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return times


def summary(train: list[float], forward: list[float]) -> dict:
    return {"train": statistics.median(train), "forward": statistics.median(forward),
            "train_best": min(train), "forward_best": min(forward)}


def data(batch: int):
    rng = np.random.default_rng(0)
    x = rng.random((batch, 28, 28, 1), dtype=np.float32)
    y = rng.integers(CLASSES, size=batch)
    return x, y


def run_cnnviz(batch: int, steps: int) -> dict:
    from cnnviz.engine import Sequential
    from cnnviz.engine.layers import Conv2D, Dense, Flatten, Input, MaxPooling2D

    model = Sequential(seed=0)
    model.add(Input(input_shape=(28, 28, 1)))
    model.add(Conv2D(32, kernel_size=(3, 3), activation="relu"))
    model.add(Conv2D(64, kernel_size=(3, 3), activation="relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Flatten())
    model.add(Dense(128, activation="relu"))
    model.add(Dense(CLASSES, activation="softmax"))
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    x, y = data(batch)
    return summary(step_times(lambda: model.train_on_batch(x, y), steps), step_times(lambda: model.forward(x), steps))


def run_torch(batch: int, steps: int, threads: int) -> dict:
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(12 * 12 * 64, 128), nn.ReLU(), nn.Linear(128, CLASSES),
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    x, y = data(batch)
    x, y = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(y)

    def train_step():
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

    def forward():
        with torch.no_grad():
            model(x).softmax(dim=1)

    return summary(step_times(train_step, steps), step_times(forward, steps))


def worker(side: str, batch: int, steps: int, threads: int) -> None:
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(threads, user_api="blas")
    except ImportError:
        pass  # numpy keeps its own thread count, which blas_threads() reported
    result = run_cnnviz(batch, steps) if side == "cnnviz" else run_torch(batch, steps, threads)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps(result))


def measure(side: str, batch: int, steps: int, threads: int) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--worker", side, "--batches", str(batch), "--steps", str(steps),
         "--threads", str(threads)],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=30, help="timed steps per measurement")
    parser.add_argument("--batches", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--worker", choices=("cnnviz", "torch"), help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for both sides (default: the BLAS thread count numpy uses)")
    args = parser.parse_args(argv)
    threads = args.threads or blas_threads()
    if args.worker:
        worker(args.worker, args.batches[0], args.steps, threads)
        return 0

    try:
        import torch  # noqa: F401
        sides = ("cnnviz", "torch")
    except ImportError:
        sides = ("cnnviz",)
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        print(f"{name}={os.environ.get(name, '(unset)')}")
    print(f"numpy BLAS: {blas_description()}")
    print(f"numpy {np.__version__}, {threads} BLAS threads on both sides, {args.rounds} alternating rounds, "
          f"median of {args.steps} steps each")

    peak_mb = 0.0
    print(f"\n{'batch':>5} {'measure':>8} {'cnnviz ms':>10} {'torch ms':>9} {'ratio':>6} {'best ratio':>11}")
    for batch in args.batches:
        results = {side: [] for side in sides}
        for _ in range(args.rounds):
            for side in sides:
                results[side].append(measure(side, batch, args.steps, threads))
        if batch == max(args.batches):
            peak_mb = max(r["peak_rss_mb"] for r in results["cnnviz"])
        for key in ("train", "forward"):
            ours = statistics.median(r[key] for r in results["cnnviz"]) * 1e3
            if "torch" not in results:
                print(f"{batch:>5} {key:>8} {ours:>10.2f}")
                continue
            theirs = statistics.median(r[key] for r in results["torch"]) * 1e3
            ratio = statistics.median(a[key] / b[key] for a, b in zip(results["cnnviz"], results["torch"]))
            best = (min(r[key + "_best"] for r in results["cnnviz"]) / min(r[key + "_best"] for r in results["torch"]))
            print(f"{batch:>5} {key:>8} {ours:>10.2f} {theirs:>9.2f} {ratio:>6.2f} {best:>11.2f}")
    print("\nms: median over rounds of each round's median step; ratio: median over rounds of cnnviz/torch;")
    print("best ratio: fastest cnnviz step / fastest torch step (least disturbed by other processes)")
    print("\ntargets: train ratio <= 1.2, forward ratio <= 1.5")
    print(f"peak resident memory, cnnviz training at batch {max(args.batches)}: {peak_mb:.0f} MB (target < 1024 MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
