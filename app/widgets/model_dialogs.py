"""Model menu dialogs: downloading pretrained weights (COCO, or the ImageNet backbone for the Train
panel), and the Detect All progress.

``DownloadDialog`` runs ``engine.weights.download_weights`` in a worker and shows bytes done, total
size and a Cancel button; already cached weights finish at once; offline (or any failure) leaves the
dialog open with the one-line reason. ``BatchProgressDialog`` shows Detect All's progress and ETA
and cancels it through the model controller.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from app.text import plural
from app.workers.base import Cancelled, FunctionWorker, ProgressFn, StopFn, WorkerPool

MB = 1024 * 1024
_WEIGHTS_NAMES = {"coco": "COCO weights", "imagenet": "ImageNet backbone weights"}


def format_eta(seconds: float) -> str:
    if seconds < 0:
        return "estimating…"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _download_job(arch: str, pretrained: str) -> Any:
    def job(report: ProgressFn, should_stop: StopFn) -> str:
        from engine import weights  # a download blocks: worker thread only

        try:
            path = weights.download_weights(arch, pretrained, progress=lambda d, t: report(d, t, ""),
                                            should_stop=should_stop)
        except weights.DownloadCancelled:
            raise Cancelled from None
        return str(path)

    return job


class DownloadDialog(QDialog):
    """Fetch the ``pretrained`` ("coco" or "imagenet") weights for ``arch``; ``weights_ready(arch, title)``
    once they are on disk."""

    weights_ready = Signal(str, str)
    failed = Signal(str)

    def __init__(self, pool: WorkerPool, arch: str, title: str, parent: QWidget | None = None, *,
                 pretrained: str = "coco") -> None:
        super().__init__(parent)
        self.setObjectName("download_dialog")
        self.setWindowTitle(f"Download {title}")
        self.setMinimumWidth(460)
        self._pool = pool
        self.arch, self.title, self.pretrained = arch, title, pretrained
        self._what = f"the {_WEIGHTS_NAMES.get(pretrained, pretrained + ' weights')} of {title}"
        self.worker: FunctionWorker | None = None
        self.error: str | None = None
        self.status_label = QLabel(f"Looking for {self._what}…")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail_label = QLabel("")
        self.detail_label.setObjectName("download_detail")
        self.detail_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail_label.hide()
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.size_label = QLabel("")
        self.size_label.setObjectName("download_size")
        self.button = QPushButton("Cancel")
        row = QHBoxLayout()
        row.addWidget(self.size_label, 1)
        row.addWidget(self.button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status_label)
        layout.addWidget(self.detail_label)
        layout.addWidget(self.bar)
        layout.addLayout(row)
        self.button.clicked.connect(self._on_button_clicked)

    def start(self) -> None:
        worker = FunctionWorker(_download_job(self.arch, self.pretrained), name=f"download {self.arch}")
        worker.progressed.connect(self._on_worker_progressed)
        worker.returned.connect(self._on_worker_returned)
        worker.errored.connect(self._on_worker_errored)
        worker.finished.connect(self._on_worker_finished)
        self.worker = worker
        self._pool.start(worker)

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.abort()
            self.status_label.setText("Cancelling…")

    @Slot(int, int, str)
    def _on_worker_progressed(self, done: int, total: int, _message: str) -> None:
        self.status_label.setText(f"Downloading {self._what}…")
        if total > 0:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * done / total))
            self.size_label.setText(f"{done / MB:.1f} of {total / MB:.1f} MB")
        else:
            self.size_label.setText(f"{done / MB:.1f} MB")

    @Slot(object)
    def _on_worker_returned(self, path: str) -> None:
        self.weights_ready.emit(self.arch, self.title)
        self.accept()

    @Slot(str)
    def _on_worker_errored(self, message: str) -> None:
        self.error = message
        # the sentence wraps; a URL and a cache path cannot: they get lines of their own, unwrapped, and
        # the dialog grows to show them whole
        match = re.search(r"^(.*): download (\S+) and save it as (\S+)$", message)
        sentence, url, path = match.groups() if match else (message, "", "")
        self.status_label.setText(f"Cannot get the weights: {sentence}.")
        self.status_label.setStyleSheet("color: #c62828")
        if url:
            self.detail_label.setText(f"Download\n    {url}\nand save it as\n    {path}")
            self.detail_label.show()
            margins = self.layout().contentsMargins()
            self.setMinimumWidth(self.detail_label.sizeHint().width() + margins.left() + margins.right())
        self.bar.hide()  # no 0 % bar left standing under an error
        self.size_label.setText("")
        self.adjustSize()
        self.failed.emit(message)

    @Slot()
    def _on_worker_finished(self) -> None:
        self.worker = None
        self.button.setText("Close")
        if self.error is None and not self.isVisible():
            return
        if self.error is None and self.result() != QDialog.DialogCode.Accepted:
            self.status_label.setText("Download cancelled.")

    @Slot()
    def _on_button_clicked(self) -> None:
        if self.worker is not None:
            self.cancel()
        else:
            self.reject()


class BatchProgressDialog(QDialog):
    """Detect All: images done of total, ETA, Cancel (calls ``controller.cancel_batch``)."""

    def __init__(self, controller: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("batch_dialog")
        self.setWindowTitle("Detect All")
        self.setMinimumWidth(380)
        self._controller = controller
        self.label = QLabel("Starting…")
        self.bar = QProgressBar()
        self.button = QPushButton("Cancel")
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignRight)
        self.button.clicked.connect(self._on_button_clicked)
        controller.batch_started.connect(self.on_started)
        controller.batch_progressed.connect(self.on_progressed)
        controller.batch_finished.connect(self.on_finished)
        self._running = False

    @Slot(int)
    def on_started(self, total: int) -> None:
        self._running = True
        self.bar.setRange(0, total)
        self.bar.setValue(0)
        self.button.setText("Cancel")
        self.label.setText(f"Detecting on {plural(total, 'image')}…")
        self.show()

    @Slot(int, int, float)
    def on_progressed(self, done: int, total: int, eta_s: float) -> None:
        self.bar.setValue(done)
        self.label.setText(f"{done} / {total} images · ETA {format_eta(eta_s)}")

    @Slot(int, int, bool)
    def on_finished(self, done: int, failed: int, cancelled: bool) -> None:
        self._running = False
        self.button.setText("Close")
        extra = f" ({failed} unreadable)" if failed else ""
        self.label.setText(("Cancelled after " if cancelled else "Done: ") + f"{plural(done, 'image')}{extra}")

    @Slot()
    def _on_button_clicked(self) -> None:
        if self._running:
            self._controller.cancel_batch()
            self.label.setText("Cancelling after the current image…")
        else:
            self.hide()
