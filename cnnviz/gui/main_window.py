"""The main window: network strip, the views, the equation panel, the input side panel and playback controls.

Contract used by the training side (cnnviz.gui training panels):
    MainWindow(model, dataset, sample=None) with attributes ``model``, ``dataset``, ``controller``,
    ``trace``; ``set_model(model)``, ``refresh_trace()``, ``set_sample(x, label)``,
    ``add_panel(widget, title)``; menus ``file_menu``, ``view_menu``, ``help_menu``;
    signals ``model_changed``, ``sample_changed``.
"""
from __future__ import annotations

import numpy as np
from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import (QAction, QApplication, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDockWidget,
                             QHBoxLayout, QLabel, QMainWindow, QMessageBox, QScrollArea, QSlider, QSpinBox,
                             QSplitter, QStyle, QTabWidget, QTextBrowser, QToolButton, QVBoxLayout, QWidget)

from ..engine.trace import GRANULARITIES, Trace
from .controller import PlaybackController
from .images import fit_to_input
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

# The view that shows each frame kind best (the tabs follow the cursor when "follow" is on).
VIEW_FOR_KIND = {
    "conv_forward": "conv", "maxpool_forward": "pool", "avgpool_forward": "pool", "dense_forward": "dense",
    "flatten_forward": "dense", "dropout_forward": "maps", "activation_forward": "maps", "loss": "output",
    "conv_backward_weight": "backward", "conv_backward_input": "backward", "maxpool_backward": "pool",
    "avgpool_backward": "pool", "dense_backward": "backward", "flatten_backward": "backward",
    "dropout_backward": "backward", "activation_backward": "backward", "update": "update",
}

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


def default_sample(shape, seed=0):
    """A synthetic input when there is no dataset: a seeded blurry ring, so the first screen is never empty."""
    height, width, channels = shape
    rows, cols = np.mgrid[0:height, 0:width]
    radius = np.hypot(rows - height / 2 + 0.5, cols - width / 2 + 0.5)
    ring = np.exp(-((radius - min(height, width) * 0.3) ** 2) / 4.0)
    noise = np.random.default_rng(seed).uniform(0, 0.1, (height, width))
    image = np.clip(ring + noise, 0, 1).astype(np.float32)
    return np.repeat(image[:, :, None], channels, axis=2), 0


class MainWindow(QMainWindow):
    model_changed = pyqtSignal()
    sample_changed = pyqtSignal()

    def __init__(self, model, dataset=None, sample=None, parent=None):
        """model: a Sequential (compiled here with SGD if it is not); dataset: a Dataset or None;
        sample: (x (H, W, C), label) or None for the first test sample (or a synthetic one)."""
        super().__init__(parent)
        self.setWindowTitle("cnnviz — how a CNN learns, step by step")
        self.model = None
        self.dataset = dataset
        self.trace = None
        self.x = None
        self.label = 0
        self.description = ""
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
        column.addWidget(self._build_controls())
        self.setCentralWidget(central)

        self.input_panel = InputPanel()
        self.input_panel.sample_chosen.connect(self._sample_from_panel)
        self.input_panel.predict = lambda x: np.argmax(self.model.predict(x), axis=1)
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
        self.set_model(model, sample=sample)

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
            "faster": self._action(self.playback_menu, "Faster", ["+", "Shift+="], c.faster),
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

    # ------------------------------------------------------------------ contract
    def set_model(self, model, sample=None) -> None:
        """A new architecture or new weights: rebuild the strip, the trace and every view."""
        if model.optimizer is None or model.loss is None:
            model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
        self.model = model
        self.strip.set_model(model)
        self._fit_strip()
        self.input_panel.set_dataset(self.dataset, model.input_shape)
        self.views["output"].class_names = None if self.dataset is None else self.dataset.class_names
        if sample is not None:
            self.x, self.label = fit_to_input(sample[0], model.input_shape), int(sample[1])
            self.description = sample[2] if len(sample) > 2 else "sample"
        elif self.x is not None:
            self.x = fit_to_input(self.x, model.input_shape)
        elif self.dataset is not None and len(self.dataset.x_test):
            self.x, self.label = self.input_panel.sample(0)
            self.description = "test sample 0"
        else:
            self.x, self.label = default_sample(model.input_shape)
            self.description = "synthetic sample"
        classes = model.output_shape[-1]
        if not 0 <= self.label < classes:
            self.label = 0
        self._rebuild_trace(keep_position=False)
        self.model_changed.emit()

    def set_dataset(self, dataset) -> None:
        """A new dataset (training stops): the model stays, the dataset's first test sample is the input."""
        self.dataset, self.x = dataset, None
        self.set_model(self.model)

    def refresh_trace(self) -> None:
        """The live model's weights changed (e.g. training paused): trace the current sample again."""
        self.input_panel.forget_predictions()
        self._rebuild_trace(keep_position=True)

    def set_sample(self, x, label, description: str = "") -> None:
        """A new input (H, W, C) with its true class id; keeps the cursor position."""
        x = np.asarray(x, np.float32)
        if x.ndim == 4 and x.shape[0] == 1:
            x = x[0]
        if x.ndim != 3:
            raise ValueError(f"a sample is one image (H, W, C), got shape {x.shape}")
        classes = self.model.output_shape[-1]
        if not 0 <= int(label) < classes:
            raise ValueError(f"label {label} is not a class of this model (0 to {classes - 1})")
        self.x, self.label = fit_to_input(x, self.model.input_shape), int(label)
        self.description = description or "sample"
        self._rebuild_trace(keep_position=True)
        self.sample_changed.emit()

    def _sample_from_panel(self, x, label, description) -> None:
        try:
            self.set_sample(x, label, description)
        except ValueError as error:
            QMessageBox.warning(self, "Cannot use this input", str(error))

    def add_panel(self, widget, title: str) -> None:
        """Add a panel (training, experiments) as a tab of the side area."""
        self.side_tabs.addTab(widget, title)

    # ------------------------------------------------------------------ trace and drawing
    def _rebuild_trace(self, keep_position: bool) -> None:
        self.trace = Trace(self.model, self.x, self.label)
        for view in self.views.values():
            view.set_trace(self.trace)
        self.slider.blockSignals(True)
        self.slider.setRange(0, self.trace.total_frames - 1)
        self.slider.blockSignals(False)
        names = [] if self.dataset is None else self.dataset.class_names
        predicted, label = (names[k] if k < len(names) else str(k) for k in (self.trace.predicted, self.label))
        self.statusBar().showMessage(f"{self.description}: label {label}, predicted {predicted}, "
                                     f"loss {self.trace.loss:.4g}")
        self.input_panel.show_prediction(predicted, float(self.trace.y_pred[0, self.trace.predicted]), label)
        self._last_step = None
        self.controller.set_trace(self.trace, keep_position=keep_position)

    def draw_frame(self) -> None:
        """Draw the cursor's frame: strip, equation panel, position, and the visible view."""
        step = self.controller.step
        frame = self.controller.current()
        self.frame = frame
        if step.index != self._last_step:
            self._last_step = step.index
            self.strip.highlight(step)
            if self.follow:
                self.tabs.setCurrentWidget(self.views[VIEW_FOR_KIND[frame["kind"]]])
        self.equation.show_frame(step, frame)
        position = self.controller.cursor.position
        self.slider.blockSignals(True)
        self.slider.setValue(position)
        self.slider.blockSignals(False)
        self.position_label.setText(f"step {step.index + 1}/{len(self.trace.steps)} · "
                                    f"frame {self.controller.cursor.frame + 1}/{step.frame_count} · "
                                    f"{position + 1}/{self.trace.total_frames}")
        self._draw_current_view()

    def _draw_current_view(self) -> None:
        if self.trace is not None:
            self.tabs.currentWidget().show_frame(self.controller.step, self.frame)

    def show_view(self, name: str) -> None:
        """Show one view; turns "follow" off so it stays."""
        if name not in self.views:
            raise ValueError(f"unknown view {name!r}; expected one of {list(VIEW_NAMES)}")
        self.follow_box.setChecked(False)
        self.tabs.setCurrentWidget(self.views[name])

    def focus_layer(self, layer_index: int) -> None:
        """Jump to the step of that layer in the current phase (or its forward step)."""
        phase = self.controller.step.phase
        steps = self.trace.steps
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

    def _fit_strip(self) -> None:
        """The strip's scroll area as tall as its blocks (plus a scroll bar when they do not fit)."""
        scroll_bar = self.strip_scroll.horizontalScrollBar().sizeHint().height()
        self.strip_scroll.setFixedHeight(self.strip.sizeHint().height() + scroll_bar + 4)

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
                         f"<h3>Colours</h3>{table(LEGEND)}")
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

    def closeEvent(self, event):
        self.controller.pause()
        super().closeEvent(event)
