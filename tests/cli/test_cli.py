"""cnnviz-train run in-process (main(argv)) on small synthetic data, and once as ``python -m cnnviz.cli``."""
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cnnviz.cli import ProgressBar, main
from cnnviz.engine.model import load_model
from cnnviz.engine.weights import read_npz

REPO = Path(__file__).resolve().parents[2]
SMALL = ["--data", "bars", "--train-samples", "300", "--test-samples", "100"]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_train_learns_bars_and_saves_weights_that_evaluate_agrees_with(tmp_path, capsys):
    out_file = tmp_path / "bars.npz"
    code, out, err = run(capsys, "train", "--model", "lecture", *SMALL, "--epochs", "5", "--lr", "0.01",
                         "--out", str(out_file), "--json")
    assert code == 0
    result = json.loads(out)
    assert set(result) >= {"loss", "accuracy", "val_loss", "val_accuracy", "seconds", "epochs"}
    assert result["val_accuracy"] >= 0.9 and result["epochs"] == 5 and not result["stopped"]
    assert "Epoch 5/5" in err and "img/s" in err and "saved" in err
    model = load_model(out_file)
    assert model.name == "lecture"
    code, out, _ = run(capsys, "evaluate", "--weights", str(out_file), *SMALL, "--json")
    evaluated = json.loads(out)
    assert code == 0 and evaluated["accuracy"] == pytest.approx(result["val_accuracy"])
    assert evaluated["loss"] == pytest.approx(result["val_loss"], rel=1e-5)
    assert evaluated["samples"] == 100 and set(evaluated["per_class"]) == {"horizontal", "vertical"}


def test_train_is_the_default_command_and_reproducible_by_seed(tmp_path, capsys):
    for name in ("a", "b"):
        assert run(capsys, "--model", "lecture", *SMALL, "--epochs", "1", "--seed", "3", "--quiet",
                   "--out", str(tmp_path / f"{name}.npz"))[0] == 0
    run(capsys, "--model", "lecture", *SMALL, "--epochs", "1", "--seed", "4", "--quiet",
        "--out", str(tmp_path / "c.npz"))
    a, b, c = (read_npz(tmp_path / f"{name}.npz") for name in "abc")
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["conv2d_1/kernel"], c["conv2d_1/kernel"])


def test_train_can_start_from_a_weights_file(tmp_path, capsys):
    assert run(capsys, "--model", "lenet", *SMALL, "--epochs", "1", "--quiet", "--out", str(tmp_path / "a.npz"))[0] == 0
    # No --model: the architecture comes from the file; learning rate 0 keeps the weights as they were.
    assert run(capsys, "--weights", str(tmp_path / "a.npz"), *SMALL, "--epochs", "1", "--lr", "0", "--quiet",
               "--out", str(tmp_path / "b.npz"))[0] == 0
    a, b = read_npz(tmp_path / "a.npz"), read_npz(tmp_path / "b.npz")
    assert load_model(tmp_path / "b.npz").name == "lenet"
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_extra_optimizer_settings_reach_the_optimizer(monkeypatch, capsys):
    import cnnviz.cli as cli

    seen = []
    real = cli.get_optimizer
    monkeypatch.setattr(cli, "get_optimizer", lambda config: seen.append(real(config)) or seen[-1])
    code = main(["--model", "lecture", *SMALL, "--epochs", "1", "--quiet", "--optimizer", "adagrad", "--lr", "0.02",
                 "--opt", "initial_accumulator_value=0", "--opt", "epsilon=1e-8"])
    assert main(["--model", "lecture", *SMALL, "--epochs", "1", "--quiet", "--optimizer", "sgd", "--momentum", "0.5",
                 "--opt", "nesterov=true"]) == 0
    assert code == 0
    assert seen[0].name == "adagrad" and seen[0].learning_rate == 0.02
    assert seen[0].initial_accumulator_value == 0 and seen[0].epsilon == 1e-8
    assert seen[1].momentum == 0.5 and seen[1].nesterov is True


def test_optimizer_and_json_model_file(tmp_path, capsys):
    spec = tmp_path / "tiny.json"
    spec.write_text(json.dumps({"class_name": "Sequential", "config": {"name": "tiny", "input_shape": [12, 12, 1],
        "layers": [{"class_name": "Conv2D", "config": {"filters": 2, "kernel_size": [3, 3], "activation": "relu"}},
                   {"class_name": "Flatten", "config": {}},
                   {"class_name": "Dense", "config": {"units": 2, "activation": "softmax"}}]}}))
    np.savez(tmp_path / "three.npz", x=np.zeros((30, 12, 12), np.uint8), y=np.arange(30) % 3)
    code, out, err = run(capsys, "--model", str(spec), "--data", str(tmp_path / "three.npz"), "--epochs", "1")
    assert code == 2 and "tiny has 2 outputs but three has 3 classes" in err
    code, out, err = run(capsys, "--model", str(spec), "--data", "bars", "--image-size", "12", "--epochs", "1",
                         "--optimizer", "sgd", "--lr", "0.1", "--momentum", "0.9", "--json")
    assert code == 0 and "sgd, learning rate 0.1" in err and json.loads(out)["epochs"] == 1


@pytest.mark.parametrize("argv, message", [
    (["--model", "nope"], "not a preset"),
    (["--model", "kerasy-mnist", "--data", "bars", "--image-size", "12"], "takes 28x28x1 images but bars has 12x12x1"),
    (["--data", "/no/such/data"], "no such file or folder"),
    (["--out", "/no/such/folder/w.npz"], "the folder /no/such/folder does not exist"),
    (["--optimizer", "adam", "--momentum", "0.9"], "--momentum applies to --optimizer sgd only"),
    (["--epochs", "0"], "--epochs and --batch-size must be positive"),
    (["--opt", "rho"], "expected NAME=VALUE"),
    (["--opt", "rho=high"], "the value must be a number, true or false"),
    (["--out", "/proc/w.keras"], "--out /proc/w.keras: cannot write in /proc"),
    (["--out", "weights.pt"], "give a file name ending in .npz (cnnviz), .keras or .h5 (Keras) or .onnx"),
    (["--optimizer", "adagrad", "--opt", "rho=0.9"], "bad settings for optimizer 'adagrad'"),
])
def test_bad_settings_exit_2_with_a_message(capsys, argv, message):
    code, out, err = run(capsys, "train", *SMALL[:2], *argv)
    assert code == 2 and message in err and out == ""


def test_evaluate_imports_safetensors_and_keras_files(tmp_path, capsys):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    h5py = pytest.importorskip("h5py")
    # Train a cnnviz model, export its weights the PyTorch way and the Keras way, evaluate both.
    assert run(capsys, "--model", "lecture", *SMALL, "--epochs", "2", "--lr", "0.01", "--quiet",
               "--out", str(tmp_path / "w.npz"))[0] == 0
    weights = read_npz(tmp_path / "w.npz")
    reference = json.loads(run(capsys, "evaluate", "--weights", str(tmp_path / "w.npz"), *SMALL, "--json")[1])
    torch_state = {"0.weight": weights["conv2d_1/kernel"].transpose(3, 2, 0, 1), "0.bias": weights["conv2d_1/bias"],
                   "3.weight": weights["conv2d_2/kernel"].transpose(3, 2, 0, 1), "3.bias": weights["conv2d_2/bias"],
                   # cnnviz rows are (H, W, C); PyTorch's are (C, H, W)
                   "7.weight": weights["dense_1/kernel"].reshape(5, 5, 8, 10).transpose(3, 2, 0, 1).reshape(10, 200),
                   "7.bias": weights["dense_1/bias"]}
    safetensors_numpy.save_file({k: np.ascontiguousarray(v) for k, v in torch_state.items()},
                                str(tmp_path / "w.safetensors"))
    code, out, err = run(capsys, "evaluate", "--model", "lecture", "--weights", str(tmp_path / "w.safetensors"),
                         *SMALL, "--json")
    assert code == 0 and json.loads(out)["accuracy"] == reference["accuracy"]
    code, _, err = run(capsys, "evaluate", "--weights", str(tmp_path / "w.safetensors"), *SMALL)
    assert code == 2 and "holds no architecture" in err

    with h5py.File(tmp_path / "w.h5", "w") as f:  # Keras save_weights layout
        names = [b"conv2d", b"max_pooling2d", b"conv2d_1", b"max_pooling2d_1", b"flatten", b"dense"]
        f.attrs["layer_names"] = np.array(names)
        ours = {"conv2d": "conv2d_1", "conv2d_1": "conv2d_2", "dense": "dense_1"}
        for name in names:
            group = f.create_group(name.decode())
            mine = ours.get(name.decode())
            keys = ["kernel", "bias"] if mine else []
            weight_names = [f"{name.decode()}/{k}:0".encode() for k in keys]
            group.attrs["weight_names"] = np.array(weight_names) if keys else np.array([])
            for key in keys:
                group.create_dataset(f"{name.decode()}/{key}:0", data=weights[f"{mine}/{key}"])
    code, out, err = run(capsys, "evaluate", "--model", "lecture", "--weights", str(tmp_path / "w.h5"), *SMALL)
    assert code == 0 and f"accuracy {reference['accuracy']:.4f}" in out and "horizontal" in out
    code, _, err = run(capsys, "evaluate", "--model", "lecture", "--weights", str(tmp_path / "w.pt"), *SMALL)
    assert code == 2 and "safetensors" in err


def test_summary(capsys):
    code, out, _ = run(capsys, "summary", "--model", "kerasy-mnist")
    assert code == 0 and "dense_1 (Dense)" in out and "Total params: 1,199,882" in out
    code, out, _ = run(capsys, "summary", "--model", "lenet", "--json")
    assert json.loads(out)["config"]["config"]["name"] == "lenet"


def test_progress_bar_shows_rate_loss_accuracy_and_time_left():
    stream = io.StringIO()
    bar = ProgressBar(n_samples=64, epochs=3, stream=stream, bar=True)
    bar.on_epoch_begin(0)
    bar.on_batch_end(0, {"loss": 0.5, "accuracy": 0.25, "size": 32})
    bar.on_batch_end(1, {"loss": 0.3, "accuracy": 0.75, "size": 32})
    bar.bar.refresh()  # tqdm redraws at most every 0.1 s
    bar.on_epoch_end(0, {"loss": 0.4, "accuracy": 0.5})
    text = stream.getvalue()
    assert "Epoch 1/3" in text and "img/s" in text and "loss=0.4000" in text and "acc=0.5000" in text
    assert "<" in text  # tqdm's elapsed<remaining
    assert len(bar.seconds) == 1


def test_python_m_cnnviz_cli_and_ctrl_c_saves_after_the_current_batch(tmp_path):
    """Ctrl+C during a long run: stops after the batch, writes --out completely, exits 130."""
    out_file = tmp_path / "stopped.npz"
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen([sys.executable, "-m", "cnnviz.cli", "train", "--model", "lecture", "--data", "bars",
                                "--epochs", "100000", "--out", str(out_file), "--json"],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stderr:
            if line.startswith("Epoch 1/"):
                break
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert "Stopping after this batch" in err
    result = json.loads(out)
    assert result["stopped"] and result["epochs"] < 100000
    assert load_model(out_file).name == "lecture"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stopped.npz"]  # no temporary file left behind


@pytest.mark.parametrize("suffix", [".keras", ".h5", ".onnx"])
def test_train_out_writes_keras_and_onnx_files(tmp_path, capsys, suffix):
    if suffix == ".onnx":
        pytest.importorskip("onnx")
    else:
        pytest.importorskip("h5py")
    out_file = tmp_path / f"m{suffix}"
    assert run(capsys, "--model", "lecture", "--data", "mnist", "--train-samples", "64", "--test-samples", "32",
               "--epochs", "1", "--quiet", "--out", str(out_file))[0] == 0
    if suffix == ".onnx":
        assert out_file.read_bytes()[:2] != b"PK" and out_file.stat().st_size > 1000
        return
    model = load_model(out_file)
    assert model.name == "lecture" and model.optimizer.name == "adam"
    code, out, _ = run(capsys, "evaluate", "--weights", str(out_file), "--test-samples", "32")
    assert code == 0 and "lecture on mnist (test): accuracy" in out


def test_version(capsys):
    from cnnviz import __version__

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out == f"cnnviz-train {__version__}\n"


@pytest.mark.parametrize("reader", ["head -1", "true"])  # true: closes the pipe before anything is written
def test_summary_piped_into_a_reader_that_stops_early_ends_quietly(reader):
    command = f"{sys.executable} -m cnnviz.cli summary --model lecture | {reader}"
    result = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, cwd=REPO,
                            timeout=60)
    assert result.stdout == ('Model: "lecture"\n' if reader == "head -1" else "")
    assert result.stderr == "" and result.returncode in (0, 141)
    if reader == "true":
        assert result.returncode == 141
