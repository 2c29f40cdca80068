"""The main window: composes the canvas, docks, controllers and actions, and wires them together.

No behaviour lives here: what happens on a key, a drop or a menu entry is a controller method; this
module only creates the parts and connects signals to them. Closing asks every worker to stop, waits
for them, then closes the project (every edit is already saved, so there is nothing to ask).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog, QMainWindow, QToolBar, QWidget

from app.actions import PRETRAINED_ENTRIES, Actions, build_actions, build_menus
from app.canvas import Canvas
from app.controllers.model import ModelController
from app.controllers.navigator import Navigator
from app.controllers.project import ProjectController
from app.dock_space import install as install_dock_space
from app.document import Document
from app.lazy_docks import LazyDocks
from app.clipboard import BoxClipboard
from app.label_keys import LabelKeys
from app.recent import RecentFolders
from app.review import install_review
from app.session import ProjectSession
from app.view_menu import ViewMenu
from app.widgets.box_list import BoxListDock
from app.widgets.class_list import ClassListDock
from app.widgets.data_dialogs import ExportDialog, ImportDialog
from app.widgets.file_list import FileListDock
from app.widgets.label_dialog import LabelDialog
from app.widgets.model_dialogs import BatchProgressDialog, DownloadDialog
from app.widgets.score_slider import ScoreSlider
from app.widgets.status import StatusBarView
from app.workers.base import WorkerPool
from app.workers.image_loader import ImageLoader, LoadFn
from app.workers.model import DetectorFactory


class MainWindow(QMainWindow):
    def __init__(self, *, detector_factory: DetectorFactory | None = None, load_fn: LoadFn | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("main_window")
        self.setWindowTitle("RetinaLab")
        self.resize(1280, 800)
        self.setAcceptDrops(True)
        self.pool = WorkerPool(self)
        self.document = Document(self)
        self.canvas = Canvas(self.document)
        self.setCentralWidget(self.canvas)
        self.file_list = FileListDock(self)
        self.class_list = ClassListDock(self.document, self)
        self.box_list = BoxListDock(self.document, self)
        for area, dock in ((Qt.DockWidgetArea.LeftDockWidgetArea, self.file_list),
                           (Qt.DockWidgetArea.RightDockWidgetArea, self.class_list),
                           (Qt.DockWidgetArea.RightDockWidgetArea, self.box_list)):
            self.addDockWidget(area, dock)
        self.score_slider = ScoreSlider(self.document)
        toolbar = QToolBar("Score", self)
        toolbar.setObjectName("score_toolbar")
        toolbar.addWidget(self.score_slider)
        self.addToolBar(toolbar)
        self.status = StatusBarView(self)
        self.setStatusBar(self.status)

        self.loader = ImageLoader(load_fn)
        self.pool.start_service(self.loader)
        self.navigator = Navigator(self.document, self.file_list, self.loader, self)
        self.projects = ProjectController(self.pool, self.document, self.file_list, self.navigator, self)
        self.models = ModelController(self.pool, self.document, self.navigator, self.file_list,
                                      detector_factory, self)
        self.batch_dialog = BatchProgressDialog(self.models, self)
        self.actions: Actions = build_actions(self, self.document.undo_stack)
        menus = build_menus(self.menuBar(), self.actions)
        self._wire()
        self.review = install_review(self, menus.model)  # Review dock, Model › Review Labels, X = fix
        self.docks = LazyDocks(self, self.document, self.models, self.pool, self.actions.model.train,
                               menus.model)  # Train…, Camera: on first use
        self.label_keys = LabelKeys(self, self.document)  # 1-9 whatever has focus
        self.clipboard = BoxClipboard(self)  # Ctrl+C / Ctrl+V, Ctrl+Shift+V the previous image's labels
        for action in (None, self.clipboard.copy_action, self.clipboard.paste_action,
                       self.clipboard.paste_previous_action):
            menus.edit.addAction(action) if action else menus.edit.addSeparator()
        self.recent = RecentFolders(self, menus.file, self.actions.file.import_labels)
        self.view = ViewMenu(self)  # View (zoom, panels, H, brightness), Help (F1), right-click on boxes
        self.dock_space = install_dock_space(self)  # closing the Camera / Train panel gives the space back
        self.session = ProjectSession(self.projects, self.navigator, self.models, self.file_list, self)
        self.docks.training_panel_installed.connect(self._on_docks_training_panel_installed)
        self.status.show_message("Open a folder of images (File › Open Folder, or drop it here)")

    def _wire(self) -> None:
        doc, status, nav, models = self.document, self.status, self.navigator, self.models
        doc.saved.connect(status.on_saved)
        doc.save_failed.connect(status.on_save_failed)
        doc.status_changed.connect(nav.on_status_changed)
        # Ctrl+Z after Space: back to the restored image. Queued: showing an image clears the undo
        # stack, which must not happen inside the undo that emitted this.
        doc.review_undone.connect(nav.show_image, Qt.ConnectionType.QueuedConnection)
        for source in (nav, self.projects, models):
            source.message.connect(status.show_message)
        models.loading_changed.connect(status.on_model_loading)
        models.model_ready.connect(status.on_model_ready)
        models.model_failed.connect(status.on_model_failed)
        models.batch_finished.connect(self._on_models_batch_finished)  # Detect All may add classes
        self.projects.project_opened.connect(self._on_projects_project_opened)
        doc.boxes_changed.connect(self._on_document_boxes_changed)  # the count after each name in the list
        f, e, n, m = self.actions.file, self.actions.edit, self.actions.navigate, self.actions.model
        f.open_folder.triggered.connect(self.ask_open_folder)
        f.export.triggered.connect(self.show_export_dialog)
        f.import_labels.triggered.connect(self.show_import_dialog)
        f.quit.triggered.connect(self.close)
        e.relabel.triggered.connect(self.ask_relabel)
        e.accept_all.triggered.connect(self.accept_all)
        n.next_image.triggered.connect(nav.next)
        n.previous_image.triggered.connect(nav.previous)
        n.next_unreviewed.triggered.connect(nav.next_unreviewed)
        n.mark_reviewed.triggered.connect(nav.mark_reviewed_and_next)  # Space outside the canvas
        self.canvas.space_tapped.connect(nav.mark_reviewed_and_next)  # the canvas owns Space (hold = pan)
        m.coco_r50.triggered.connect(self.ask_coco_r50)
        m.coco_r50_v2.triggered.connect(self.ask_coco_r50_v2)
        m.compact.triggered.connect(models.load_compact)
        m.checkpoint.triggered.connect(self.ask_checkpoint)
        m.export_onnx.triggered.connect(self.ask_export_onnx)
        m.detect.triggered.connect(models.detect_current)
        m.detect_all.triggered.connect(self.detect_all)
        m.auto_detect.toggled.connect(self._on_auto_detect_toggled)

    # --- docks installed on first use (app.lazy_docks) ---------------------------------------
    @property
    def training_panel(self) -> Any:
        return self.docks.training_panel()

    @property
    def camera_dock(self) -> Any:
        return self.docks.camera()[0]

    @property
    def camera_actions(self) -> Any:
        return self.docks.camera()[1]

    @Slot(object)
    def _on_projects_project_opened(self, opened: Any) -> None:
        folder = opened.project.folder
        suffix = " (read-only)" if opened.read_only_reason else ""
        self.setWindowTitle(f"{folder.name}{suffix} — {folder.parent} — RetinaLab")
        self.file_list.model.set_box_counts(opened.box_counts)

    @Slot()
    def _on_document_boxes_changed(self) -> None:
        record = self.document.record
        if record is not None:
            self.file_list.model.set_box_count(record.id, sum(b.is_label for b in self.document.boxes()))

    @Slot(int, int, bool)
    def _on_models_batch_finished(self, done: int, failed: int, cancelled: bool) -> None:
        self.document.reload_from_store(boxes=False)  # the current image's boxes were reloaded already
        if self.projects.project is not None:
            self.file_list.model.set_box_counts(self.projects.project.box_counts())

    @Slot(object)
    def _on_docks_training_panel_installed(self, panel: Any) -> None:
        from app.widgets.wheel_guard import guard_wheel

        guard_wheel(panel)  # scrolling over the form must not change the learning rate
        self.session.attach_train_form(panel.options_form)

    # --- dialogs (creating a dialog and handing its answer to a controller) -------------------
    @Slot()
    def ask_open_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of images")
        if folder:
            self.projects.open_folder(folder)

    @Slot()
    def ask_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load a checkpoint", "",
                                              "Models (*.pt *.pth *.onnx);;Checkpoints (*.pt *.pth);;ONNX (*.onnx)")
        if path:
            self.models.load_checkpoint(path)

    @Slot()
    def ask_export_onnx(self) -> None:
        src = self.models.exportable_checkpoint()
        if src is None:
            self.models.export_onnx("")  # says what is missing
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export the model to ONNX", str(src.with_suffix(".onnx")),
                                              "ONNX (*.onnx)")
        if path:
            self.models.export_onnx(path if path.lower().endswith(".onnx") else path + ".onnx")

    @Slot()
    def ask_coco_r50(self) -> None:
        self.show_download_dialog(*PRETRAINED_ENTRIES[0][::-1])

    @Slot()
    def ask_coco_r50_v2(self) -> None:
        self.show_download_dialog(*PRETRAINED_ENTRIES[1][::-1])

    def show_download_dialog(self, arch: str, title: str) -> DownloadDialog:
        dialog = DownloadDialog(self.pool, arch, title, self)
        dialog.weights_ready.connect(self.models.load_pretrained)
        dialog.failed.connect(self.status.on_model_failed)
        dialog.start()
        dialog.show()
        return dialog

    @Slot()
    def show_export_dialog(self) -> ExportDialog:
        dialog = ExportDialog(self.projects, self)
        dialog.show()
        return dialog

    @Slot()
    def show_import_dialog(self) -> ImportDialog:
        dialog = ImportDialog(self.projects, self)
        dialog.show()
        return dialog

    @Slot()
    def ask_relabel(self) -> None:
        ids = self.document.selected_ids()
        if ids:
            label = LabelDialog.ask(self.document.class_names(), self.document.current_label(), self)
            if label:
                self.document.relabel(ids, label)

    @Slot()
    def accept_all(self) -> None:
        self.document.accept_all_above()

    @Slot()
    def detect_all(self) -> None:
        self.models.detect_all(self.projects.project)

    @Slot(bool)
    def _on_auto_detect_toggled(self, on: bool) -> None:
        self.models.auto_detect = on

    # --- drag and drop, close ---------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt's name
        if _dropped_folder(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        folder = _dropped_folder(event)
        if folder is not None:
            event.acceptProposedAction()
            self.projects.open_folder(folder)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop and wait for every worker (training stops after its batch), then close the project
        (idempotent)."""
        self.pool.await_workers(60_000)
        self.projects.close_project()


def _dropped_folder(event: Any) -> Path | None:
    mime = event.mimeData()
    if not mime.hasUrls():
        return None
    for url in mime.urls():
        path = Path(url.toLocalFile())
        if url.isLocalFile() and path.is_dir():
            return path
    return None
