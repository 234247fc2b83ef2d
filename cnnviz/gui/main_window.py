"""The main window: network strip, the views, the equation panel, the input side panel and playback controls.

It draws the application state (``state.AppState``) it is given and listens to its signals;
``app.main`` adds the other panels (``add_panel``) and menus (``file_menu``, ``view_menu``,
``help_menu``).
"""
from __future__ import annotations

import numpy as np
from PyQt5.QtCore import Qt, QTimer, pyqtSignal
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import (QAction, QApplication, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDockWidget,
                             QHBoxLayout, QLabel, QMainWindow, QMessageBox, QScrollArea, QSlider, QSpinBox,
                             QSplitter, QStyle, QTabWidget, QTextBrowser, QToolButton, QVBoxLayout, QWidget)

from ..engine.trace import GRANULARITIES
from .controller import PlaybackController
from .kinds import FRAME_KINDS, frame_kind
from .views.backward_view import BackwardView
from .views import VIEW_NAMES
from .views.conv_view import ConvView
from .views.dense_view import DenseView
from .views.equation import EquationPanel
from .views.input_panel import InputPanel
from .views.maps_view import FeatureMapsView
from .views.network_strip import NetworkStrip
from .views.output_view import OutputView
from .views.pool_view import PoolView
from .views.update_view import UpdateView

OVERVIEWS = ("maps", "output")  # views of the whole network: every step has something to show there

SHORTCUTS = (
    ("Space", "play / pause"),
    ("Right / Left", "one step forward / back at the chosen granularity"),
    ("Shift+Right / Shift+Left", "next / previous layer step"),
    ("Home", "restart from the first frame"),
    ("+ / -", "faster / slower (frames per second, then frames per tick)"),
    ("F11", "full screen"),
    ("Ctrl+= / Ctrl+-", "larger / smaller fonts (lecture mode)"),
)


LEGEND = (
    ("viridis (dark blue → yellow)", "activations and inputs, fixed levels per layer"),
    ("blue – white – red", "signed values (deltas, gradients, weights): white is zero, with a colour bar"),
    ("grey cells", "padding around an input"),
    ("dark slate cells", "not computed yet: the map fills in cell by cell"),
    ("yellow box", "the current window or cell"),
    ("red box", "the max-pooling winner"),
)

NOTATION = (  # one notation everywhere on screen, as the teaching notebooks write it
    ("zᵏ", "the activations (output) of layer k; zᵏ⁻¹ is its input (the image for the first layer)"),
    ("aᵏ", "the pre-activation of layer k: zᵏ = h(aᵏ) with h its activation"),
    ("δᵏ = ∂E/∂aᵏ", "the delta of layer k; for a layer without activation, δ = ∂E/∂z"),
    ("∂E/∂z", "the gradient of the loss E with respect to activations (what flows back between layers)"),
    ("h′(a)", "the slope of the activation: δᵏ = h′(aᵏ) ⊙ ∂E/∂zᵏ (a softmax needs its Jacobian instead)"),
    ("w, b, W", "conv kernel w[m, n, c, c′] and bias b[c′]; dense weights W[i, j]"),
    ("g, λ, η", "the gradient the optimizer uses, g = ∂E/∂W + λ·W with weight decay λ; the learning rate η"),
    ("E", "the loss (a batch mean; for the one sample of a trace its 1/N factor is 1)"),
)


class MainWindow(QMainWindow):
    fonts_scaled = pyqtSignal(float)  # the new scale: panels that size themselves to their text re-fit

    def __init__(self, state, parent=None):
        """state: the AppState to show."""
        super().__init__(parent)
        self.setWindowTitle("cnnviz — how a CNN learns, step by step")
        self.state = state
        self.font_scale = 1.0
        self.follow = True
        self.controller = PlaybackController(parent=self)
        self.controller.moved.connect(self.draw_frame)
        self.controller.playing_changed.connect(self._playing_changed)
        self.controller.settings_changed.connect(self._settings_changed)

        self.strip = NetworkStrip()
        self.strip.layer_clicked.connect(self.focus_layer)
        self.strip_scroll = strip_scroll = QScrollArea()
        strip_scroll.setWidget(self.strip)
        strip_scroll.setWidgetResizable(True)
        strip_scroll.setMinimumWidth(200)
        strip_scroll.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)

        self.views = {}
        self.tabs = QTabWidget()
        views = {view.name: view for view in (ConvView(), FeatureMapsView(), PoolView(), DenseView(), BackwardView(),
                                               UpdateView(), OutputView())}
        for view in map(views.get, VIEW_NAMES):  # the tabs in VIEW_NAMES order
            view.set_controller(self.controller)
            self.views[view.name] = view
            self.tabs.addTab(view, view.title)
        self.tabs.currentChanged.connect(lambda _: self._draw_current_view())
        self.equation = EquationPanel()
        splitter = QSplitter(Qt.Vertical)
        splitter.addWidget(self.tabs)
        splitter.addWidget(self.equation)
        splitter.setStretchFactor(0, 1)  # a larger window gives its extra height to the pictures
        splitter.setStretchFactor(1, 0)
        splitter.setSizes([430, 230])

        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(4, 4, 4, 4)
        column.addWidget(strip_scroll)
        column.addWidget(splitter, 1)
        self.controls = self._build_controls()  # hidden while presenting
        column.addWidget(self.controls)
        self.setCentralWidget(central)

        self.input_panel = InputPanel()
        self.input_panel.sample_chosen.connect(self._sample_from_panel)
        self.input_panel.failed.connect(lambda title, text: self.state.report("warning", title, text))
        self.input_panel.predict = lambda x: np.argmax(self.state.model.predict(x), axis=1)
        self.side_tabs = QTabWidget()
        self.side_tabs.addTab(self.input_panel, "Input")
        self.side_dock = QDockWidget("Input and training", self)
        self.side_dock.setObjectName("side")
        self.side_dock.setWidget(self.side_tabs)
        self.side_dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
        self.addDockWidget(Qt.RightDockWidgetArea, self.side_dock)
        self.resizeDocks([self.side_dock], [260], Qt.Horizontal)

        self._build_menus()
        self.statusBar()
        state.model_changed.connect(self._model_changed)
        state.trace_changed.connect(self._trace_changed)
        state.message.connect(self._show_message)
        self._model_changed()
        self._trace_changed(False)

    # ------------------------------------------------------------------ building
    def _tool(self, icon, tip, slot, text="") -> QToolButton:
        button = QToolButton()
        button.setIcon(self.style().standardIcon(icon))
        if text:
            button.setText(text)
            button.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        button.setToolTip(tip)
        button.setFocusPolicy(Qt.NoFocus)
        button.clicked.connect(slot)
        return button

    def _build_controls(self) -> QWidget:
        bar = QWidget()
        rows = QVBoxLayout(bar)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(2)
        top = QHBoxLayout()
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setFocusPolicy(Qt.NoFocus)
        self.slider.valueChanged.connect(self._slider_moved)
        top.addWidget(self.slider, 1)
        self.position_label = QLabel()
        top.addWidget(self.position_label)
        rows.addLayout(top)
        row = QHBoxLayout()
        rows.addLayout(row)
        c = self.controller
        self.restart_button = self._tool(QStyle.SP_MediaSkipBackward, "Restart (Home)", c.restart)
        self.prev_step_button = self._tool(QStyle.SP_MediaSeekBackward, "Previous step (Shift+Left)", c.prev_step)
        self.back_button = self._tool(QStyle.SP_ArrowLeft, "Back (Left)", lambda: c.back())
        self.play_button = self._tool(QStyle.SP_MediaPlay, "Play / pause (Space)", c.toggle, "Play")
        self.forward_button = self._tool(QStyle.SP_ArrowRight, "Forward (Right)", lambda: c.forward())
        self.next_step_button = self._tool(QStyle.SP_MediaSeekForward, "Next step (Shift+Right)", c.next_step)
        for button in (self.restart_button, self.prev_step_button, self.back_button, self.play_button,
                       self.forward_button, self.next_step_button):
            row.addWidget(button)
        row.addWidget(QLabel("by"))
        self.granularity_combo = QComboBox()
        self.granularity_combo.addItems(GRANULARITIES)
        self.granularity_combo.setToolTip("How far one step forward/back (and one tick of play) goes")
        self.granularity_combo.currentTextChanged.connect(c.set_granularity)
        row.addWidget(self.granularity_combo)
        row.addWidget(QLabel("fps"))
        self.fps_spin = QSpinBox()
        self.fps_spin.setRange(1, 120)
        self.fps_spin.setValue(c.fps)
        self.fps_spin.valueChanged.connect(c.set_fps)
        row.addWidget(self.fps_spin)
        row.addWidget(QLabel("× per tick"))
        self.tick_spin = QSpinBox()
        self.tick_spin.setRange(1, 10000)
        self.tick_spin.setValue(c.frames_per_tick)
        self.tick_spin.setToolTip("Frames (units of the granularity) per timer tick")
        self.tick_spin.valueChanged.connect(c.set_frames_per_tick)
        row.addWidget(self.tick_spin)
        self.follow_box = QCheckBox("follow")
        self.follow_box.setChecked(True)
        self.follow_box.setToolTip("Switch to the view that fits the current step")
        self.follow_box.toggled.connect(self._set_follow)
        row.addWidget(self.follow_box)
        row.addStretch(1)
        return bar

    def _action(self, menu, text, shortcuts, slot) -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
        action.setShortcutContext(Qt.WindowShortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)  # shortcuts work even with the menu bar hidden (full screen)
        return action

    def _build_menus(self) -> None:
        menus = self.menuBar()
        self.file_menu = menus.addMenu("&File")
        self._action(self.file_menu, "Open image…", ["Ctrl+O"], self.input_panel.open_image_dialog)
        self.file_menu.addSeparator()
        self.quit_action = self._action(self.file_menu, "Quit", ["Ctrl+Q"], self.close)
        self.playback_menu = menus.addMenu("&Playback")
        c = self.controller
        self.actions_ = {
            "play": self._action(self.playback_menu, "Play / pause", ["Space"], c.toggle),
            "forward": self._action(self.playback_menu, "Forward", ["Right"], lambda: c.forward()),
            "back": self._action(self.playback_menu, "Back", ["Left"], lambda: c.back()),
            "next_step": self._action(self.playback_menu, "Next step", ["Shift+Right"], c.next_step),
            "prev_step": self._action(self.playback_menu, "Previous step", ["Shift+Left"], c.prev_step),
            "restart": self._action(self.playback_menu, "Restart", ["Home"], c.restart),
            "faster": self._action(self.playback_menu, "Faster", ["+"], c.faster),
            "slower": self._action(self.playback_menu, "Slower", ["-"], c.slower),
        }
        self.view_menu = menus.addMenu("&View")
        for name in VIEW_NAMES:
            view = self.views[name]
            self._action(self.view_menu, f"Show {view.title}", [], lambda _=False, n=name: self.show_view(n))
        self.view_menu.addSeparator()
        self.actions_["fullscreen"] = self._action(self.view_menu, "Full screen", ["F11"], self.toggle_full_screen)
        self.actions_["bigger"] = self._action(self.view_menu, "Larger fonts", ["Ctrl+=", "Ctrl++"],
                                               lambda: self.scale_fonts(1.15))
        self.actions_["smaller"] = self._action(self.view_menu, "Smaller fonts", ["Ctrl+-"],
                                                lambda: self.scale_fonts(1 / 1.15))
        self.view_menu.addAction(self.side_dock.toggleViewAction())
        self.help_menu = menus.addMenu("&Help")
        self._action(self.help_menu, "Shortcuts", ["F1"], self.show_shortcuts)
        self.shortcuts_dialog = None

    # ------------------------------------------------------------------ following the state
    def _model_changed(self) -> None:
        model, dataset = self.state.model, self.state.dataset
        self.strip.set_model(model)
        self._fit_strip()
        self.input_panel.set_dataset(dataset, model.input_shape, self.state.class_names())
        self.views["output"].class_names = self.state.class_names()

    def _sample_from_panel(self, x, label, description) -> None:
        try:
            self.state.set_sample(x, label, description)
        except ValueError as error:
            self.state.report("warning", "Cannot use this input", str(error))

    def _show_message(self, level: str, title: str, text: str) -> None:
        if level == "info":
            self.statusBar().showMessage(text, 5000)
        elif level == "error":
            QMessageBox.critical(self, title, text)
        else:
            QMessageBox.warning(self, title, text)

    def add_panel(self, widget, title: str) -> None:
        """Add a panel (training, experiments) as a tab of the side area."""
        self.side_tabs.addTab(widget, title)

    # ------------------------------------------------------------------ trace and drawing
    def _trace_changed(self, keep_position: bool) -> None:
        trace = self.state.trace
        self.input_panel.forget_predictions()
        for view in self.views.values():
            view.set_trace(trace)
        self.slider.blockSignals(True)
        self.slider.setRange(0, trace.total_frames - 1)
        self.slider.blockSignals(False)
        predicted, label = self.state.class_name(trace.predicted), self.state.class_name(self.state.label)
        target = "" if self.state.label is not None else " (the loss and backward pass take the prediction as target)"
        self.statusBar().showMessage(f"{self.state.description}: label {label}, predicted {predicted}, "
                                     f"loss {trace.loss:.4g}{target}")
        self.input_panel.show_prediction(predicted, float(trace.y_pred[0, trace.predicted]),
                                         None if self.state.label is None else label)
        if self.state.description not in ("drawing",):
            self.input_panel.show_sample(self.state.x)
        self._last_step = None
        self.controller.set_trace(trace, keep_position=keep_position)

    def draw_frame(self) -> None:
        """Draw the cursor's frame: strip, equation panel, position, and the visible view."""
        step = self.controller.step
        frame = self.controller.current()
        self.frame = frame
        if step.index != self._last_step:
            self._last_step = step.index
            self.strip.highlight(step)
            if self.follow:
                self.tabs.setCurrentWidget(self.views[frame_kind(frame).view])
        self.equation.show_frame(step, frame, frame_kind(frame).rows)
        position = self.controller.cursor.position
        self.slider.blockSignals(True)
        self.slider.setValue(position)
        self.slider.blockSignals(False)
        trace = self.controller.trace
        self.position_label.setText(f"step {step.index + 1}/{len(trace.steps)} · "
                                    f"frame {self.controller.cursor.frame + 1}/{step.frame_count} · "
                                    f"{position + 1}/{trace.total_frames}")
        self._draw_current_view()

    def _draw_current_view(self) -> None:
        if self.controller.trace is None:
            return
        view, step, kind = self.tabs.currentWidget(), self.controller.step, frame_kind(self.frame)
        if kind.draw is not None and kind.view == view.name:  # a frame its kind draws in that view
            kind.draw(view, step, self.frame)
        else:
            view.show_frame(step, self.frame)
        if kind.view == view.name or view.name in OVERVIEWS:
            view.show_notice(None)
        else:
            view.show_notice(f"The current step, {step.title}, is not drawn here; this view shows "
                             f"{view.title.lower()} steps.", self._nearest_step_for(view.name))

    def _nearest_step_for(self, view_name: str):
        """The step of that view closest to the current one (the same layer first), or None."""
        current = self.controller.step
        steps = [s for s in self.controller.trace.steps if FRAME_KINDS[s.frame_type].view == view_name]
        return min(steps, key=lambda s: (s.layer_index != current.layer_index, abs(s.index - current.index)),
                   default=None)

    def show_view(self, name: str) -> None:
        """Show one view; turns "follow" off so it stays."""
        if name not in self.views:
            raise ValueError(f"unknown view {name!r}; expected one of {list(VIEW_NAMES)}")
        self.follow_box.setChecked(False)
        self.tabs.setCurrentWidget(self.views[name])

    def focus_layer(self, layer_index: int) -> None:
        """Jump to the step of that layer in the current phase (or its forward step)."""
        phase = self.controller.step.phase
        steps = self.controller.trace.steps
        matches = [s for s in steps if s.layer_index == (None if layer_index < 0 else layer_index)]
        same_phase = [s for s in matches if s.phase == phase]
        target = (same_phase or matches)[0]
        self.controller.jump(target.index, 0)

    # ------------------------------------------------------------------ controls
    def _set_follow(self, on: bool) -> None:
        self.follow = on
        self.views["maps"].follow = on
        if on:
            self._last_step = None
            self.draw_frame()

    def _slider_moved(self, value: int) -> None:
        self.controller.jump_global(value)

    def _playing_changed(self, playing: bool) -> None:
        self.play_button.setText("Pause" if playing else "Play")
        self.play_button.setIcon(self.style().standardIcon(QStyle.SP_MediaPause if playing else QStyle.SP_MediaPlay))

    def _settings_changed(self) -> None:
        c = self.controller
        for widget, value in ((self.fps_spin, c.fps), (self.tick_spin, c.frames_per_tick)):
            widget.blockSignals(True)
            widget.setValue(value)
            widget.blockSignals(False)
        self.granularity_combo.blockSignals(True)
        self.granularity_combo.setCurrentText(c.granularity)
        self.granularity_combo.blockSignals(False)
        self.statusBar().showMessage(f"{c.fps} ticks per second × {c.frames_per_tick} per tick, by {c.granularity}",
                                     3000)

    def toggle_full_screen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    def scale_fonts(self, factor: float) -> None:
        """Scale every font of the window (lecture mode)."""
        scale = min(3.0, max(0.6, self.font_scale * factor))
        self.font_scale = scale
        font = QApplication.font()
        if not hasattr(self, "_base_point_size"):
            self._base_point_size = font.pointSizeF()
        font.setPointSizeF(self._base_point_size * scale)
        self.setFont(font)
        for widget in self.findChildren(QWidget):
            widget.setFont(font)
        self.equation.document().setDefaultFont(font)
        for view in self.views.values():
            view.set_font_scale(scale)
        self.strip.set_font_scale(scale)
        self._fit_strip()
        self._last_step = None
        self.draw_frame()
        self.fonts_scaled.emit(scale)

    def _fit_strip(self) -> None:
        """The strip's scroll area as tall as its blocks (plus a scroll bar when they do not fit)."""
        scroll_bar = self.strip_scroll.horizontalScrollBar().sizeHint().height()
        self.strip_scroll.setFixedHeight(self.strip.sizeHint().height() + scroll_bar + 4)
        # the blocks of a new model are laid out (and may grow a line) only once the event loop runs
        QTimer.singleShot(0, lambda: self.strip_scroll.setFixedHeight(
            self.strip.sizeHint().height() + scroll_bar + 4))

    def menu_shortcuts(self) -> list[tuple[str, str]]:
        """(keys, "Menu > command") for every menu action with a shortcut, read from the menus
        themselves so panels installed later (training, weights files) are listed too."""
        rows = []
        for menu_action in self.menuBar().actions():
            for action in menu_action.menu().actions():
                keys = action.shortcut().toString(QKeySequence.NativeText)
                if keys:
                    rows.append((keys, f"{menu_action.text()} > {action.text()}".replace("&", "")))
        return rows

    def show_shortcuts(self) -> QDialog:
        if self.shortcuts_dialog is None:
            dialog = QDialog(self)
            dialog.setWindowTitle("Keyboard shortcuts")
            text = QTextBrowser()
            def table(rows):
                return "<table cellpadding='3'>" + "".join(f"<tr><td><b>{a}</b></td><td>{b}</td></tr>"
                                                         for a, b in rows) + "</table>"

            text.setHtml(f"<h3>Keys</h3>{table(SHORTCUTS)}<h3>Menu commands</h3>{table(self.menu_shortcuts())}"
                         f"<h3>Notation</h3>{table(NOTATION)}<h3>Colours</h3>{table(LEGEND)}")
            buttons = QDialogButtonBox(QDialogButtonBox.Close)
            buttons.rejected.connect(dialog.close)
            layout = QVBoxLayout(dialog)
            layout.addWidget(text)
            layout.addWidget(buttons)
            dialog.resize(620, 520)
            dialog.text = text
            self.shortcuts_dialog = dialog
        self.shortcuts_dialog.show()
        return self.shortcuts_dialog

    def keyPressEvent(self, event):
        """'+' and '-' as typed, whatever keys make them (Shift+= on most keyboards, the keypad):
        some platforms' shortcut maps do not match Shift+= to the "+" shortcut."""
        action = {"+": self.actions_["faster"], "-": self.actions_["slower"]}.get(event.text())
        if action is None:
            super().keyPressEvent(event)
        else:
            action.trigger()

    def closeEvent(self, event):
        self.controller.pause()
        super().closeEvent(event)
