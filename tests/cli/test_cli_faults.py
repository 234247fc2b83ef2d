"""cnnviz-train on hostile input: one clear line on stderr, a non-zero exit, no traceback, no good file lost."""
import json
import os

import pytest

from cnnviz.cli import main
from cnnviz.engine.weights import read_npz

SMALL = ["--data", "bars", "--train-samples", "64", "--test-samples", "32", "--epochs", "1", "--quiet"]
LECTURE = json.load(open(os.path.join(os.path.dirname(__file__), "../../resources/models/lecture.json")))


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def architecture(tmp_path, change) -> str:
    config = json.loads(json.dumps(LECTURE))
    change(config["config"])
    path = tmp_path / "model.json"
    path.write_text(json.dumps(config))
    return str(path)


@pytest.mark.parametrize("change, expected", [
    (lambda c: c.__setitem__("input_shape", 28), "config.input_shape: expected a list of 1 to 3 sizes"),
    (lambda c: c.__setitem__("dtype", "banana"), "config.dtype: 'banana'; expected 'float32' or 'float64'"),
    (lambda c: c["layers"][0]["config"].__setitem__("filters", 10 ** 400), r"filters: 1000.*outside the range"),
    (lambda c: c["layers"][0]["config"].__setitem__("filters", 10 ** 6), "filters: 1000000 is outside the range"),
    (lambda c: c["layers"][0]["config"].__setitem__("use_bias", "false"), "use_bias: expected true or false"),
    (lambda c: c["layers"][0]["config"].__setitem__("colour", "red"), "colour: unknown setting for Conv2D"),
    (lambda c: c.__setitem__("layers", [{"class_name": "Activation", "config": {"activation": "relu"}}] * 100_000),
     "100,000 layers, more than the 1,000"),
    (lambda c: c["layers"][2]["config"].__setitem__("filters", 60_000) or c["layers"].insert(
        5, {"class_name": "Dense", "config": {"units": 60_000}}), "more than the 50,000,000 cnnviz builds"),
])
def test_hostile_architectures_get_one_clear_line(tmp_path, capsys, change, expected):
    path = architecture(tmp_path, change)
    code, _, err = run(capsys, "summary", "--model", path)
    assert code == 2 and err.startswith(f"cnnviz-train: error: {path}: ")
    assert __import__("re").search(expected, err), err


def test_deeply_nested_json_is_refused(tmp_path, capsys):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    code, _, err = run(capsys, "summary", "--model", path)
    assert code == 2 and "nested too deeply" in err


def test_a_diverging_run_never_replaces_a_good_file(tmp_path, capsys):
    out = tmp_path / "good.npz"
    assert run(capsys, "--model", "lecture", *SMALL, "--out", out)[0] == 0
    good = out.read_bytes()
    code, _, err = run(capsys, "--model", "lecture", *SMALL, "--optimizer", "sgd", "--lr", "1e39", "--out", out)
    assert code == 2 and "training diverged" in err and f"--out {out} was not written" in err
    assert out.read_bytes() == good and sorted(p.name for p in tmp_path.iterdir()) == ["good.npz"]


def test_save_problems_are_found_before_training(tmp_path, capsys):
    (tmp_path / "folder.npz").mkdir()
    code, _, err = run(capsys, "--model", "lecture", *SMALL, "--out", tmp_path / "folder.npz")
    assert code == 2 and "is a folder" in err and "Epoch" not in err
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        code, _, err = run(capsys, "--model", "lecture", *SMALL, "--out", locked / "w.npz")
        assert code == 2 and "cannot write in" in err


def test_a_failed_save_after_training_goes_to_a_named_fallback_file(tmp_path, capsys, monkeypatch):
    from cnnviz import cli

    def full_disk(model, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cli, "export_model", full_disk)  # writing --out fails; the fallback .npz does not
    code, _, err = run(capsys, "--model", "lecture", *SMALL, "--out", tmp_path / "w.npz")
    fallbacks = list(tmp_path.glob("w.unsaved-*.npz"))
    assert code == 1 and len(fallbacks) == 1 and "No space left on device" in err
    assert f"the trained weights are in {fallbacks[0]}" in err
    assert set(read_npz(fallbacks[0])) >= {"conv2d_1/kernel", "dense_1/bias"}


@pytest.mark.parametrize("fraction", ["2", "0", "-0.5", "nan"])
def test_a_test_fraction_outside_0_1_is_refused(capsys, fraction):
    code, _, err = run(capsys, "--model", "lecture", *SMALL, "--test-fraction", fraction)
    assert code == 2 and "test_fraction must be a number between 0 and 1" in err


def test_an_idx_set_with_no_images_does_not_train(tmp_path, capsys):
    stems = {"train-images-idx3-ubyte": (3, (0, 28, 28)), "train-labels-idx1-ubyte": (1, (0,)),
             "t10k-images-idx3-ubyte": (3, (0, 28, 28)), "t10k-labels-idx1-ubyte": (1, (0,))}
    for stem, (dims, shape) in stems.items():
        header = bytes([0, 0, 8, dims]) + b"".join(n.to_bytes(4, "big") for n in shape)
        (tmp_path / stem).write_bytes(header)
    code, _, err = run(capsys, "--model", "lecture", "--data", tmp_path, "--epochs", "1", "--quiet")
    assert code == 2 and "holds no training images" in err


def test_weights_with_an_external_hdf5_reference_get_one_clear_line(tmp_path, capsys):
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "w.h5", "w") as h5:
        h5["x"] = h5py.ExternalLink("/etc/passwd", "/")
        h5.attrs["layer_names"] = [b"x"]
    code, _, err = run(capsys, "evaluate", "--model", "lecture", "--weights", tmp_path / "w.h5", "--data", "bars")
    assert code == 2 and "external link" in err


@pytest.mark.parametrize("argv, expected", [
    (["--seed", "-1"], "--seed must be a whole number >= 0, got -1"),
    (["--opt", "nonsense=1"], "optimizer 'adam': it has no setting 'nonsense'; its settings are \\['beta_1'"),
    (["--lr", "nan"], "learning_rate must be a finite number >= 0, got nan"),
])
def test_bad_settings_get_one_clear_line(capsys, argv, expected):
    code, _, err = run(capsys, "--model", "lecture", *SMALL, *argv)
    assert code == 2 and __import__("re").search(expected, err), err
