"""Every frame of a whole pass, for four kinds of model: each number the equation panel writes is
a field of the frame (at the digits shown), and the frame's key numbers are written."""
import pytest

from cnnviz.data import load_dataset
from cnnviz.engine import AveragePooling2D, BatchNormalization, Conv2D, Dense, Flatten, GlobalAveragePooling2D, \
    MaxPooling2D
from cnnviz.engine.trace import Trace
from cnnviz.gui.kinds import frame_kind
from cnnviz.gui.views.equation import frame_html
from cnnviz.presets import preset_model
from tests.engine.trace_checks import build, sample
from tests.gui.helpers import frame_numbers, rows_html, shown_numbers
from tests.gui.test_views import expected_numbers, shown


def lecture():
    model = preset_model("lecture", seed=0)
    model.compile(optimizer="sgd")
    digits = load_dataset("mnist")
    return model, digits.x_test[26], int(digits.y_test[26])


def mse_model():
    model = build([Conv2D(2, 3, activation="tanh"), MaxPooling2D(2), Flatten(), Dense(4, activation="sigmoid")],
                  (7, 6, 1), loss="mean_squared_error", optimizer={"name": "adagrad"})
    return model, sample(model), 2


def same_padding_avg_pool_adam_weight_decay():
    model = build([Conv2D(3, 3, strides=2, padding="same", activation="relu"), AveragePooling2D(2, padding="same"),
                   Conv2D(2, 2, padding="same", use_bias=False), BatchNormalization(), GlobalAveragePooling2D(),
                   Dense(3, activation="softmax")], (9, 8, 2), optimizer={"name": "adam", "weight_decay": 0.01})
    return model, sample(model), 1


@pytest.mark.parametrize("make", [lecture, mse_model, same_padding_avg_pool_adam_weight_decay])
def test_every_number_of_every_frame(make):
    model, x, label = make()
    trace = Trace(model, x, label)
    kinds = set()
    for step in trace.steps:
        for index in range(step.frame_count):
            frame = trace.frame(step.index, index)
            kinds.add(frame.kind)
            html = frame_html(step, frame, frame_kind(frame).rows)
            extra = shown_numbers(rows_html(html)) - frame_numbers(frame)
            assert not extra, (step.title, index, sorted(extra))
            if frame.kind in ("conv_forward", "dense_forward", "loss", "update", "conv_backward_weight"):
                text = rows_html(html)
                for number in expected_numbers(frame):
                    assert shown(number, " ".join(text.split())), (step.title, index, number)
    assert {"loss", "update", "conv_forward"} <= kinds
