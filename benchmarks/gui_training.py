"""Training in the app: GUI responsiveness and throughput, against ``model.fit`` in the same run.

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_training.py [--samples 2048] [--batch 32] [--repeat 3]

The real window (the app's, with every panel) trains the model at full speed in its worker thread
while a QTimer probe in the GUI thread fires every 5 ms; the longest gap between two probe ticks,
minus the 5 ms, is the longest time the event loop was blocked (target <= 50 ms). The live plots
redraw every 200 ms meanwhile, and the Live tab (shown, or with --tab Training the Training tab)
draws the worker's snapshots of the network on the current sample, as in normal use. As a reference, the same probe runs while
plain ``model.fit`` trains in a bare Python thread: what the machine and the GIL alone cost.

Throughput: samples per second of the app (from pressing Train to the end of the epoch, validation on
only 32 images) as a fraction of ``model.fit`` on the same data, same batch size and a fresh copy of
the same model (target >= 0.9). App and fit runs alternate; the best of each is reported, and the
stall of the calmest run (on a shared machine other processes can stall any thread).
"""
from __future__ import annotations

import argparse
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

from cnnviz.data import load_dataset  # noqa: E402
from cnnviz.gui.app import build_window  # noqa: E402
from cnnviz.presets import load_preset  # noqa: E402

PROBE_MS = 5


def fit_rate(name, x, y, batch) -> float:
    """Samples per second of plain ``model.fit`` (one epoch, no validation), from a fresh model like the app."""
    model = load_preset(name, seed=0)
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    started = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    return len(x) / (time.perf_counter() - started)


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


def thread_fit_gaps(name, x, y, batch) -> np.ndarray:
    """The reference stall: the same probe while plain ``model.fit`` runs in a Python thread (no app)."""
    model = load_preset(name, seed=0)
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    thread = threading.Thread(target=lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0))
    thread.start()
    ticks = probe_while(thread.is_alive)
    thread.join()
    return np.diff(ticks)


def app_run(app, name, data, batch, tab="Live"):
    """(samples per second, gaps between probe ticks in seconds, snapshots drawn) while the app trains one
    epoch with the side tab ``tab`` shown."""
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
    panel.epochs_spin.setValue(1)
    for _ in range(20):  # let the window settle before measuring
        app.processEvents()
    snapshots = []
    panel.snapshot_ready.connect(snapshots.append)
    started = time.perf_counter()
    panel.start()
    ended = []  # recorded in the worker thread the moment training is over
    panel.worker.done.connect(lambda _: ended.append(time.perf_counter()), Qt.DirectConnection)
    ticks = probe_while(lambda: panel.state != "idle")
    window.close()
    # Gaps while training ran; afterwards the window traces the new weights once, like any model change.
    during = np.append(ticks[ticks <= ended[0]], ended[0])
    return len(data.x_train) / (ended[0] - started), np.diff(during), len(snapshots)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="kerasy-mnist")
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tab", default="Live", help="the side tab shown while training (Live, Training, ...)")
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    mnist = load_dataset("mnist")
    data = mnist.subset(args.samples, 32)
    x, y = data.x_train, data.y_train
    fits, apps, stalls, reference_stalls, drawn = [fit_rate(args.model, x, y, args.batch)], [], [], [], []
    for _ in range(args.repeat):  # interleaved, so a busy moment of the machine hits both sides
        rate, gaps, snapshots = app_run(app, args.model, data, args.batch, args.tab)
        apps.append(rate)
        drawn.append(snapshots)
        stalls.append((gaps.max() - PROBE_MS / 1000) * 1000)
        fits.append(fit_rate(args.model, x, y, args.batch))
        reference_stalls.append((thread_fit_gaps(args.model, x, y, args.batch).max() - PROBE_MS / 1000) * 1000)
    print(f"{args.model}, {len(x)} MNIST images, batch {args.batch}, {os.cpu_count()} cores, "
          f"{args.repeat} interleaved runs (best of each), {args.tab} tab shown; live snapshots sent per run: "
          f"{', '.join(map(str, drawn))}")
    print(f"model.fit alone:      {max(fits):8.0f} samples/s  (runs: {', '.join(f'{r:.0f}' for r in fits)})")
    print(f"training in the app:  {max(apps):8.0f} samples/s  (runs: {', '.join(f'{r:.0f}' for r in apps)})")
    print(f"throughput fraction:  {max(apps) / max(fits):8.3f}  (target >= 0.9)")
    print(f"longest GUI stall:    {min(stalls):8.1f} ms  (target <= 50; runs: {', '.join(f'{s:.1f}' for s in stalls)}; "
          f"QTimer probe every {PROBE_MS} ms)")
    print(f"reference stall:      {min(reference_stalls):8.1f} ms  (the same probe while model.fit runs in a plain "
          f"Python thread; runs: {', '.join(f'{s:.1f}' for s in reference_stalls)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
