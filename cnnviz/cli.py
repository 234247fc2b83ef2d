"""``cnnviz-train``: train, evaluate and describe models from the command line.

    cnnviz-train --model kerasy-mnist --data mnist --epochs 10 --out weights.npz
    cnnviz-train --model lecture --epochs 3 --out lecture.keras      (also .h5, .onnx)
    cnnviz-train evaluate --weights weights.npz --data mnist
    cnnviz-train evaluate --model lecture --weights from_torch.safetensors
    cnnviz-train summary --model lenet

``train`` is the default command (``python -m cnnviz.cli train`` works too). A progress bar
per epoch shows samples/s, loss, accuracy and time left on stderr; ``--json`` prints the final
metrics as one JSON line on stdout. Ctrl+C stops after the current batch and still saves
``--out`` (written atomically, so a file is never half-written); a second Ctrl+C aborts.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from . import __version__
from .data import DATASET_NAMES, load_dataset
from .engine.exporters import EXPORT_SUFFIXES, export_model
from .engine.model import Callback, Sequential, load_model
from .engine.weights import architecture_of, read_npz
from .engine.optimizers import OPTIMIZERS, get_optimizer
from .engine.weights import check_finite
from .limits import temporary_name
from .presets import PRESETS, build_model

COMMANDS = ("train", "evaluate", "summary")
INTERRUPTED = 130  # exit status of a run stopped by Ctrl+C (128 + SIGINT)
BROKEN_PIPE = 141  # exit status of a command whose output pipe closed (128 + SIGPIPE)


# ---------------------------------------------------------------- callbacks
class ProgressBar(Callback):
    """A tqdm bar per epoch (samples/s, running loss and accuracy, time left) and one line per epoch.

    Records each epoch's wall time in ``seconds``.
    """

    def __init__(self, n_samples: int, epochs: int, stream=None, bar: bool | None = None, quiet: bool = False):
        self.n_samples, self.epochs = n_samples, epochs
        self.stream = stream or sys.stderr
        self.bar_enabled = (not quiet) and (self.stream.isatty() if bar is None else bar)
        self.quiet = quiet
        self.seconds: list[float] = []
        self.bar = None

    def on_epoch_begin(self, epoch, logs=None):
        from tqdm import tqdm

        self.bar = tqdm(total=self.n_samples, desc=f"Epoch {epoch + 1}/{self.epochs}", unit="img",
                        file=self.stream, disable=not self.bar_enabled, leave=False, dynamic_ncols=True)
        self.started = time.perf_counter()
        self.seen, self.loss_sum, self.correct_sum = 0, 0.0, 0.0

    def on_batch_end(self, batch, logs=None):
        size = logs["size"]
        self.seen += size
        self.loss_sum += logs["loss"] * size
        self.correct_sum += logs["accuracy"] * size
        self.bar.set_postfix(loss=f"{self.loss_sum / self.seen:.4f}", acc=f"{self.correct_sum / self.seen:.4f}",
                             refresh=False)
        self.bar.update(size)

    def on_epoch_end(self, epoch, logs=None):
        self.bar.close()
        seconds = time.perf_counter() - self.started
        self.seconds.append(seconds)
        if not self.quiet:
            metrics = " - ".join(f"{key} {value:.4f}" for key, value in (logs or {}).items())
            rate = self.seen / seconds if seconds > 0 else float("inf")
            print(f"Epoch {epoch + 1}/{self.epochs} - {seconds:.1f}s ({rate:.0f} img/s) - {metrics}",
                  file=self.stream, flush=True)


class StopOnInterrupt(Callback):
    """Stops training after the current batch once ``requested`` is set (by Ctrl+C)."""

    requested = False

    def on_batch_end(self, batch, logs=None):
        if self.requested:
            self.model.stop_training = True


@contextmanager
def ctrl_c_stops(callback: StopOnInterrupt, stream):
    """While active, the first Ctrl+C asks ``callback`` to stop; the second aborts."""

    def handler(signum, frame):
        if callback.requested:
            raise KeyboardInterrupt
        callback.requested = True
        print("\nStopping after this batch (Ctrl+C again to abort)...", file=stream, flush=True)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


# ---------------------------------------------------------------- building blocks
def model_with_weights(model_spec: str | None, weights: str, seed) -> Sequential:
    """A model carrying ``weights``: a cnnviz .npz, a Keras .h5 or a PyTorch .safetensors file.

    ``model_spec`` (preset or JSON) gives the architecture; it may be left out for an .npz
    that stores its architecture and for a Keras file saved with ``model.save``.
    """
    path = Path(weights)
    if model_spec is None and path.suffix.lower() == ".npz" and architecture_of(read_npz(path)) is None:
        raise ValueError(f"{path}: stores no architecture; say which with --model")
    return load_model(path, architecture=None if model_spec is None else build_model(model_spec, seed), seed=seed)


def load_data(args):
    data = load_dataset(args.data, seed=args.seed, test_fraction=args.test_fraction, size=args.image_size)
    return data.subset(args.train_samples, args.test_samples)


def check_fit(model: Sequential, data) -> None:
    if tuple(model.input_shape) != data.input_shape:
        raise ValueError(f"model {model.name} takes {'x'.join(map(str, model.input_shape))} images but "
                         f"{data.name} has {'x'.join(map(str, data.input_shape))}; pick matching data or model")
    if model.output_shape[-1] < data.num_classes:
        raise ValueError(f"model {model.name} has {model.output_shape[-1]} outputs but {data.name} has "
                         f"{data.num_classes} classes")


def make_optimizer(args):
    config = {"name": args.optimizer}
    if args.lr is not None:
        config["learning_rate"] = args.lr
    if args.momentum is not None:
        if args.optimizer != "sgd":
            raise ValueError("--momentum applies to --optimizer sgd only")
        config["momentum"] = args.momentum
    for item in args.opt or []:
        key, equals, value = item.partition("=")
        if not equals or not key:
            raise ValueError(f"--opt {item!r}: expected NAME=VALUE, e.g. --opt initial_accumulator_value=0")
        if value.lower() in ("true", "false"):
            config[key] = value.lower() == "true"
            continue
        try:
            config[key] = float(value)
        except ValueError:
            raise ValueError(f"--opt {item!r}: the value must be a number, true or false") from None
    return get_optimizer(config)


def check_output_path(out) -> None:
    """Find what would stop ``--out`` from being saved before training starts (the disk filling up
    during the run can still happen: then ``save_trained`` writes a fallback file)."""
    if out is None:
        return
    path = Path(out)
    if path.suffix.lower() not in EXPORT_SUFFIXES:
        raise ValueError(f"--out {out}: give a file name ending in .npz (cnnviz), .keras or .h5 (Keras) "
                         "or .onnx (ONNX)")
    folder = path.resolve().parent
    if not folder.is_dir():
        raise ValueError(f"--out {out}: the folder {folder} does not exist")
    if path.is_dir() or (path.exists() and not path.is_file()):
        raise ValueError(f"--out {out}: is a folder or not a regular file; give the name of a file")
    probe = temporary_name(path)
    try:  # find out now, not after training, that the file cannot be written there
        probe.open("wb").close()
        probe.unlink()
    except OSError as error:
        raise ValueError(f"--out {out}: cannot write in {folder} ({error.strerror or error})") from None


def save_trained(model, out, stream, quiet: bool) -> str:
    """Save the trained model to ``out`` (in the format its suffix names); if that fails, its weights
    to a named .npz fallback file beside it (or in the temporary folder). Returns where they went."""
    path = Path(out)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidates = [path, path.with_name(f"{path.stem}.unsaved-{stamp}.npz"),
                  Path(tempfile.gettempdir()) / f"{path.stem}.unsaved-{stamp}.npz"]
    for candidate in candidates:
        try:
            if candidate == path:
                export_model(model, candidate)
            else:
                model.save_weights(candidate)
        except OSError as error:
            print(f"cnnviz-train: could not save {candidate} ({error.strerror or error})", file=sys.stderr, flush=True)
            continue
        if not quiet or candidate != path:
            print(f"saved {candidate}", file=stream if candidate == path else sys.stderr, flush=True)
        return str(candidate)
    raise OSError(f"could not save the trained weights anywhere (tried {', '.join(map(str, candidates))})")


# ---------------------------------------------------------------- commands
def train(args, stream=None) -> dict:
    """Train as ``args`` say; returns the final metrics, the per-epoch history and whether Ctrl+C stopped it."""
    stream = stream or sys.stderr
    check_output_path(args.out)
    if args.epochs < 1 or args.batch_size < 1:
        raise ValueError("--epochs and --batch-size must be positive")
    data = load_data(args)
    if args.weights:
        model = model_with_weights(args.model, args.weights, args.seed)
    else:
        model = build_model(args.model, args.seed)
    check_fit(model, data)
    model.compile(optimizer=make_optimizer(args), loss="categorical_crossentropy", metrics=["accuracy"])
    if not args.quiet:
        print(f"{model.name} ({model.count_params():,} parameters) on {data.describe()}; "
              f"{args.optimizer}, learning rate {model.optimizer.learning_rate:g}, batch {args.batch_size}, "
              f"seed {args.seed}", file=stream, flush=True)
    progress = ProgressBar(len(data.x_train), args.epochs, stream, quiet=args.quiet)
    stopper = StopOnInterrupt()
    started = time.perf_counter()
    not_written = f"; --out {args.out} was not written (a file already there stays as it was)" if args.out else ""
    try:
        # Overflow is reported once, below, as divergence, not as NumPy warnings on every batch.
        with ctrl_c_stops(stopper, stream), np.errstate(over="ignore", invalid="ignore"):
            history = model.fit(data.x_train, data.y_train, batch_size=args.batch_size, epochs=args.epochs,
                                validation_data=(data.x_test, data.y_test) if len(data.x_test) else None,
                                callbacks=[progress, stopper], verbose=0)
        check_finite(model.weights_by_name())
    except ValueError as error:  # the loss or the weights went NaN or infinite
        rate = model.optimizer.learning_rate
        raise ValueError(f"training diverged at learning rate {rate:g} ({error}){not_written}; try a lower --lr") \
            from None
    seconds = time.perf_counter() - started
    saved = save_trained(model, args.out, stream, args.quiet) if args.out else None
    final = {key: values[-1] for key, values in history.history.items()}
    return {**final, "seconds": seconds, "epochs": len(history.epoch), "stopped": stopper.requested,
            "saved": saved, "history": {**history.history, "seconds": progress.seconds}}


def evaluate(args, stream=None) -> dict:
    """Loss, accuracy and per-class accuracy of a weights file on a dataset's test (or training) part."""
    stream = stream or sys.stderr
    if not args.weights:
        raise ValueError("evaluate needs --weights (a .npz, .h5 or .safetensors file)")
    model = model_with_weights(args.model, args.weights, args.seed)
    data = load_data(args)
    check_fit(model, data)
    x, y = (data.x_train, data.y_train) if args.split == "train" else (data.x_test, data.y_test)
    if not len(x):
        raise ValueError(f"{data.name} has no {args.split} images")
    model.compile(loss="categorical_crossentropy", metrics=["accuracy"])
    outputs = model.predict(x)
    predicted = outputs.argmax(axis=1)
    loss = model.compute_loss(outputs, model.check_y(y, len(y)))
    accuracy = float((predicted == y).mean())
    per_class = {name: float((predicted[y == k] == k).mean()) for k, name in enumerate(data.class_names)
                 if np.any(y == k)}
    return {"loss": float(loss), "accuracy": float(accuracy), "correct": int((predicted == y).sum()),
            "samples": int(len(y)), "per_class": per_class, "model": model.name, "data": data.name,
            "split": args.split}


def summary(args) -> dict:
    if args.weights:
        model = model_with_weights(args.model, args.weights, args.seed)
    else:
        model = build_model(args.model, args.seed)
    return {"summary": model.summary_text(), "params": model.count_params(), "config": model.get_config()}


# ---------------------------------------------------------------- command line
def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cnnviz-train", description="Train, evaluate and describe cnnviz models.",
                                     epilog="Without a command, 'train' is meant.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="{train,evaluate,summary}")

    def common(sub, model_help):
        sub.add_argument("--model", help=model_help)
        sub.add_argument("--seed", type=int, default=0, help="seed for weights, shuffling, dropout and splits (0)")
        sub.add_argument("--json", action="store_true", help="print the result as one JSON line on stdout")

    def data_options(sub):
        sub.add_argument("--data", default="mnist",
                         help=f"a dataset name {list(DATASET_NAMES)} or a path (IDX folder, .npz, CIFAR-10 folder, "
                              "image folder); default: the shipped MNIST subset")
        sub.add_argument("--train-samples", type=int, metavar="N", help="use only the first N training images")
        sub.add_argument("--test-samples", type=int, metavar="N", help="use only the first N test images")
        sub.add_argument("--test-fraction", type=float, default=0.2,
                         help="share of each class held out when the data has no test part (0.2)")
        sub.add_argument("--image-size", type=int, default=28, metavar="N",
                         help="image size of the synthetic sets, 8-28 (28)")

    model_help = f"a preset {list(PRESETS)} or a JSON architecture file"
    sub = commands.add_parser("train", help="train a model (the default command)")
    common(sub, model_help + " (default lecture)")
    data_options(sub)
    sub.add_argument("--epochs", type=int, default=5, help="passes over the training images (5)")
    sub.add_argument("--batch-size", type=int, default=32, help="images per update (32)")
    sub.add_argument("--optimizer", default="adam", choices=sorted(OPTIMIZERS), help="(adam)")
    sub.add_argument("--lr", type=float, help="learning rate (default: the optimizer's own)")
    sub.add_argument("--momentum", type=float, help="momentum for sgd")
    sub.add_argument("--opt", action="append", metavar="NAME=VALUE",
                     help="another optimizer setting, e.g. initial_accumulator_value=0 for adagrad (repeatable)")
    sub.add_argument("--weights", help="start from these weights (.npz, .h5, .keras, .safetensors)")
    sub.add_argument("--out", help="save the trained model here: .npz (cnnviz), .keras or .h5 (Keras), .onnx; "
                                   "written atomically")
    sub.add_argument("--quiet", action="store_true", help="no progress output on stderr")

    sub = commands.add_parser("evaluate", help="accuracy of a weights file on a dataset")
    common(sub, model_help + " (not needed for an .npz that stores it, or a Keras model.save file)")
    data_options(sub)
    sub.add_argument("--weights", help="a cnnviz .npz, Keras .h5/.keras or PyTorch .safetensors file")
    sub.add_argument("--split", choices=("test", "train"), default="test", help="which part to evaluate on (test)")

    sub = commands.add_parser("summary", help="print a model's layers, output shapes and parameter counts")
    common(sub, model_help)
    sub.add_argument("--weights", help="describe the model stored in (or imported from) this file")
    return parser


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in (*COMMANDS, "-h", "--help", "--version"):
        argv.insert(0, "train")
    args = make_parser().parse_args(argv)
    try:
        code = run_command(args)
        sys.stdout.flush()  # here, where a closed pipe can still be caught, not at interpreter exit
        return code
    except BrokenPipeError:  # before OSError, of which it is one
        return quiet_broken_pipe()
    except ValueError as error:  # bad input: files, settings, a diverged run (any other exception is a bug)
        print(f"cnnviz-train: error: {error}", file=sys.stderr)
        return 2
    except MemoryError:
        print("cnnviz-train: error: ran out of memory; use fewer or smaller images (--train-samples) or a "
              "smaller model", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"cnnviz-train: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ncnnviz-train: aborted; nothing was saved", file=sys.stderr)
        return INTERRUPTED


def run_command(args) -> int:
    """Run the parsed command; its result goes to stdout."""
    if args.seed < 0:
        raise ValueError(f"--seed must be a whole number >= 0, got {args.seed}")
    if args.command == "train":
        if args.model is None and not args.weights:
            args.model = "lecture"
        result = train(args)
        if args.json:
            print(json.dumps({k: v for k, v in result.items() if k != "history"}), flush=True)
        if args.out and result["saved"] != args.out:
            print(f"cnnviz-train: error: {args.out} could not be written; the trained weights are in "
                  f"{result['saved']}", file=sys.stderr)
            return 1
        return INTERRUPTED if result["stopped"] else 0
    if args.command == "evaluate":
        result = evaluate(args)
        if args.json:
            print(json.dumps(result), flush=True)
        else:
            print(f"{result['model']} on {result['data']} ({result['split']}): accuracy {result['accuracy']:.4f} "
                  f"({result['correct']}/{result['samples']}), loss {result['loss']:.4f}")
            print("per class: " + ", ".join(f"{name} {acc:.3f}" for name, acc in result["per_class"].items()))
        return 0
    result = summary(args)
    print(json.dumps({k: result[k] for k in ("params", "config")}) if args.json else result["summary"])
    return 0


def quiet_broken_pipe() -> int:
    """The reader of stdout went away (``cnnviz-train summary ... | head -1``): end quietly, as a
    command killed by SIGPIPE would, without Python's traceback when it flushes stdout at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return BROKEN_PIPE


if __name__ == "__main__":
    raise SystemExit(main())
