"""Between a window and a slide: show a prepared slide in a window, capture the window as a slide."""
from __future__ import annotations

import numpy as np

from ...paths import WEIGHTS
from ...presets import PRESETS, load_preset
from .model import PRESET_WEIGHTS, Prepared, Slide, copy_model


def show_slide(state, window, prepared: Prepared, position: int | None = None) -> None:
    """Make the slide's model and input current in ``state`` (stopping training or an experiment
    first), show its view in ``window`` with its granularity and fps, and go to the first frame of
    its range (or ``position``)."""
    slide = prepared.slide
    controller = window.controller
    controller.pause()
    state.claim("lesson", lambda: None)  # whatever else changes the model stops
    try:
        state.set_model(prepared.model, sample=(prepared.x, prepared.label, prepared.description))
    finally:
        state.release("lesson")
    index = slide.input.get("test_index")
    dataset = state.dataset
    if index is not None and dataset is not None and index < len(dataset.x_test) \
            and np.array_equal(dataset.x_test[index], prepared.x):  # the input panel shows the same sample
        window.input_panel.show_index(index)
    window.show_view(slide.view)
    controller.set_granularity(slide.granularity)
    controller.set_fps(slide.fps)
    controller.jump_global(prepared.positions[0] if position is None else position)


def _preset_of(model) -> str | None:
    config = model.get_config()
    return next((name for name in PRESETS if load_preset(name).get_config() == config), None)


def _has_shipped_weights(model, preset: str) -> bool:
    shipped = WEIGHTS / f"{preset}.npz"
    if not shipped.is_file():
        return False
    reference = load_preset(preset)
    reference.load_weights(shipped)
    theirs = reference.weights_by_name()
    return all(np.array_equal(value, theirs[key]) for key, value in model.weights_by_name().items())


def capture_slide(state, window, title: str, dataset) -> Slide:
    """What ``state`` and ``window`` show now: model, weights, input, optimizer, view, the current
    step from the cursor to the step's end, granularity and fps.

    dataset: the shipped MNIST that ``test_index`` refers to. Weights other than a preset's shipped
    ones, and an input that is not one of its test samples, stay in memory until the lesson is saved."""
    model, controller = state.model, window.controller
    preset = _preset_of(model)
    shipped = preset is not None and _has_shipped_weights(model, preset)
    x = np.asarray(state.x, np.float32)
    matches = [] if dataset.x_test.shape[1:] != x.shape else \
        np.flatnonzero((dataset.x_test == x).all(axis=(1, 2, 3)))
    step = controller.step
    return Slide(title=title, model=preset or model.get_config(), weights=PRESET_WEIGHTS if shipped else None,
                 input={"test_index": int(matches[0])} if len(matches) else {"image": "", "label": int(state.label)},
                 optimizer=model.optimizer.get_config(), view=window.tabs.currentWidget().name,
                 start=controller.cursor.position, end=step.first_frame + step.frame_count - 1,
                 granularity=controller.granularity, fps=min(controller.fps, 60),
                 unsaved_weights=None if shipped else copy_model(model),
                 unsaved_image=None if len(matches) else x)
