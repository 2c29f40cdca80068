"""CameraPickerDialog: choose a camera (found by a quick background probe) or a video file.

The probe (``engine.video.probe_cameras``) runs on a worker thread so the dialog opens at once; the
list fills in when it finishes. ``selected_camera()`` / ``selected_video()`` give the choice after
``exec()`` returns Accepted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QLabel, QListWidget,
                               QListWidgetItem, QPushButton, QVBoxLayout, QWidget)

from app.workers.base import FunctionWorker, WorkerPool
from engine.video import VIDEO_EXTENSIONS, CameraInfo, probe_cameras

VIDEO_FILTER = "Videos (" + " ".join(f"*{ext}" for ext in sorted(VIDEO_EXTENSIONS)) + ");;All files (*)"


def ask_video_file(parent: QWidget | None = None, folder: str = "") -> Path | None:
    """A file dialog for video files; None when cancelled."""
    path, _ = QFileDialog.getOpenFileName(parent, "Open Video File", folder, VIDEO_FILTER)
    return Path(path) if path else None


class CameraPickerDialog(QDialog):
    """Lists cameras found among indices 0..max_index, plus a button to pick a video file instead."""

    def __init__(self, parent: QWidget | None = None, *, max_index: int = 5,
                 probe: Callable[[int], list[CameraInfo]] = probe_cameras) -> None:
        super().__init__(parent)
        self.setObjectName("cameraPicker")
        self.setWindowTitle("Open Camera")
        self._video: Path | None = None
        self.status = QLabel("Looking for cameras…", objectName="cameraPickerStatus")
        self.list = QListWidget(objectName="cameraPickerList")
        self.video_button = QPushButton("Open Video File…", objectName="cameraPickerVideo")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.list)
        layout.addWidget(self.video_button)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.video_button.clicked.connect(self._on_video_clicked)
        self.list.itemDoubleClicked.connect(self._on_item_double_clicked)
        self.list.currentRowChanged.connect(self._on_row_changed)
        self._pool = WorkerPool(self)
        worker = FunctionWorker(lambda report, should_stop: probe(max_index), name="probe cameras")
        worker.returned.connect(self._on_probe_returned)
        worker.errored.connect(self._on_probe_errored)
        self._pool.start(worker)

    def selected_camera(self) -> int | None:
        item = self.list.currentItem()
        return None if self._video is not None or item is None else int(item.data(Qt.ItemDataRole.UserRole))

    def selected_video(self) -> Path | None:
        return self._video

    def set_cameras(self, cameras: list[CameraInfo]) -> None:
        self.list.clear()
        for cam in cameras:
            item = QListWidgetItem(cam.name)
            item.setData(Qt.ItemDataRole.UserRole, cam.index)
            self.list.addItem(item)
        if cameras:
            self.status.setText(f"{len(cameras)} camera(s) found:")
            self.list.setCurrentRow(0)
        else:
            self.status.setText("No camera found (checked devices 0–5). You can open a video file instead.")

    def done(self, result: int) -> None:  # noqa: D401 (Qt override)
        self._pool.await_workers(5000)
        super().done(result)

    @Slot(object)
    def _on_probe_returned(self, cameras: list[CameraInfo]) -> None:
        self.set_cameras(cameras)

    @Slot(str)
    def _on_probe_errored(self, message: str) -> None:
        self.status.setText(f"Could not look for cameras: {message}")

    @Slot(int)
    def _on_row_changed(self, row: int) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(row >= 0)

    @Slot(QListWidgetItem)
    def _on_item_double_clicked(self, item: QListWidgetItem) -> None:
        self.accept()

    @Slot()
    def _on_video_clicked(self) -> None:
        path = ask_video_file(self)
        if path is not None:
            self._video = path
            self.accept()
