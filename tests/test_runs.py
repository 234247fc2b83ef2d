"""Training runs as plain data: labels, smoothing, JSON round trip, CSV export, bad files."""
import csv
import json
import math

import pytest

from cnnviz.presets import load_preset
from cnnviz.runs import Run, export_csv, load_runs, save_runs


def recorded_run():
    run = Run.start(load_preset("dense"), {"optimizer": "adam", "learning_rate": 0.001}, dataset="mnist", seed=3)
    for batch in range(4):
        run.add_batch(position=(batch + 1) / 4, samples=32 * (batch + 1), seconds=0.1 * (batch + 1),
                      loss=2.0 - batch * 0.1, accuracy=0.2 + batch * 0.1)
    run.add_epoch(position=1, samples=128, seconds=0.4, loss=1.8, accuracy=0.35, val_loss=1.7, val_accuracy=0.4)
    return run


def test_a_run_is_named_by_its_network_and_optimizer_and_measures_its_speed():
    run = recorded_run()
    assert run.label == "dense 784-128-10, adam 1e-3"
    assert run.architecture == "Flatten → Dense 128 relu → Dense 10 softmax"
    assert run.wall_time == pytest.approx(0.4) and run.samples_per_s == pytest.approx(320)
    assert Run.start(load_preset("lecture"), {"optimizer": "sgd", "learning_rate": 0.05}).label == "lecture, sgd 0.05"
    smooth = run.smoothed("loss")
    assert smooth[0] == pytest.approx(2.0), "bias-corrected: the first value is the first batch's"
    assert smooth[1] == pytest.approx((0.09 * 2.0 + 0.1 * 1.9) / 0.19)


def test_runs_round_trip_through_json_and_export_as_csv(tmp_path):
    run, other = recorded_run(), recorded_run()
    other.label, other.visible = "renamed", False
    other.add_epoch(position=2, samples=256, seconds=0.8, loss=1.5, accuracy=0.5)  # not validated
    other.add_batch(position=2, samples=256, seconds=0.8, loss=math.nan, accuracy=0.5)  # e.g. loaded, NaN
    save_runs(tmp_path / "runs.json", [run, other])
    loaded = load_runs(tmp_path / "runs.json")
    assert [r.label for r in loaded] == [run.label, "renamed"] and [r.visible for r in loaded] == [True, False]
    assert loaded[0].batches == run.batches and loaded[0].smoothed("loss") == pytest.approx(run.smoothed("loss"))
    assert loaded[0].hyperparameters == run.hyperparameters and loaded[0].seed == 3
    assert math.isnan(loaded[1].epochs["val_loss"][1]) and loaded[1].epochs["loss"] == [1.8, 1.5]
    assert math.isnan(loaded[1].batches["loss"][-1])
    export_csv(tmp_path / "runs.csv", [run, other])
    rows = list(csv.DictReader(open(tmp_path / "runs.csv", encoding="utf-8")))
    assert len(rows) == 4 + 1 + 5 + 2
    assert rows[4]["kind"] == "epoch" and float(rows[4]["val_accuracy"]) == pytest.approx(0.4)
    assert rows[-1]["run"] == "renamed" and rows[-1]["val_loss"] == ""


@pytest.mark.parametrize("content, expected", [
    ("not json", "not a readable runs file"),
    ("[" * 100_000, "not a readable runs file: .* nested too deeply"),
    ('{"runs": []}', "expected a cnnviz runs file"),
    ('{"format": "cnnviz-runs", "runs": [{"label": 3}]}', "run 1: 'label' must be text"),
    ('{"format": "cnnviz-runs", "runs": [{"batches": {"loss": [1]}}]}', "run 1: 'batches' must hold the columns"),
])
def test_a_bad_runs_file_is_refused_with_the_reason(tmp_path, content, expected):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=expected):
        load_runs(path)


def test_uneven_or_non_numeric_columns_are_refused(tmp_path):
    data = recorded_run().to_dict()
    data["batches"]["loss"].append(1.0)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"format": "cnnviz-runs", "runs": [data]}))
    with pytest.raises(ValueError, match="lists of one length"):
        load_runs(path)
    data["batches"]["loss"] = ["a"] * 4
    path.write_text(json.dumps({"format": "cnnviz-runs", "runs": [data]}))
    with pytest.raises(ValueError, match="not a number"):
        load_runs(path)
