"""The training worker on its own: it leaves only finite weights, undoing at most a checkpoint's worth of
training, and picks the faster number of BLAS threads."""
from __future__ import annotations

import threading

import numpy as np
from PyQt5.QtCore import Qt

from cnnviz.data import synthetic
from cnnviz.gui import worker as worker_module
from cnnviz.gui.worker import BlasThreads, Hyperparameters, TrainingWorker
from tests.gui.test_training import tiny_model


def run_in_thread(worker):
    thread = threading.Thread(target=worker.run)
    thread.start()
    return thread


def test_an_update_that_overflows_goes_back_to_the_last_checkpoint_and_says_which(monkeypatch):
    monkeypatch.setattr(worker_module, "CHECKPOINT_SECONDS", 0.0)  # a checkpoint before every batch
    monkeypatch.setattr(worker_module, "FLUSH_SECONDS", 0.0)  # and every epoch reported as it ends
    data = synthetic("bars", size=8, n_train=64, n_test=8, seed=0)
    model = tiny_model()
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    worker = TrainingWorker(model, data.x_train, data.y_train,
                            settings=Hyperparameters(optimizer="sgd", learning_rate=0.05, momentum=0.0,
                                                     batch_size=16, epochs=3))
    after_epoch_1, paused = {}, []

    def on_epoch(epochs):
        if epochs[0]["epoch"] == 0:
            after_epoch_1.update(worker.model.weights_by_name())
            # From epoch 2 on, a float32 step of 1e300 x gradient is infinite.
            worker.set_hyperparameters(Hyperparameters(optimizer="sgd", learning_rate=1e300, momentum=0.0,
                                                       batch_size=16, epochs=3))

    def on_paused(message):
        paused.append(message)
        worker.stop()

    worker.epoch_done.connect(on_epoch, Qt.DirectConnection)
    worker.paused.connect(on_paused, Qt.DirectConnection)
    outcomes = []
    worker.done.connect(outcomes.append, Qt.DirectConnection)
    run_in_thread(worker).join(timeout=60)
    assert outcomes == ["stopped"]
    assert paused and "epoch 2, batch 2" in paused[0] and "NaN or infinite" in paused[0]
    assert "before batch 1 of epoch 2, the last finite ones" in paused[0]
    weights, _ = worker.copy_state()
    assert all(np.array_equal(weights[key], after_epoch_1[key]) for key in weights)


def test_weights_that_went_non_finite_in_the_last_batch_are_never_handed_out():
    data = synthetic("bars", size=8, n_train=16, n_test=8, seed=0)
    model = tiny_model()
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    worker = TrainingWorker(model, data.x_train, data.y_train,
                            settings=Hyperparameters(optimizer="sgd", learning_rate=0.05, batch_size=16, epochs=1))
    worker.blas = BlasThreads(libraries=[])
    worker._position = (0, 0)
    worker._save_checkpoint()
    kept = worker.model.weights_by_name()
    worker.model.layers[0].params["kernel"][0, 0, 0, 0] = np.inf  # as if the last update had overflowed
    weights, _ = worker.copy_state()
    assert all(np.array_equal(weights[key], kept[key]) for key in weights)


class FakeBlas:
    def __init__(self, threads):
        self.num_threads = threads
        self.history = []

    def set_num_threads(self, threads):
        self.num_threads = threads
        self.history.append(threads)


def trial(seconds_per_sample: dict) -> tuple:
    library = FakeBlas(2)
    blas = BlasThreads(libraries=[library])
    while blas.chosen is None:
        blas.start_batch()
        blas.end_batch(32, 32 * seconds_per_sample[library.num_threads])
    return blas, library


def test_blas_threads_keeps_the_faster_of_all_threads_and_one_fewer():
    blas, library = trial({2: 2e-5, 1: 1e-5})
    assert blas.chosen == 1 and library.num_threads == 1
    assert set(library.history) == {1, 2}, "both were tried"
    assert library.history.count(1) >= BlasThreads.TRIALS
    blas.restore()
    assert library.num_threads == 2
    blas, library = trial({2: 1e-5, 1: 2e-5})
    assert blas.chosen == 2 and library.num_threads == 2


def test_blas_threads_tries_for_long_enough_to_see_the_gui_draw():
    library = FakeBlas(4)
    blas = BlasThreads(libraries=[library])
    batches = 0
    while blas.chosen is None:
        blas.start_batch()
        blas.end_batch(32, 0.01)
        batches += 1
    assert batches * 0.01 >= BlasThreads.WARM_UP_SECONDS + BlasThreads.TRIAL_SECONDS
    assert library.history[0] == 3, "all threads while warming up, then both alternate"
    assert blas.candidates == (4, 3)


def test_one_blas_thread_leaves_nothing_to_try():
    library = FakeBlas(1)
    blas = BlasThreads(libraries=[library])
    assert blas.chosen == 1
    blas.start_batch()
    blas.end_batch(32, 0.01)
    assert library.history == []


def test_blas_threads_remembers_its_choice_for_the_same_network_and_batch_size(monkeypatch):
    monkeypatch.setattr(BlasThreads, "known", {})
    library = FakeBlas(2)
    blas = BlasThreads(key="net, 32", libraries=[library])
    while blas.chosen is None:
        blas.start_batch()
        blas.end_batch(32, 32 * (1e-5 if library.num_threads == 1 else 2e-5))
    library.set_num_threads(2)  # restored after the run
    again = BlasThreads(key="net, 32", libraries=[library])
    assert again.chosen == 1 and library.num_threads == 1, "no second trial"
    again.restore()
    other = BlasThreads(key="net, 64", libraries=[library])
    assert other.chosen is None
