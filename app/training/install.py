"""One call that puts the Train panel into the main window and wires it to the model.

``install_training(window, train_action, document, model_controller)`` adds the dock (tabbed behind
the right docks, hidden until asked for), makes the window's Model › Train… action (Ctrl+T, from
``app.actions``) show and hide it, the hot swap (a model chosen in the panel is loaded by the app's
model worker, off the GUI thread, and the current image is re-detected once it is ready), the start
line's "Download ImageNet backbone" (the Model menu's download dialog) and the close guard: closing
the window while training asks whether to stop; yes aborts the run, the window stays open until the
current batch has ended and the worker is done, then closes itself. The GUI thread never blocks on
the training thread.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMessageBox, QWidget

from app.training.panel import TrainingPanel
from app.training.train_worker import FitFn
from app.workers.base import WorkerPool

log = logging.getLogger(__name__)



def ask_stop_training(parent: QWidget) -> bool:
    """The question shown when the window is closed mid-training."""
    answer = QMessageBox.question(
        parent,
        "Training is running",
        "Stop training and quit? The last checkpoint is kept and the run can be resumed later.",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes


class TrainingIntegration(QObject):
    """The glue between the panel, the window and the model controller (see module docstring)."""

    def __init__(self, window: QMainWindow, panel: TrainingPanel, model_controller: Any = None) -> None:
        super().__init__(window)
        self.window, self.panel, self.models = window, panel, model_controller
        self.confirm_stop: Callable[[QWidget], bool] = ask_stop_training
        self.closing = False
        self._redetect_pending = False
        panel.model_chosen.connect(self._on_panel_model_chosen)
        panel.training_finished.connect(self._on_panel_training_finished)
        panel.options_form.start_choice.download_requested.connect(self._on_start_download_requested)
        if model_controller is not None:
            model_controller.model_ready.connect(self._on_models_model_ready)
            model_controller.model_failed.connect(self._on_models_model_failed)
            if getattr(model_controller, "info", None) is not None:  # loaded before the panel existed
                self._note_current_model(model_controller.info)
        window.installEventFilter(self)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(panel.shutdown)  # exit without a close event: still stop cleanly

    # -- the window's Train… action ------------------------------------------------------------
    def adopt_action(self, action: QAction) -> None:
        """Make ``action`` show/hide the panel and follow its visibility, like ``toggleViewAction``."""
        self._action = action
        action.setCheckable(True)
        action.setChecked(not self.panel.isHidden())
        action.triggered.connect(self._on_action_triggered)
        self.panel.visibilityChanged.connect(self._on_panel_visibility_changed)

    @Slot(bool)
    def _on_action_triggered(self, checked: bool) -> None:
        if checked:
            self.show_panel()
        else:
            self.panel.setVisible(False)

    def show_panel(self) -> None:
        """Show and raise the panel, with most of its dock column's height: the charts need it."""
        self.panel.setVisible(True)
        self.panel.raise_()
        QTimer.singleShot(0, self._give_panel_room)  # once the dock layout holds the shown panel

    @Slot()
    def _give_panel_room(self) -> None:
        area = self.window.dockWidgetArea(self.panel)
        column = [d for d in self.window.findChildren(QDockWidget)
                  if d is not self.panel and d.isVisible() and not d.isFloating()
                  and self.window.dockWidgetArea(d) == area and self.panel not in self.window.tabifiedDockWidgets(d)]
        want = max(self.panel.sizeHint().height(), int(self.window.height() * 0.7))
        others = [max(d.minimumSizeHint().height(), 120) for d in column]
        self.window.resizeDocks([self.panel, *column], [want, *others], Qt.Orientation.Vertical)

    @Slot(bool)
    def _on_panel_visibility_changed(self, _visible: bool) -> None:
        self._action.setChecked(not self.panel.isHidden())  # tabbed behind another dock: still open

    # -- hot swap ------------------------------------------------------------------------------
    @Slot(str)
    def _on_panel_model_chosen(self, path: str) -> None:
        if self.models is None:
            return
        self._redetect_pending = True
        self.models.load_checkpoint(path)  # queued to the model worker: loads off the GUI thread

    def _note_current_model(self, info: Any) -> None:
        """Tell the panel which model is on screen: fine-tuning starts from it."""
        spec = getattr(self.models, "loaded_spec", None) or getattr(self.models, "requested_spec", None)
        title = getattr(info, "title", None)
        if spec is not None and getattr(spec, "kind", "") == "checkpoint":
            if str(spec.source).lower().endswith(".onnx"):  # an ONNX export holds no training state
                self.panel.set_current_model(None, f"{title} (ONNX: cannot be fine-tuned)")
            else:
                self.panel.set_current_model(str(spec.source), title)
        elif spec is not None:
            self.panel.set_current_model(None, title, coco_arch=str(spec.source))

    @Slot(object)
    def _on_models_model_ready(self, info: Any) -> None:
        self._note_current_model(info)
        if self._redetect_pending:
            self._redetect_pending = False
            self.panel.message.setText(f"Now detecting with {getattr(info, 'title', 'the new model')}.")
            self.models.detect_current()

    @Slot(str)
    def _on_models_model_failed(self, message: str) -> None:
        if self._redetect_pending:
            self._redetect_pending = False
            self.panel.message.setText(f"The model could not be loaded: {message}")

    # -- the ImageNet backbone, fetched for a better start ----------------------------------------
    @Slot(str)
    def _on_start_download_requested(self, arch: str) -> None:
        """The Model menu's download dialog, for the ImageNet weights; the start is re-resolved after."""
        from app.widgets.model_dialogs import DownloadDialog

        dialog = DownloadDialog(self.window.pool, arch, arch, self.window, pretrained="imagenet")
        dialog.setObjectName("imagenet_download_dialog")
        dialog.weights_ready.connect(self.panel.update_start)
        dialog.start()
        dialog.show()

    # -- closing -------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if watched is self.window and event.type() == QEvent.Type.Close and self.panel.is_training:
            event.ignore()  # the window stays until the worker has finished its batch
            if not self.closing:
                if self.confirm_stop(self.window):
                    self.closing = True
                    self.panel.abort()
                    self.panel.message.setText("Stopping training after this batch, then quitting…")
            return True
        return False

    @Slot(object)
    def _on_panel_training_finished(self, outcome: Any) -> None:
        if self.closing:
            self.window.close()


def install_training(
    window: QMainWindow, train_action: QAction, document: Any = None, model_controller: Any = None, *,
    pool: WorkerPool | None = None, fit_fn: FitFn | None = None,
) -> TrainingPanel:
    """Add the Train dock to ``window``, shown and hidden by ``train_action`` (the window's Model ›
    Train…); returns the panel (the existing one if already installed).

    ``document`` is the app's ``Document`` (its project is what gets trained on); ``model_controller``
    the shell's ``ModelController`` (``load_checkpoint``, ``detect_current``, ``model_ready``,
    ``requested_spec``), ``pool`` the window's ``WorkerPool`` (it awaits the run when the window
    closes; without one the panel keeps its own). ``fit_fn`` replaces ``engine.train.fit`` (tests).
    The integration object is kept as ``panel.integration``.
    """
    existing = window.findChild(TrainingPanel, "training_panel")
    if existing is not None:
        if fit_fn is not None:
            existing.fit_fn = fit_fn
        return existing
    panel = TrainingPanel(document, window, fit_fn=fit_fn, pool=pool)
    panel.setAllowedAreas(Qt.DockWidgetArea.LeftDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, panel)
    boxes = window.findChild(QDockWidget, "box_list_dock")
    if boxes is not None and window.dockWidgetArea(boxes) == Qt.DockWidgetArea.RightDockWidgetArea:
        # a tab beside Boxes, not a third dock stacked in the column: stacked, the panel's ~650 px
        # minimum height pushed the window past a 900 px screen
        window.tabifyDockWidget(boxes, panel)
    panel.hide()
    integration = TrainingIntegration(window, panel, model_controller)
    panel.integration = integration  # type: ignore[attr-defined]
    integration.adopt_action(train_action)
    return panel
