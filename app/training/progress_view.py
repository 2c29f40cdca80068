"""The running side of the Train panel: progress bar with epoch, step and ETA, live charts, a log.

``ProgressView.on_event`` takes each ``TrainEvent`` the worker emits (queued onto the GUI thread) and
does only cheap work per event: a progress value, one label, and points queued on the charts, which
draw them in batches on their own timer. The log gets lifecycle events and every tenth step.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QProgressBar, QSplitter, QVBoxLayout, QWidget

from app.training.charts import ApChart, LossChart
from engine.types import TrainEvent

LOG_EVERY_STEPS = 10
_LOSS_NAMES = ("classification", "bbox_regression", "total")


def format_eta(seconds: float | None) -> str:
    """``"1:02:03"``, ``"2:03"`` or ``"—"`` when unknown."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "—"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressView(QWidget):
    """Progress bar, status line, loss and AP charts, and the run's log."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("train_progress_view")
        self.progress = QProgressBar()
        self.progress.setObjectName("train_progress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("%p %")
        self.status = QLabel("Not training.")
        self.status.setObjectName("train_status")
        self.loss_chart = LossChart()
        self.ap_chart = ApChart()
        self.log_view = QPlainTextEdit()
        self.log_view.setObjectName("train_log")
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(2000)
        self.log_view.setPlaceholderText("The training log appears here.")
        self.log_view.setMinimumHeight(60)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.loss_chart)
        splitter.addWidget(self.ap_chart)
        splitter.addWidget(self.log_view)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([3000, 2000, 1200])  # proportions: the charts first, the log below
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(splitter, 1)
        self.num_events = 0
        self.images_skipped = 0
        self.last_checkpoint: str | None = None

    def reset(self, *, keep_charts: bool = False) -> None:
        """A new run (``keep_charts`` for a resumed one, whose steps continue the old curves)."""
        if not keep_charts:
            self.loss_chart.clear()
            self.ap_chart.clear()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status.setText("Starting…")
        self.num_events = 0
        self.images_skipped = 0

    def log(self, text: str) -> None:
        self.log_view.appendPlainText(f"{time.strftime('%H:%M:%S')}  {text}")

    def on_event(self, event: TrainEvent) -> None:
        self.num_events += 1
        kind = event.kind
        if kind == "batch_end":
            self._on_batch_end(event)
        elif kind == "epoch_end":
            metrics = event.metrics
            ap = metrics.get("AP")
            if isinstance(ap, (int, float)):
                self.ap_chart.add_point("AP", event.epoch, float(ap))
            ap50 = metrics.get("AP50")
            if isinstance(ap50, (int, float)):
                self.ap_chart.add_point("AP50", event.epoch, float(ap50))
            text = ", ".join(f"{k} {v:.3f}" for k, v in metrics.items() if isinstance(v, (int, float)))
            self.log(f"epoch {event.epoch}/{event.num_epochs} done: {text or 'no validation metrics'}")
            skipped = getattr(event, "images_skipped", 0)
            if skipped > self.images_skipped:
                self.images_skipped = skipped
                self.log(f"{skipped} image(s) could not be read and were skipped (see the file list)")
        elif kind == "train_started":
            self._set_total(event.total_steps)
            self.log(event.message or f"training started: {event.num_epochs} epochs, {event.total_steps} steps")
        elif kind == "checkpoint_saved":
            self.last_checkpoint = event.path
            self.log(f"checkpoint saved: {event.path}")
        # finished / cancelled / failed: the panel logs the run's outcome once it is done

    def _set_total(self, total_steps: int) -> None:
        if total_steps > 0 and self.progress.maximum() != total_steps:
            self.progress.setRange(0, total_steps)

    def _on_batch_end(self, event: TrainEvent) -> None:
        self._set_total(event.total_steps)
        self.progress.setValue(min(event.step, self.progress.maximum()))
        losses = {k: float(v) for k, v in event.losses.items() if k in _LOSS_NAMES}
        self.loss_chart.add_points(event.step, losses)
        total = event.losses.get("total", sum(losses.values()))
        self.status.setText(
            f"Epoch {event.epoch}/{event.num_epochs} · step {event.step}/{event.total_steps} · "
            f"loss {total:.3f} · {event.images_per_s:.1f} img/s · ETA {format_eta(event.eta_s)}"
        )
        if event.step % LOG_EVERY_STEPS == 0 or event.step == 1:
            self.log(f"step {event.step}: loss {total:.4f}, lr {event.lr:.2e}")

    def finish(self, text: str) -> None:
        """The run ended: final status line; charts get their last points now."""
        self.loss_chart.flush()
        self.ap_chart.flush()
        self.status.setText(text)
