"""File › Export and File › Import labels dialogs; the work runs in workers via the project controller.

Both dialogs are thin forms: their public setters (``set_format``, ``set_destination`` /
``set_source``, ``set_reviewed_only``) and ``start()`` are what the buttons call and what tests drive.
The result (or the one-line error) appears in the dialog when the worker reports back.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.text import plural
from engine.types import DATASET_FORMATS


class _TaskDialog(QDialog):
    task = ""

    def __init__(self, controller: Any, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(480)
        self._controller = controller
        self.running = False
        self.result_text = ""
        self.format_combo = QComboBox()
        self.format_combo.setObjectName(f"{self.task}_format")
        self.format_combo.addItems([f.upper() for f in DATASET_FORMATS])
        self.path_edit = QLineEdit()
        self.path_edit.setObjectName(f"{self.task}_path")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._on_browse_clicked)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(browse)
        self.form = QFormLayout()
        self.form.addRow("Format", self.format_combo)
        self.form.addRow(self.path_label(), path_row)
        self.result_label = QLabel("")
        self.result_label.setObjectName(f"{self.task}_result")
        self.result_label.setWordWrap(True)
        self.start_button = QPushButton(title.split()[0])
        self.start_button.setDefault(True)
        close = QPushButton("Close")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.start_button)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.result_label)
        layout.addLayout(buttons)
        self.start_button.clicked.connect(self.start)
        close.clicked.connect(self.reject)
        controller.task_finished.connect(self._on_controller_task_finished)
        controller.task_failed.connect(self._on_controller_task_failed)

    def path_label(self) -> str:
        return "Path"

    def set_format(self, fmt: str) -> None:
        self.format_combo.setCurrentText(fmt.upper())

    def format(self) -> str:
        return self.format_combo.currentText().lower()

    def path(self) -> str:
        return self.path_edit.text().strip()

    def start(self) -> bool:
        if not self.path():
            self._show_result("Choose a path first.", error=True)
            return False
        self.running = self._launch()
        if self.running:
            self.start_button.setEnabled(False)
            self._show_result("Working…")
        return self.running

    def _launch(self) -> bool:
        raise NotImplementedError

    def _describe(self, report: Any) -> str:
        raise NotImplementedError

    def _show_result(self, text: str, *, error: bool = False) -> None:
        self.result_text = text
        self.result_label.setText(text)
        self.result_label.setStyleSheet("color: #c62828" if error else "")

    @Slot(str, object)
    def _on_controller_task_finished(self, task: str, report: Any) -> None:
        if task == self.task and self.running:
            self.running = False
            self.start_button.setEnabled(True)
            text = self._describe(report)
            warnings = list(getattr(report, "warnings", ()))
            if warnings:
                text += f"\n{len(warnings)} warning(s): " + "; ".join(warnings[:3])
            self._show_result(text)

    @Slot(str, str)
    def _on_controller_task_failed(self, task: str, message: str) -> None:
        if task == self.task:
            self.running = False
            self.start_button.setEnabled(True)
            self._show_result(f"Failed: {message}", error=True)

    @Slot()
    def _on_browse_clicked(self) -> None:
        raise NotImplementedError


class ExportDialog(_TaskDialog):
    """Export the project as COCO / VOC / YOLO, all images or reviewed only, to a folder."""

    task = "export"

    def __init__(self, controller: Any, parent: QWidget | None = None) -> None:
        super().__init__(controller, "Export dataset", parent)
        self.setObjectName("export_dialog")
        self.reviewed_check = QCheckBox("Reviewed images only")
        self.reviewed_check.setObjectName("export_reviewed_only")
        self.form.addRow("", self.reviewed_check)
        self.predictions_check = QCheckBox("Also write the predictions the score slider shows, with scores (COCO)")
        self.predictions_check.setObjectName("export_predictions")
        self.predictions_check.setToolTip("Labels are always written; predictions only when this is on, "
                                          "each with its score so it is never mistaken for a label")
        self.form.addRow("", self.predictions_check)

    def path_label(self) -> str:
        return "Destination folder"

    def set_destination(self, path: str) -> None:
        self.path_edit.setText(str(path))

    def set_reviewed_only(self, on: bool) -> None:
        self.reviewed_check.setChecked(on)

    def set_with_predictions(self, on: bool) -> None:
        self.predictions_check.setChecked(on)

    def _launch(self) -> bool:
        return bool(self._controller.export(self.path(), self.format(),
                                            reviewed_only=self.reviewed_check.isChecked(),
                                            with_predictions=self.predictions_check.isChecked()))

    def _describe(self, report: Any) -> str:
        predictions = getattr(report, "num_predictions", 0)
        also = f" and {plural(predictions, 'prediction')} with scores" if predictions else ""
        text = (f"Exported {plural(report.num_images, 'image')} and {plural(report.num_boxes, 'label')}{also} "
                f"({plural(len(report.class_names), 'class', 'classes')}) as {report.format.upper()} to {report.dst}")
        pending = next((w for w in report.warnings if "pending predictions" in w), None)
        return f"{text}. {pending}." if pending else text

    @Slot()
    def _on_browse_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to folder", self.path())
        if folder:
            self.set_destination(folder)


class ImportDialog(_TaskDialog):
    """Import labels (COCO json / VOC folder / YOLO folder, or Auto: told by the files) into the project.

    Boxes overlapping one already there are skipped; imported images stay unreviewed (to be checked with
    the Unreviewed filter and Space) unless "Mark imported images reviewed" is ticked.
    """

    task = "import"

    def __init__(self, controller: Any, parent: QWidget | None = None) -> None:
        super().__init__(controller, "Import labels", parent)
        self.setObjectName("import_dialog")
        self.format_combo.insertItem(0, "AUTO")
        self.format_combo.setCurrentIndex(0)
        self.reviewed_check = QCheckBox("Mark imported images reviewed (they are complete and checked)")
        self.reviewed_check.setObjectName("import_mark_reviewed")
        self.form.addRow("", self.reviewed_check)

    def path_label(self) -> str:
        return "Annotations (file or folder)"

    def set_source(self, path: str) -> None:
        self.path_edit.setText(str(path))

    def _launch(self) -> bool:
        return bool(self._controller.import_labels(self.path(), self.format(),
                                                   mark_reviewed=self.reviewed_check.isChecked()))

    def _describe(self, report: Any) -> str:
        text = (f"Imported {plural(report.boxes_added, 'box', 'boxes')} on "
                f"{plural(report.images_matched, 'image')}")
        if report.boxes_skipped:
            text += f" ({report.boxes_skipped} skipped: already there or empty)"
        if report.boxes_added and not self.reviewed_check.isChecked():
            text += "; the images stay unreviewed: check them with Next Unreviewed (Shift+D) and Space"
        if report.images_unmatched:
            text += f"; {plural(report.images_unmatched, 'image')} not in the project"
        if report.classes_added:
            text += f"; new classes: {', '.join(report.classes_added)}"
        return text

    @Slot()
    def _on_browse_clicked(self) -> None:
        if self.format() == "coco":  # Auto and the folder formats: a folder
            path, _ = QFileDialog.getOpenFileName(self, "COCO annotations", self.path(), "JSON (*.json)")
        else:
            path = QFileDialog.getExistingDirectory(self, "Annotations folder", self.path())
        if path:
            self.set_source(path)
