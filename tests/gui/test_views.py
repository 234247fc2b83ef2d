"""What the views show: the equation panel carries the current frame's numbers through a whole
forward + backward pass and update; pictures follow the cursor; going back restores the display."""
from __future__ import annotations

import numpy as np
import pytest
from PyQt5.QtCore import QPointF, Qt

from cnnviz.gui.views.common import fmt, wrapped_cell
from tests.gui.helpers import frame_numbers, make_window, rows_html, shown_numbers


def expected_numbers(frame) -> list[str]:
    """The numbers of a frame that the equation panel must show, formatted as the panel does."""
    keys = {
        "conv_forward": ("sum", "bias", "a", "z"), "maxpool_forward": ("z",), "avgpool_forward": ("sum", "z"),
        "dense_forward": ("sum", "bias", "a", "z"), "flatten_forward": ("value",), "loss": ("loss",),
        "conv_backward_weight": ("grad", "bias_grad"), "conv_backward_input": ("sum",),
        "maxpool_backward": ("delta",), "avgpool_backward": ("delta", "share"), "dense_backward": ("sum", "input"),
        "flatten_backward": ("output_grad", "input_grad"),
        "update": ("param", "grad", "effective_grad", "change", "param_after"),
        "dropout_forward": ("value", "z"), "activation_forward": ("a", "z"),
        "dropout_backward": ("output_grad", "input_grad"), "activation_backward": ("h_prime", "output_grad", "delta"),
    }[frame.kind]
    numbers = [fmt(getattr(frame, key)) for key in keys if getattr(frame, key) is not None]
    if frame.kind in ("conv_forward", "conv_backward_input"):
        numbers.append(fmt(frame.channel_terms[0].total))
        numbers += [fmt(v) for v in frame.channel_terms[0].products[frame.channel_terms[0].order[:3]]]
    if frame.kind == "maxpool_backward":
        numbers += [fmt(v) for v in frame.input_grad.ravel()]
    if frame.kind == "dense_backward":
        numbers += [fmt(v) for v in frame.weight_grads[:3]]
    return numbers


def check_equation(window, frame):
    """The key numbers are shown, and every number in the panel's rows is a field of the frame."""
    text = window.equation.toPlainText()
    for number in expected_numbers(frame):
        assert shown(number, text), (frame.kind, number)
    extra = shown_numbers(rows_html(window.equation.toHtml())) - frame_numbers(frame)
    assert not extra, (frame.kind, f"numbers on screen that are no field of the frame: {sorted(extra)}")
    view = window.tabs.currentWidget()
    if frame.layer_index is None or view.name == "maps":  # the maps view shows every layer, not this frame
        return
    record = window.state.trace.records[frame.layer_index]
    sizes = {str(n) for array in (record.inputs, record.z) for n in (*array.shape, array.size)}
    titles = " ".join(panel.title_text for panel in view.panels)
    extra = shown_numbers(titles) - frame_numbers(frame) - sizes
    assert not extra, (frame.kind, view.name, f"numbers in the view's titles that are no field: {sorted(extra)}")


def shown(number: str, text: str) -> bool:
    """The number is in the text, on its own or as a term of a sum ('1.2 − 0.5' shows -0.5)."""
    return number in text or (number.startswith("-") and f"− {number[1:]}" in text)


def jump_to(window, kind, frame_index, view_name):
    """Go to a frame of the first step of ``kind``; the tabs follow the cursor to ``view_name``.
    Returns (step, frame, view)."""
    step = next(s for s in window.state.trace.steps if s.kind == kind)
    window.controller.jump(step.index, frame_index)
    view = window.views[view_name]
    assert window.tabs.currentWidget() is view
    return step, window.state.trace.frame(step.index, frame_index), view


@pytest.fixture
def window(qtbot):
    return make_window(qtbot)


def test_whole_pass_shows_the_numbers_of_the_current_frame(qtbot, window):
    """Walk forward, loss, backward and update with the Right key (by channel), then visit
    frames inside every step; the equation panel always shows the trace's own numbers."""
    trace = window.state.trace
    window.granularity_combo.setCurrentText("channel")
    seen_kinds = set()
    visits = 0
    while True:
        step, frame_index = window.controller.cursor.step, window.controller.cursor.frame
        frame = trace.frame(step, frame_index)
        assert trace.steps[step].title in window.equation.toPlainText()
        check_equation(window, frame)
        seen_kinds.add(frame.kind)
        visits += 1
        if window.controller.at_end():
            break
        qtbot.keyClick(window, Qt.Key_Right)
        assert window.controller.cursor.position > trace.global_index(step, frame_index)
    assert {"conv_forward", "maxpool_forward", "dense_forward", "loss", "conv_backward_weight",
            "conv_backward_input", "maxpool_backward", "dense_backward", "update"} <= seen_kinds
    rng = np.random.default_rng(0)
    for step in trace.steps:
        for frame_index in rng.integers(step.frame_count, size=2):
            window.controller.jump(step.index, int(frame_index))
            check_equation(window, trace.frame(step.index, int(frame_index)))


def test_every_other_layer_kind_shows_its_numbers(qtbot, window):
    """Average pooling, dropout, a separate activation, 'same' padding with stride 2, Adam."""
    from cnnviz.engine.layers import Activation, AveragePooling2D, Conv2D, Dense, Dropout, Flatten, Input
    from cnnviz.engine.model import Sequential

    model = Sequential([Input(input_shape=(28, 28, 1)), Conv2D(2, 3, strides=2, padding="same"),
                        Activation("tanh"), AveragePooling2D(2, padding="same"), Dropout(0.3), Flatten(),
                        Dense(10, activation="softmax")], seed=3)
    model.compile(optimizer="adam")
    window.state.set_model(model)
    trace = window.state.trace
    kinds = set()
    rng = np.random.default_rng(1)
    for step in trace.steps:
        for frame_index in {0, step.frame_count - 1, *rng.integers(step.frame_count, size=3)}:
            window.controller.jump(step.index, int(frame_index))
            frame = trace.frame(step.index, int(frame_index))
            kinds.add(frame.kind)
            check_equation(window, frame)
            text = window.equation.toPlainText()
            if frame.kind == "update":
                assert set(frame.state_after) >= {"m", "v"}
                for name, after in frame.state_after.items():  # Adam's moments, before and after
                    assert f"{name}\n{fmt(frame.state_before[name])} → {fmt(after)}" in text
    assert {"avgpool_forward", "avgpool_backward", "dropout_forward", "dropout_backward", "activation_forward",
            "activation_backward"} <= kinds


def test_conv_view_draws_window_kernel_and_output_filling_in(window):
    view = window.views["conv"]
    window.controller.jump(0, 30)  # channel 0, row 1, col 4 of a 26x26 output
    frame = window.state.trace.frame(0, 30)
    assert window.tabs.currentWidget() is view
    i, j, _ = frame.out_index
    shown = view.output.image.image
    assert shown[i, j] == pytest.approx(frame.z)
    assert np.isnan(shown[i, j + 1]) and not np.isnan(shown[i, j - 1]), "the output fills in cell by cell"
    np.testing.assert_array_equal(view.kernel.image.image, frame.kernel[..., 0])
    box = view.input.box.rect()
    assert (box.x(), box.y(), box.width(), box.height()) == (frame.window.cols[0], frame.window.rows[0], 3, 3)
    assert [t.toPlainText() for t in view.kernel.texts][:2] == [f"{v:.2f}" for v in frame.kernel[0, :2, 0]]


def test_clicking_an_output_cell_jumps_to_its_frame(qtbot, window):
    view = window.views["conv"]
    window.controller.jump(0, 0)
    qtbot.wait(50)
    image = view.output.image
    scene_point = image.mapToScene(QPointF(7.5, 5.5))  # col 7, row 5
    view_point = view.graphics.mapFromScene(scene_point)
    qtbot.mouseClick(view.graphics.viewport(), Qt.LeftButton, pos=view_point)
    assert window.controller.cursor.frame == 5 * 26 + 7
    assert "output (row 5, col 7)" in window.equation.toPlainText()


def test_max_pool_marks_the_winner_and_routes_back_to_it(window):
    trace = window.state.trace
    _, frame, view = jump_to(window, "maxpool_forward", 40, "pool")
    mark = view.input.mark.rect()
    assert (mark.y(), mark.x()) == tuple(frame.winner_input) and view.input.mark.isVisible()
    assert view.output.image.image[frame.out_index[:2]] == pytest.approx(frame.z)
    pool_backward = next(s for s in trace.steps if s.kind == "maxpool_backward")
    window.controller.jump(pool_backward.index, 40)
    back = trace.frame(pool_backward.index, 40)
    np.testing.assert_allclose(view.window.image.image, back.routed)
    low, high = view.window.image.levels
    assert low == -high, "signed values use levels centred on zero"


def test_backward_view_uses_a_diverging_map_centred_on_zero_with_a_colour_bar(window):
    _, frame, view = jump_to(window, "conv_backward_input", 17, "backward")
    for panel in (view.left, view.right):
        low, high = panel.image.levels
        assert low == -high and panel.colorbar is not None
        assert tuple(panel.colorbar.levels()) == (low, high)
    i, j, _ = frame.in_index
    assert view.right.image.image[i, j] == pytest.approx(frame.sum)
    # the flipped kernel's window over the padded δ map covers exactly the δ cells this frame multiplies
    box = view.left.box.rect()
    assert (box.y(), box.x(), box.height(), box.width()) == (i - 2, j - 2, 3, 3)  # 'valid' 3x3 conv
    window = view.left.image.image[i:i + 3, j:j + 3]  # the image starts 2 padding cells before row/col 0
    np.testing.assert_array_equal(np.nan_to_num(window), frame.delta_window[..., 0])
    assert view.left.padding.isVisible()


def test_update_view_shows_w_gradient_change_and_new_w(window):
    trace = window.state.trace
    step = next(s for s in trace.steps if s.kind == "update" and s.param_key == "kernel")
    window.controller.jump(step.index, 4)
    frame = trace.frame(step.index, 4)
    view = window.views["update"]
    m, n, _, _ = frame.param_index
    assert view.weights.image.image[m, n] == pytest.approx(frame.param)
    assert view.grad.image.image[m, n] == pytest.approx(frame.grad)
    assert view.change.image.image[m, n] == pytest.approx(frame.change)
    assert view.after.image.image[m, n] == pytest.approx(frame.param_after)


def test_feature_maps_enlarge_on_click_and_switch_to_deltas_backward(qtbot, window):
    view = window.views["maps"]
    window.show_view("maps")
    assert [len(items) for items in view.images] == [4, 0, 0, 0, 0, 0], "the current layer alone"
    step = next(s for s in window.state.trace.steps if s.layer_name == "conv2d_2")
    window.controller.jump(step.index)
    assert [len(items) for items in view.images] == [0, 0, 8, 0, 0, 0], "it follows the step's layer"
    view.layers_combo.setCurrentText("all layers")
    assert [len(items) for items in view.images] == [4, 4, 8, 8, 0, 1]
    qtbot.wait(50)
    image = view.images[2][3]  # conv2d_2, channel 3
    point = view.graphics.mapFromScene(image.mapToScene(QPointF(2.5, 2.5)))
    qtbot.mouseClick(view.graphics.viewport(), Qt.LeftButton, pos=point)
    np.testing.assert_array_equal(view.large.image.image, window.state.trace.records[2].z[0, :, :, 3].astype(np.float32))
    window.follow_box.setChecked(True)
    backward = next(s for s in window.state.trace.steps if s.phase == "backward")
    window.controller.jump(backward.index)
    view.show_frame(backward, window.frame)
    assert view.mode() == "delta"
    low, high = view.images[0][0].levels
    assert low == -high


def test_dense_view_shows_inputs_times_weights_and_the_neuron_filling_in(qtbot, window):
    trace = window.state.trace
    step, frame, view = jump_to(window, "dense_forward", 4, "dense")
    largest = frame.largest
    row, col = wrapped_cell(largest, frame.inputs.size)
    assert view.left.image.image[row, col] == pytest.approx(frame.inputs[largest])
    assert view.middle.image.image[row, col] == pytest.approx(frame.terms.products[largest])
    for panel in (view.left, view.middle):
        box = panel.box.rect()
        assert (box.y(), box.x()) == (row, col) and panel.box.isVisible()
    low, high = view.middle.image.levels
    assert low == -high, "the products are signed: levels centred on zero"
    assert view.right.image.image[0, 4] == pytest.approx(frame.z)  # 10 outputs: one row
    assert np.isnan(view.right.image.image[0, 5]), "the neurons after this one are not computed yet"
    qtbot.wait(50)
    point = view.graphics.mapFromScene(view.right.image.mapToScene(QPointF(7.5, 0.5)))
    qtbot.mouseClick(view.graphics.viewport(), Qt.LeftButton, pos=point)
    assert (window.controller.cursor.step, window.controller.cursor.frame) == (step.index, 7)
    assert "a = sum + b" in window.equation.toPlainText() and fmt(trace.frame(step.index, 7).z) in \
        window.equation.toPlainText()


def test_flatten_shows_where_a_cell_and_its_channels_go_in_the_vector(window):
    step, frame, view = jump_to(window, "flatten_forward", 53, "dense")
    record = window.state.trace.records[step.layer_index]
    i, j, c = frame.in_index
    assert (view.left.box.rect().y(), view.left.box.rect().x()) == (i, j)
    np.testing.assert_array_equal(view.middle.image.image[0], record.inputs[0, i, j].astype(np.float32))
    assert view.middle.box.rect().x() == c
    row, col = wrapped_cell(frame.out_index, record.z.size)
    assert view.right.image.image[row, col] == pytest.approx(frame.value) == record.inputs[0, i, j, c]
    assert (view.right.box.rect().y(), view.right.box.rect().x()) == (row, col)


def test_output_bars_show_probabilities_label_and_loss(window):
    view = window.views["output"]
    window.show_view("output")
    trace = window.state.trace
    np.testing.assert_allclose(view.bars.opts["height"], trace.y_pred[0])
    assert f"true label {trace.label}" in view.summary and fmt(trace.loss) in view.summary
    expected = trace.y_pred[0] - np.eye(10)[trace.label]  # softmax + cross-entropy: the first delta is p - y
    np.testing.assert_allclose(view.delta_bars.opts["height"], expected, atol=1e-6)


def test_forward_n_then_back_n_restores_the_display(qtbot, window):
    window.controller.jump_global(4700)  # the end of the forward pass: pooling, flatten, dense
    before = (window.equation.toPlainText(), window.grab().toImage(), window.tabs.currentIndex())
    for _ in range(80):
        qtbot.keyClick(window, Qt.Key_Right)
    assert window.controller.cursor.position == 4780
    for _ in range(80):
        qtbot.keyClick(window, Qt.Key_Left)
    after = (window.equation.toPlainText(), window.grab().toImage(), window.tabs.currentIndex())
    assert window.controller.cursor.position == 4700
    assert after[0] == before[0] and after[2] == before[2]
    assert after[1] == before[1], "the rendered window is pixel for pixel the same"


def test_hovering_never_moves_the_lecture_only_a_click_does(qtbot, window):
    view = window.views["conv"]
    window.controller.jump(0, 327)
    qtbot.wait(50)
    point = view.graphics.mapFromScene(view.output.image.mapToScene(QPointF(3.5, 9.5)))  # col 3, row 9
    qtbot.mouseMove(view.graphics.viewport(), pos=point)
    qtbot.wait(100)
    assert window.controller.cursor.frame == 327, "hover moved the frame"
    tip = view.output.image.toolTip()
    assert tip.startswith("row 9, column 3: ") and "click" in tip
    qtbot.mouseClick(view.graphics.viewport(), Qt.LeftButton, pos=point)
    qtbot.waitUntil(lambda: window.controller.cursor.frame == 9 * 26 + 3, timeout=2000)


def test_clicking_a_layer_in_the_strip_focuses_it(qtbot, window):
    qtbot.mouseClick(window.strip.buttons[2], Qt.LeftButton)
    step = window.controller.step
    assert (step.layer_index, step.phase, window.controller.cursor.frame) == (2, "forward", 0)
    assert window.strip.buttons[2].isChecked() and not window.strip.buttons[0].isChecked()
    window.controller.jump(next(s.index for s in window.state.trace.steps if s.phase == "backward"))
    qtbot.mouseClick(window.strip.buttons[0], Qt.LeftButton)
    assert (window.controller.step.layer_index, window.controller.step.phase) == (0, "backward")
    qtbot.mouseClick(window.strip.loss_button, Qt.LeftButton)
    assert window.controller.step.phase == "loss"


def test_the_slider_moves_the_cursor_and_follows_it(window):
    window.slider.setValue(5000)
    assert window.controller.cursor.position == 5000
    assert "5001/" in window.position_label.text()
    window.controller.jump(0, 7)
    assert window.slider.value() == 7


def test_all_input_channels_show_the_window_in_each_and_every_kernel_slice(qtbot, window):
    trace = window.state.trace
    step = next(s for s in trace.steps if s.kind == "conv_forward" and s.layer_name == "conv2d_2")
    window.controller.jump(step.index, 40)
    view = window.views["conv"]
    combo = view.chooser.combo
    assert [combo.itemText(k) for k in range(combo.count())] == ["0", "1", "2", "3", "all"]
    combo.setCurrentText("all")
    frame = trace.frame(step.index, 40)
    record = trace.records[step.layer_index]
    h, w, channels = record.inputs.shape[1:]
    assert view.input.image.image.shape == (2 * h + 1, 2 * w + 1), "4 channels in a 2x2 mosaic"
    boxes = [b for b in (view.input.box, *view.input.more_boxes) if b.isVisible()]
    assert len(boxes) == channels
    row, col = frame.window.rows[0], frame.window.cols[0]
    for c, box in enumerate(boxes):
        top, left = (c // 2) * (h + 1), (c % 2) * (w + 1)
        rect = box.rect()
        assert (rect.y(), rect.x(), rect.height(), rect.width()) == (top + row, left + col, 3, 3)
        np.testing.assert_array_equal(view.input.image.image[top + row:top + row + 3, left + col:left + col + 3],
                                      frame.patch[..., c].astype(np.float32))
        kernel_tile = view.kernel.image.image[(c // 2) * 4:(c // 2) * 4 + 3, (c % 2) * 4:(c % 2) * 4 + 3]
        np.testing.assert_allclose(kernel_tile, frame.kernel[..., c], rtol=1e-6)
    window.controller.jump(0, 0)  # conv2d_1 has one input channel: no "all" there
    assert [combo.itemText(k) for k in range(combo.count())] == ["0"]
    window.controller.jump(step.index, 40)
    assert combo.currentText() == "all", "the choice comes back with the layer that has it"
    combo.setCurrentText("2")
    assert sum(b.isVisible() for b in (view.input.box, *view.input.more_boxes)) == 1
    np.testing.assert_array_equal(view.kernel.image.image, frame.kernel[..., 2].astype(np.float32))


RESULT = {"conv_forward": "z", "maxpool_forward": "z", "avgpool_forward": "z", "dense_forward": "z",
          "flatten_forward": "value", "loss": "loss", "conv_backward_weight": "grad", "conv_backward_input": "sum",
          "maxpool_backward": "share", "dense_backward": "sum", "flatten_backward": "input_grad",
          "update": "param_after"}


@pytest.mark.parametrize("size", [(1024, 768), (1280, 800), (1920, 1080)])
def test_the_result_of_every_frame_is_visible_without_scrolling(qtbot, window, size):
    """The equation panel writes the frame's result first (a and z, ∂E/∂z, ∂E/∂w, E and δ, W′):
    it is on screen whatever the window size, however long the sums below it."""
    window.resize(*size)
    qtbot.wait(50)
    trace = window.state.trace
    for step in trace.steps:
        for index in (0, step.frame_count // 2, step.frame_count - 1):
            window.controller.jump(step.index, index)
            frame = trace.frame(step.index, index)
            result = fmt(getattr(frame, RESULT[frame.kind]))
            cursor = window.equation.document().find(result)
            if cursor.isNull():
                cursor = window.equation.document().find(f"− {result.lstrip('-')}")
            assert not cursor.isNull(), (frame.kind, result)
            assert window.equation.verticalScrollBar().value() == 0
            bottom = window.equation.cursorRect(cursor).bottom()
            assert bottom < window.equation.viewport().height(), (frame.kind, size, bottom)


def test_numbers_on_cells_fit_their_cells_and_are_readable(qtbot, window):
    """A number is written on its cell only when it fits (at 8 pt or more); hover shows any cell's value."""
    trace = window.state.trace
    checked = 0
    for step in trace.steps:
        window.controller.jump(step.index, step.frame_count // 2)
        qtbot.wait(10)
        for panel in window.tabs.currentWidget().panels:
            cell_pixels = 1 / panel.view.viewPixelSize()[0]
            for text in panel.texts:
                if text.isVisible():
                    checked += 1
                    assert text.textItem.boundingRect().width() <= cell_pixels, (step.title, text.toPlainText())
                    assert text.textItem.font().pointSizeF() >= 8
    assert checked > 50


def test_a_view_that_does_not_draw_the_current_step_says_so_and_offers_its_nearest_step(qtbot, window):
    window.controller.jump(1, 0)  # a max-pooling forward step
    window.show_view("backward")
    view = window.views["backward"]
    assert view.notice.isVisible() and "not drawn here" in view.notice_text.text()
    target = view.notice_step
    from cnnviz.gui.kinds import FRAME_KINDS

    backward_steps = [s.index for s in window.state.trace.steps if FRAME_KINDS[s.frame_type].view == "backward"]
    assert target.index == min(backward_steps, key=lambda k: abs(k - 1))
    qtbot.mouseClick(view.notice_button, Qt.LeftButton)
    assert window.controller.step is target and not view.notice.isVisible()
    window.show_view("maps")
    assert not window.views["maps"].notice.isVisible(), "the feature maps show every step"


def test_the_pictures_stay_put_while_the_numbers_in_their_titles_change(qtbot, window):
    view = window.views["conv"]
    places = set()
    for frame in range(0, 300, 7):
        window.controller.jump(0, frame)
        qtbot.wait(1)
        places.add(tuple(round(panel.view.sceneBoundingRect().x()) for panel in view.panels))
    assert len(places) == 1, places


def test_batch_normalization_steps_show_their_cell_in_the_feature_maps(qtbot):
    window = make_window(qtbot, "allconv-bn")
    step = next(s for s in window.state.trace.steps if s.kind == "batchnorm_forward")
    window.controller.jump(step.index, 200)
    frame = window.state.trace.frame(step.index, 200)
    view = window.views["maps"]
    assert window.tabs.currentWidget() is view
    i, j, c = frame.in_index
    assert view.selected == (step.layer_index, c) and view.large.box.isVisible()
    assert (view.large.box.rect().y(), view.large.box.rect().x()) == (i, j)
    assert f"{window.state.trace.records[step.layer_index].name}, channel {c}" == view.large.title_text
    text = window.equation.toPlainText()
    assert "statistics (moving)" in text and fmt(frame.x_hat) in text and fmt(frame.z) in text


def test_presentation_mode_numbers_are_readable_from_the_back_row(qtbot, window):
    """At 1920x1080 in presentation mode (F5): numbers on cells and in the equation panel are at least
    18 px, and every frame's result stays on screen."""
    from PyQt5.QtWidgets import QApplication

    window.resize(1920, 1080)
    window.controller.jump_global(5707)
    qtbot.keyClick(window, Qt.Key_F5)
    qtbot.waitUntil(lambda: not window.side_dock.isVisible(), timeout=2000)
    qtbot.keyClick(window, Qt.Key_Escape)
    qtbot.waitUntil(lambda: window.side_dock.isVisible(), timeout=2000)
    window.lesson_panel.presentation.enter(full_screen=False)  # offscreen: at the window's own 1080 lines
    qtbot.wait(50)
    dpi = QApplication.primaryScreen().logicalDotsPerInch()
    pixels = lambda font: font.pointSizeF() * dpi / 72  # noqa: E731
    view = window.tabs.currentWidget()
    shown = [t for p in view.panels for t in p.texts if t.isVisible()]
    assert shown and min(pixels(t.textItem.font()) for t in shown) >= 18
    assert pixels(window.equation.font()) >= 18
    frame = window.state.trace.frame(window.controller.cursor.step, window.controller.cursor.frame)
    cursor = window.equation.document().find(fmt(frame.sum))
    assert window.equation.cursorRect(cursor).bottom() < window.equation.viewport().height()


def test_global_pooling_and_batch_normalization_are_drawn_by_their_kinds(qtbot):
    """Steps of kinds the views do not know draw through their GUI kind module (gui.kinds)."""
    window = make_window(qtbot, "allconv-bn")
    trace = window.state.trace
    forward = next(s for s in trace.steps if s.kind == "global_avgpool_forward")
    window.controller.jump(forward.index, 3)
    view, frame = window.views["pool"], trace.frame(forward.index, 3)
    assert window.tabs.currentWidget() is view and not view.notice.isVisible()
    assert f"all {frame.count} cells" in view.input.title_text and fmt(frame.z) in view.output.title_text
    np.testing.assert_array_equal(view.input.image.image, frame.inputs.astype(np.float32))
    assert (view.output.box.rect().x(), view.output.box.rect().y()) == (3, 0), "z[3] boxed in the output vector"
    backward = next(s for s in trace.steps if s.kind == "global_avgpool_backward")
    window.controller.jump(backward.index, 3)
    assert fmt(trace.frame(backward.index, 3).share) in view.output.title_text
    step = next(s for s in trace.steps if s.kind == "batchnorm_backward")
    window.controller.jump(step.index, 40)
    frame = trace.frame(step.index, 40)
    backward_view = window.views["backward"]
    assert window.tabs.currentWidget() is backward_view
    i, j, c = frame.in_index
    assert (backward_view.right.box.rect().y(), backward_view.right.box.rect().x()) == (i, j)
    assert f"channel {c}" in backward_view.right.title_text


@pytest.mark.parametrize("model_name", ["lecture", "allconv-bn"])
def test_no_title_is_cut(qtbot, model_name):
    """Every panel's title fits its column in every step (long layer names get a smaller title)."""
    window = make_window(qtbot, model_name)
    for step in window.state.trace.steps:
        window.controller.jump(step.index, step.frame_count // 2)
        qtbot.wait(1)
        for panel in window.tabs.currentWidget().panels:
            width = panel.label.geometry().width()
            assert width == 0 or panel.label.item.boundingRect().width() <= width + 1, (step.title, panel.title_text)
