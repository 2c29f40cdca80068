"""Opening a folder as a project (in a worker), and running export/import in workers.

``open_folder`` scans and opens the store off the GUI thread; when it returns, the Document, the
file list and the navigator switch to it and the first image is shown. Errors arrive as one line
(``open_failed``) and the previous project stays open. The file list's sort order is stored in the
project (``Project.set_setting``) when the user changes it and restored when the project reopens. Export and import report back through
``task_finished`` / ``task_failed``; after an import the current image's boxes are reloaded.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

from app.controllers.navigator import Navigator
from app.text import plural
from app.widgets.file_list import FileListDock
from app.workers.base import WorkerPool
from app.workers.tasks import SORT_SETTING, OpenedProject, export_worker, import_worker, open_project_worker

if TYPE_CHECKING:
    from app.document import Document
    from engine.project import ExportReport, ImportReport, Project

log = logging.getLogger(__name__)


class ProjectController(QObject):
    project_opened = Signal(object)  # OpenedProject
    open_failed = Signal(str)
    project_closing = Signal(object)  # the Project, still open: last chance to save how it was left
    task_finished = Signal(str, object)  # "export" | "import", report
    task_failed = Signal(str, str)  # "export" | "import", message
    message = Signal(str)
    busy_changed = Signal(bool)

    def __init__(self, pool: WorkerPool, document: Document, file_list: FileListDock, navigator: Navigator,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = pool
        self._document = document
        self._file_list = file_list
        self._navigator = navigator
        self.project: Project | None = None
        self.opening: Path | None = None
        file_list.sort_order_changed.connect(self._on_file_list_sort_order_changed)

    # --- open / close -----------------------------------------------------------------------
    def open_folder(self, folder: str | Path) -> None:
        folder = Path(folder)
        self.opening = folder
        self.message.emit(f"Opening {folder}…")
        self.busy_changed.emit(True)
        worker = open_project_worker(folder)
        worker.returned.connect(self._on_open_returned)
        worker.errored.connect(self._on_open_errored)
        self._pool.start(worker)

    def close_project(self) -> None:
        if self.project is not None:
            self.project_closing.emit(self.project)
        project, self.project = self.project, None
        self._navigator.set_project(None)
        self._document.set_project(None)
        if project is not None:
            try:
                project.close()
            except Exception:  # closing must never stop the app from closing
                log.exception("closing the project failed")

    @Slot(object)
    def _on_open_returned(self, opened: OpenedProject) -> None:
        self.busy_changed.emit(False)
        self.close_project()
        self.project = opened.project
        self.opening = None
        self._document.set_project(opened.project)
        self._navigator.set_project(opened.project)
        self._file_list.set_records(opened.records)
        self._file_list.set_sort_order(opened.sort_order)
        text = f"Opened {opened.project.folder.name}: {plural(len(opened.records), 'image')}"
        if opened.read_only_reason:
            text += f" — read-only ({opened.read_only_reason}); edits are not saved"
        elif not opened.records:
            text += " — no images found in this folder"
        self.message.emit(text)
        self.project_opened.emit(opened)
        if self._navigator.current_id is None:  # app.session may have shown the image last seen
            self._navigator.show_first()

    @Slot(str)
    def _on_file_list_sort_order_changed(self, order: str) -> None:
        if self.project is None or self.project.read_only:
            return
        try:
            self.project.set_setting(SORT_SETTING, order)
        except Exception as exc:  # a view preference: say so, keep working
            self.message.emit(f"Sort order not saved: {exc}")

    @Slot(str)
    def _on_open_errored(self, message: str) -> None:
        self.busy_changed.emit(False)
        self.opening = None
        self.message.emit(f"Could not open the folder: {message}")
        self.open_failed.emit(message)

    # --- export / import --------------------------------------------------------------------
    def export(self, dst: str | Path, fmt: str, *, reviewed_only: bool, with_predictions: bool = False) -> bool:
        """Export the labels; ``with_predictions`` adds the predictions the score slider shows, with scores."""
        if self.project is None:
            self.task_failed.emit("export", "open a folder first")
            return False
        thresh = self._document.score_thresh if with_predictions else None
        worker = export_worker(self.project, Path(dst), fmt, reviewed_only=reviewed_only, include_predictions=thresh)
        worker.returned.connect(self._on_export_returned)
        worker.errored.connect(self._on_export_errored)
        self.message.emit(f"Exporting {fmt.upper()} to {dst}…")
        self._pool.start(worker)
        return True

    def import_labels(self, src: str | Path, fmt: str, *, mark_reviewed: bool = False) -> bool:
        if self.project is None:
            self.task_failed.emit("import", "open a folder first")
            return False
        if self.project.read_only:
            self.task_failed.emit("import", "the project is read-only")
            return False
        worker = import_worker(self.project, Path(src), fmt, mark_reviewed=mark_reviewed)
        worker.returned.connect(self._on_import_returned)
        worker.errored.connect(self._on_import_errored)
        self.message.emit(f"Importing {'' if fmt == 'auto' else fmt.upper() + ' '}labels from {src}…")
        self._pool.start(worker)
        return True

    @Slot(object)
    def _on_export_returned(self, report: ExportReport) -> None:
        predictions = report.num_predictions
        also = f" and {plural(predictions, 'prediction')}" if predictions else ""
        self.message.emit(f"Exported {plural(report.num_images, 'image')}, {plural(report.num_boxes, 'label')}{also} "
                          f"to {report.dst}")
        self.task_finished.emit("export", report)

    @Slot(str)
    def _on_export_errored(self, message: str) -> None:
        self.message.emit(f"Export failed: {message}")
        self.task_failed.emit("export", message)

    @Slot(object)
    def _on_import_returned(self, report: ImportReport) -> None:
        if self.project is not None:
            self._file_list.set_records(self.project.images())
            self._document.set_project(self.project)  # reloads the classes the import added
            if self._navigator.current_id is not None:
                self._navigator.show_image(self._navigator.current_id)
        self.message.emit(f"Imported {plural(report.boxes_added, 'box', 'boxes')} on "
                          f"{plural(report.images_matched, 'image')}")
        self.task_finished.emit("import", report)

    @Slot(str)
    def _on_import_errored(self, message: str) -> None:
        self.message.emit(f"Import failed: {message}")
        self.task_failed.emit("import", message)
