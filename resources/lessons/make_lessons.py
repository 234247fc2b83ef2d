"""Writes the three shipped lessons. Ranges are found by step (phase and layer) in the lecture net's
trace, so after a change to the trace's step plan running this again puts them back in place:

    .venv/bin/python resources/lessons/make_lessons.py      (from the repository root)

flip-after.npz (the last two slides of update-rules) comes from make_flip_weights.py.
"""
from pathlib import Path

from cnnviz.engine.trace import Trace
from cnnviz.gui.lessons.model import Lesson, Slide, load_lesson

HERE = Path(__file__).resolve().parent
SGD = {"name": "sgd", "learning_rate": 0.01}
UNSURE = 27  # a 7 that the lecture net reads as a 2: its backward pass has something to show
SURE = 10    # a 7 read as a 7, which the single-image experiment flips to 1


def step_of(trace, phase: str, layer: str | None, nth: int = 0):
    """The nth step of ``layer`` in ``phase`` (conv backward has two: the kernel's gradient, then δ)."""
    return [s for s in trace.steps if s.phase == phase and s.layer_name == layer][nth]


def first_last(step, first: int = 0, count: int | None = None) -> tuple[int, int]:
    start = step.first_frame + first
    return start, step.first_frame + step.frame_count - 1 if count is None else start + count - 1


def slide(title, note, view, frames, granularity="frame", fps=5, index=0, optimizer=SGD, weights="preset"):
    return Slide(title=title, note=note, model="lecture", weights=weights, input={"test_index": index},
                 optimizer=optimizer, view=view, start=frames[0], end=frames[1], granularity=granularity, fps=fps)


def main() -> None:
    prepared = Lesson(slides=[slide("probe", "", "conv", (0, 0), index=UNSURE)]).prepare(0)
    trace = Trace(prepared.model, prepared.x, prepared.label)  # the step plan is the same for every sample
    conv1, pool1 = step_of(trace, "forward", "conv2d_1"), step_of(trace, "forward", "max_pooling2d_1")
    row = conv1.frame_grid[-1]
    loss = first_last(step_of(trace, "loss", "dense_1"))
    lessons = {
        "convolution": ("A convolution, window by window", [
            slide("One 3×3 window at a time", "The yellow box is the window. Each output cell is the sum of the "
                  "window times the kernel, plus the bias, then ReLU. Read the numbers in the equation panel: they "
                  "are the ones the engine computed.", "conv", first_last(conv1, 0, row + 2), fps=3),
            slide("Row after row", "The same kernel slides along every row: weight sharing. The output map fills "
                  "in row by row.", "conv", first_last(conv1, 0, row * row), "row", fps=4),
            slide("The four feature maps", "Each of the 4 filters gives its own map, channel by channel; together "
                  "they are the layer's output (26×26×4). The Feature maps tab shows them side by side.", "conv",
                  first_last(conv1), "channel", fps=1),
            slide("Then max-pooling", "A 2×2 window keeps its largest value (red box): the map halves in size.",
                  "pool", first_last(pool1, 0, 26), fps=4),
        ]),
        "backprop": ("Backpropagation through dense, max-pool and conv", [
            slide("The error at the output", f"Test sample {UNSURE} is a 7 that the network reads as a 2. δ at the "
                  "output is softmax minus the one-hot label.", "output", loss, index=UNSURE, fps=1),
            slide("Back through the dense layer", "δ of the flattened input is Wᵀ δ: every input unit collects the "
                  "errors of all 10 outputs, weighted.", "backward",
                  first_last(step_of(trace, "backward", "dense_1"), 0, 30), index=UNSURE, fps=6),
            slide("Max-pooling routes δ to the winner", "Only the cell that won the max in the forward pass gets "
                  "the error; the other three get 0.", "pool",
                  first_last(step_of(trace, "backward", "max_pooling2d_2"), 0, 25), index=UNSURE, fps=4),
            slide("The conv kernel's gradient", "∂E/∂w is the input window times δ, summed over every output "
                  "position.", "backward", first_last(step_of(trace, "backward", "conv2d_2", 0), 0, 9),
                  index=UNSURE, fps=2),
            slide("δ to the conv's input: the flipped kernel over the padded δ map", "Each input cell gathers δ "
                  "through the kernel flipped 180°, slid over the δ map padded with zeros.", "backward",
                  first_last(step_of(trace, "backward", "conv2d_2", 1), 0, 26), index=UNSURE, fps=4),
            slide("All the way to the input", "The first layer's δ, row by row: which pixels would change the loss "
                  "most.", "backward", first_last(step_of(trace, "backward", "conv2d_1", 1)), "row",
                  index=UNSURE, fps=4),
        ]),
        "update-rules": ("One weight update: SGD, momentum and Adam; then one image flips a prediction", [
            *(slide(title, note, "update", first_last(step_of(trace, "update", "conv2d_1", 0), 0, 9), index=UNSURE,
                    fps=2, optimizer=optimizer) for title, note, optimizer in (
                ("SGD: W ← W − η ∂E/∂W", "The first filter of conv2d_1, weight by weight: the step is the "
                 "gradient times the learning rate.", SGD),
                ("Momentum 0.9", "Same gradient, same weights. On the first step the velocity starts at 0, so "
                 "the step equals SGD's; compare the velocity columns.",
                 {"name": "sgd", "learning_rate": 0.01, "momentum": 0.9}),
                ("Adam", "Adam divides by the running RMS of the gradient: on the first step every weight moves "
                 "by about the learning rate, whatever its gradient's size.", {"name": "adam", "learning_rate": 0.001}),
            )),
            slide("Before the experiment: a 7, read as 7", f"Test sample {SURE}. Now train the network on this one "
                  "image, labelled 1 (Experiment tab, target 1).", "output", loss, index=SURE, fps=1),
            slide("After a few steps on this one image: read as 1", "The same image after the single-image "
                  "experiment (weights saved by make_flip_weights.py): the prediction flipped. One image can move "
                  "a network.", "output", loss, index=SURE, fps=1, weights="flip-after.npz"),
        ]),
    }
    for name, (title, slides) in lessons.items():
        path = HERE / f"{name}.cnnviz-lesson.json"
        Lesson(title=title, slides=slides).save(path)
        problems = load_lesson(path).check()
        assert not problems, problems
        print(path.name, [(s.start, s.end) for s in slides])


if __name__ == "__main__":
    main()
