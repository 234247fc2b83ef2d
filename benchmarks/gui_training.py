"""Training in the app: GUI responsiveness and throughput, against ``model.fit`` in the same run.

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_training.py [--model kerasy-mnist] [--samples 2048]
        [--batch 32] [--repeat 3] [--seconds 1.5]

The real window (the app's, with every panel) trains the model at full speed in its worker thread
while a QTimer probe in the GUI thread fires every 5 ms; the longest gap between two probe ticks,
minus the 5 ms, is the longest time the event loop was blocked (target <= 50 ms). The live plots
redraw every 200 ms meanwhile, and the Live tab (shown, or with --tab Training the Training tab)
draws the worker's snapshots of the network on the current sample, as in normal use. As a reference, the same probe runs while
plain ``model.fit`` trains in a bare Python thread: what the machine and the GIL alone cost.

Throughput: samples per second of the app (from pressing Train to the end of the last epoch,
validation on only 32 images) as a fraction of ``model.fit`` on the same data, same batch size, same
epochs and a fresh copy of the same model (target >= 0.9). Both train for as many epochs as
``model.fit`` needs for ``--seconds``: an epoch of the dense preset on 4000 images takes 60 ms, which
would measure the start of a thread rather than training. App and fit runs alternate, and each app
run is divided by the mean of the fit runs just before and after it: the median of these ratios is
the figure (one lucky or unlucky run on a shared machine moves a best-of-each ratio by 10 %); the best
of each and the stall of the calmest run (other processes can stall any thread) are printed too.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PyQt5.QtCore import QEventLoop, Qt, QTimer  # noqa: E402
from PyQt5.QtWidgets import QApplication  # noqa: E402

from benchmarks.engine import blas_description, blas_threads  # noqa: E402
from cnnviz.data import load_dataset  # noqa: E402
from cnnviz.gui.app import build_window  # noqa: E402
from cnnviz.presets import load_preset  # noqa: E402

PROBE_MS = 5


def fit_rate(name, x, y, batch, epochs=1) -> float:
    """Samples per second of plain ``model.fit`` (no validation), from a fresh model like the app."""
    model = load_preset(name, seed=0)
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    started = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0)
    return epochs * len(x) / (time.perf_counter() - started)


def probe_while(busy) -> np.ndarray:
    """Times (seconds) of QTimer probe ticks in the GUI thread, in a real Qt event loop, until ``busy()``
    is False (checked every 20 ms)."""
    ticks = [time.perf_counter()]
    loop = QEventLoop()
    probe = QTimer()
    probe.setTimerType(Qt.PreciseTimer)
    probe.timeout.connect(lambda: ticks.append(time.perf_counter()))
    check = QTimer()
    check.timeout.connect(lambda: busy() or loop.quit())
    probe.start(PROBE_MS)
    check.start(20)
    loop.exec_()
    probe.stop()
    check.stop()
    return np.array(ticks)


def thread_fit_gaps(name, x, y, batch, epochs) -> np.ndarray:
    """The reference stall: the same probe while plain ``model.fit`` runs in a Python thread (no app)."""
    model = load_preset(name, seed=0)
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    thread = threading.Thread(target=lambda: model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0))
    thread.start()
    ticks = probe_while(thread.is_alive)
    thread.join()
    return np.diff(ticks)


def app_run(app, name, data, batch, epochs, tab="Live"):
    """(samples per second, gaps between probe ticks in seconds, snapshots drawn, BLAS threads the worker
    chose) while the app trains ``epochs`` with the side tab ``tab`` shown."""
    window = build_window(load_preset(name, seed=0), data)
    window.resize(1280, 800)
    window.show()
    tabs = window.side_tabs
    tabs.setCurrentIndex(next(i for i in range(tabs.count()) if tabs.tabText(i) == tab))
    app.processEvents()
    panel = window.training_panel
    panel.optimizer_combo.setCurrentText("sgd")
    panel.lr_spin.setValue(0.01)
    panel.momentum_spin.setValue(0.0)
    panel.batch_spin.setValue(batch)
    panel.epochs_spin.setValue(epochs)
    for _ in range(20):  # let the window settle before measuring
        app.processEvents()
    snapshots = []
    panel.snapshot_ready.connect(snapshots.append)
    started = time.perf_counter()
    panel.start()
    worker = panel.worker
    ended = []  # recorded in the worker thread the moment training is over
    panel.worker.done.connect(lambda _: ended.append(time.perf_counter()), Qt.DirectConnection)
    ticks = probe_while(lambda: panel.state != "idle")
    window.close()
    # Gaps while training ran; afterwards the window traces the new weights once, like any model change.
    during = np.append(ticks[ticks <= ended[0]], ended[0])
    return epochs * len(data.x_train) / (ended[0] - started), np.diff(during), len(snapshots), worker.blas.chosen


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="kerasy-mnist")
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tab", default="Live", help="the side tab shown while training (Live, Training, ...)")
    parser.add_argument("--seconds", type=float, default=1.5, help="train for at least this long (model.fit's time)")
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    mnist = load_dataset("mnist")
    data = mnist.subset(args.samples, 32)
    x, y = data.x_train, data.y_train
    epochs = max(1, math.ceil(args.seconds * fit_rate(args.model, x, y, args.batch) / len(x)))
    fits, apps, stalls, reference_stalls, drawn = [fit_rate(args.model, x, y, args.batch, epochs)], [], [], [], []
    threads = []
    for _ in range(args.repeat):  # interleaved, so a busy moment of the machine hits both sides
        rate, gaps, snapshots, chosen = app_run(app, args.model, data, args.batch, epochs, args.tab)
        apps.append(rate)
        drawn.append(snapshots)
        threads.append(chosen)
        stalls.append((gaps.max() - PROBE_MS / 1000) * 1000)
        fits.append(fit_rate(args.model, x, y, args.batch, epochs))
        reference_stalls.append((thread_fit_gaps(args.model, x, y, args.batch, epochs).max() - PROBE_MS / 1000) * 1000)
    print(f"{args.model}, {len(x)} MNIST images x {epochs} epochs, batch {args.batch}, {os.cpu_count()} cores, "
          f"{args.repeat} interleaved runs (best of each), {args.tab} tab shown; live snapshots drawn per run: "
          f"{', '.join(map(str, drawn))}")
    print(f"BLAS: {blas_description()}, {blas_threads()} threads for model.fit; the app's worker chose "
          f"{', '.join(map(str, threads))}")
    print(f"model.fit alone:      {max(fits):8.0f} samples/s  (runs: {', '.join(f'{r:.0f}' for r in fits)})")
    print(f"training in the app:  {max(apps):8.0f} samples/s  (runs: {', '.join(f'{r:.0f}' for r in apps)})")
    ratios = [app / ((before + after) / 2) for app, before, after in zip(apps, fits, fits[1:])]
    print(f"throughput fraction:  {np.median(ratios):8.3f}  (target >= 0.9; median of the interleaved runs' ratios: "
          f"{', '.join(f'{r:.2f}' for r in ratios)}; best app / best fit {max(apps) / max(fits):.3f})")
    print(f"longest GUI stall:    {min(stalls):8.1f} ms  (target <= 50; runs: {', '.join(f'{s:.1f}' for s in stalls)}; "
          f"QTimer probe every {PROBE_MS} ms)")
    print(f"reference stall:      {min(reference_stalls):8.1f} ms  (the same probe while model.fit runs in a plain "
          f"Python thread; runs: {', '.join(f'{s:.1f}' for s in reference_stalls)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
