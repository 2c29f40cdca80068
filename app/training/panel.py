"""The Train dock: pick data and settings, start a fine-tune, watch it, use the result.

``TrainingPanel`` composes the options form, the progress view (charts, log) and the model history,
and runs one :class:`TrainWorker` at a time through the window's ``WorkerPool``. Start takes a
snapshot of the project on the GUI thread (one SQLite read) and checks it (``app.training.jobs``
builds the run); too little data is refused with one sentence before any thread starts. Everything
the worker reports arrives through queued signals, so the GUI thread never waits on training. Cancel
(``abort``) stops after the current batch and keeps ``last.pt``; Resume continues that run.
Fine-tuning starts from the model on screen (a checkpoint, the demo model, or torchvision's COCO
detector), and "before" is that model's AP on the same validation images as "after"; when the new
model scores lower the panel says so, and "Use this model" asks first (``app.training.verdict``
words how a run ended). A finished model is recorded in the project's model history; "Use this
model" emits ``model_chosen(path)`` for the app's model worker to hot-swap the detector.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.training import jobs
from app.training.model_history import ModelHistoryWidget, history_metrics
from app.training.options import TrainOptionsForm
from app.training.progress_view import ProgressView
from app.training.verdict import ask_use_worse_model, before_after, how_it_ended, worse_than_before
from app.training.train_worker import FitFn, TrainJob, TrainOutcome, TrainWorker
from app.workers.base import WorkerPool
from engine.start import StartChoice
from engine.types import TrainEvent

log = logging.getLogger(__name__)
_ERROR_STYLE = "color: #b00020;"


class TrainingPanel(QDockWidget):
    """The dock widget (objectName ``training_panel``); see the module docstring."""

    training_started = Signal()
    training_finished = Signal(object)  # TrainOutcome
    training_refused = Signal(str)
    event_received = Signal(object)  # every TrainEvent of the running job, on the GUI thread
    model_chosen = Signal(str)  # checkpoint path to hot-swap in

    def __init__(self, document: Any = None, parent: QWidget | None = None, *, fit_fn: FitFn | None = None,
                 pool: WorkerPool | None = None):
        super().__init__("Train", parent)
        self.setObjectName("training_panel")
        self._document = document
        self._project: Any = None
        self.fit_fn = fit_fn  # None: engine.train.fit (tests put a stand-in here)
        self._pool = pool or WorkerPool(self)  # the window's: it awaits the run when the window closes
        self._worker: TrainWorker | None = None
        self._last_job: TrainJob | None = None
        self._outcome: TrainOutcome | None = None
        self._current_model: str | None = None
        self._current_coco_arch: str | None = None
        self.confirm_worse: Any = ask_use_worse_model  # (parent, text) -> bool; tests replace it
        self._metrics_before: dict[str, Any] = {}
        self._build()
        self._summary_timer = QTimer(self)
        self._summary_timer.setSingleShot(True)
        self._summary_timer.setInterval(400)
        self._summary_timer.timeout.connect(self.refresh)
        self.options_form.options_changed.connect(self.update_start)
        if document is not None:
            for name in ("image_changed", "status_changed", "boxes_changed"):
                signal = getattr(document, name, None)
                if signal is not None:
                    signal.connect(self._on_document_changed)
        self._update_buttons()

    # -- layout ----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.options_form = TrainOptionsForm()
        self.summary = QLabel("Open a project to train on its reviewed images.")
        self.summary.setObjectName("train_summary")
        self.summary.setWordWrap(True)
        self.mark_val = QPushButton("Validate on the current image")
        self.mark_val.setObjectName("mark_val_button")
        self.mark_val.setCheckable(True)
        self.mark_val.setToolTip("Mark the current image for validation (used with 'Images I marked')")
        self.mark_val.toggled.connect(self._on_mark_val_toggled)
        setup = QWidget()
        setup_layout = QVBoxLayout(setup)
        setup_layout.addWidget(self.summary)
        setup_layout.addWidget(self.mark_val)
        setup_layout.addWidget(self.options_form, 1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(setup)
        self.progress_view = ProgressView()
        self.history = ModelHistoryWidget()
        self.history.model_chosen.connect(self._on_history_model_chosen)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("train_tabs")
        self.tabs.addTab(scroll, "Setup")
        progress_scroll = QScrollArea()  # on a 768-px-high screen the charts scroll rather than push the window
        progress_scroll.setWidgetResizable(True)
        progress_scroll.setWidget(self.progress_view)
        self._progress_tab = progress_scroll
        self.tabs.addTab(progress_scroll, "Progress")
        self.tabs.addTab(self.history, "Models")

        self.message = QLabel()
        self.message.setObjectName("train_message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result = QLabel()
        self.result.setObjectName("train_result")
        self.result.setWordWrap(True)
        self.start_button = QPushButton("Start training")
        self.start_button.setObjectName("start_button")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancel_button")
        self.cancel_button.clicked.connect(self.abort)
        self.resume_button = QPushButton("Resume")
        self.resume_button.setObjectName("resume_button")
        self.resume_button.clicked.connect(self.resume)
        self.use_button = QPushButton("Use this model")
        self.use_button.setObjectName("use_model_button")
        self.use_button.clicked.connect(self.use_trained_model)
        buttons = QHBoxLayout()
        for button in (self.start_button, self.cancel_button, self.resume_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.use_button)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.result)
        layout.addLayout(buttons)
        self.setWidget(body)

    # -- project and current model ---------------------------------------------------------------
    def project(self) -> Any:
        """The project being labelled: the document's, or one given with :meth:`set_project`."""
        if self._document is not None and getattr(self._document, "project", None) is not None:
            return self._document.project
        return self._project

    def set_project(self, project: Any) -> None:
        self._project = project
        self.refresh()

    def set_current_model(self, path: str | None, title: str | None = None, *, coco_arch: str | None = None) -> None:
        """The detector now on screen, which fine-tuning starts from: a checkpoint ``path``, or
        torchvision's COCO detector ``coco_arch`` (path None), or nothing (both None)."""
        self._current_model = path
        self._current_coco_arch = None if path else coco_arch
        self.options_form.set_current_model_available(title or (Path(path).name if path else None))
        self.history.set_current(path)
        self.update_start()

    @Slot()
    def update_start(self) -> StartChoice:
        """Re-resolve the "Starts from" line (the model on screen, the project's classes, the cache)."""
        return self.options_form.start_choice.update_choice(self.options_form.options(), self._current_model,
                                                            self._current_coco_arch, self.project())

    @property
    def current_model(self) -> str | None:
        return self._current_model

    @property
    def is_training(self) -> bool:
        return self._worker is not None

    @property
    def outcome(self) -> TrainOutcome | None:
        """How the last run ended (None before the first one ends)."""
        return self._outcome

    # -- summary ---------------------------------------------------------------------------------
    @Slot()
    def _on_document_changed(self, *args: object) -> None:
        if self.isVisible():
            self._summary_timer.start()

    @Slot()
    def refresh(self) -> None:
        """Re-read what would be trained on, the model history and the current image's mark."""
        project = self.project()
        self.update_start()
        if project is None:
            self.summary.setText("Open a project to train on its reviewed images.")
            self.history.set_models([])
            return
        try:
            train, val, check = jobs.split(project, self.options_form.options())
        except Exception as exc:  # a broken store must not break the panel
            self.summary.setText(f"Cannot read the project: {exc}")
            return
        text = check.summary()
        for warning in train.warnings:  # e.g. reviewed images left out while predictions are pending
            text += f"<br>{warning}"
        if check.problem:
            text += f"<br><span style='{_ERROR_STYLE}'>{check.problem}</span>"
        self.summary.setText(text)
        self.history.set_models(project.models())
        record = getattr(self._document, "record", None)
        self.mark_val.setEnabled(record is not None)
        if record is not None:
            self.mark_val.blockSignals(True)
            self.mark_val.setChecked(record.path in project.validation_marks())
            self.mark_val.blockSignals(False)

    @Slot(bool)
    def _on_mark_val_toggled(self, checked: bool) -> None:
        project, record = self.project(), getattr(self._document, "record", None)
        if project is None or record is None:
            return
        try:
            project.set_validation(record.id, checked)
        except Exception as exc:  # noqa: BLE001 - a read-only or broken store: say so, keep the panel
            self.summary.setText(f"<span style='{_ERROR_STYLE}'>Not saved: {exc}</span>")
            return
        self._summary_timer.start()

    # -- start / cancel / resume -----------------------------------------------------------------
    @Slot()
    def start(self) -> bool:
        """Check the data and start a run; False (with the reason shown) when refused."""
        if self.is_training:
            return False
        project = self.project()
        if project is None:
            return self._refuse("Open a project folder first: training uses its reviewed images.")
        options = self.options_form.options()
        train, val, check = jobs.split(project, options)
        if not check.ok:
            return self._refuse(check.problem or "not enough data")
        out = jobs.new_run_dir(project.folder)
        try:  # the start is resolved again: the cache or the model may have changed since it was shown
            job = jobs.new_job(options, train, val, out, current_model=self._current_model,
                               current_coco_arch=self._current_coco_arch, best_start=self.update_start())
        except ValueError as exc:
            return self._refuse(f"Cannot start: {exc}.")
        self.progress_view.reset()
        self.progress_view.log(f"Training on {check.summary()} → {out}")
        self._launch(job)
        return True

    @Slot()
    def resume(self) -> bool:
        """Continue the last cancelled or failed run from its ``last.pt``."""
        if self.is_training or self._last_job is None or self._outcome is None:
            return False
        if not self._outcome.last_checkpoint:
            return self._refuse("Nothing to resume: the last run saved no checkpoint.")
        job = jobs.resume_job(self._last_job)
        self.progress_view.reset(keep_charts=True)
        self.progress_view.log(f"Resuming {job.config.out}")
        self._launch(job)
        return True

    @Slot()
    def abort(self) -> None:
        """Stop after the current batch; the run keeps its last checkpoint."""
        if self._worker is not None:
            self._worker.abort()
            self.progress_view.status.setText("Stopping after this batch…")
            self.cancel_button.setEnabled(False)

    def _refuse(self, reason: str) -> bool:
        self.message.setStyleSheet(_ERROR_STYLE)
        self.message.setText(reason)
        self.training_refused.emit(reason)
        return False

    def _launch(self, job: TrainJob) -> None:
        self._last_job = job
        self._metrics_before = dict(self._outcome.metrics_before) if job.config.resume and self._outcome else {}
        self._outcome = None
        self.message.setStyleSheet("")
        self.message.setText("Training… you can keep labelling; training reads a snapshot.")
        self.result.clear()
        worker = TrainWorker(job, fit_fn=self.fit_fn)
        # Queued: the worker lives on the training thread, these slots run on the GUI thread.
        worker.event_received.connect(self._on_worker_event)
        worker.log_written.connect(self._on_worker_log)
        worker.done.connect(self._on_worker_done)
        self._worker = worker
        self.tabs.setCurrentWidget(self._progress_tab)
        self._pool.start(worker).finished.connect(self._on_thread_finished)
        self._update_buttons()
        self.training_started.emit()

    # -- worker reports (GUI thread) ---------------------------------------------------------------
    @Slot(object)
    def _on_worker_event(self, event: TrainEvent) -> None:
        self.progress_view.on_event(event)
        self.event_received.emit(event)

    @Slot(str)
    def _on_worker_log(self, text: str) -> None:
        self.progress_view.log(text)

    @Slot(object)
    def _on_worker_done(self, outcome: TrainOutcome) -> None:
        if not outcome.metrics_before and self._metrics_before:
            outcome = dataclasses.replace(outcome, metrics_before=self._metrics_before)
        self._outcome = outcome
        self.progress_view.finish(outcome.message)
        self.progress_view.log(outcome.message)
        self.message.setStyleSheet(_ERROR_STYLE if outcome.status == "failed" else "")
        self.message.setText(how_it_ended(outcome, self.progress_view.images_skipped))
        if outcome.metrics_after:
            text = before_after(outcome)
            worse = worse_than_before(outcome, self._num_val_images())
            self.result.setStyleSheet(_ERROR_STYLE if worse else "")
            self.result.setText(f"{text}<br>{worse}" if worse else text)
        if outcome.status == "finished" and outcome.best_checkpoint:
            self._record_model(outcome)

    def _num_val_images(self) -> int | None:
        val = self._last_job.val if self._last_job is not None else None
        return None if val is None else len(val.images)

    def _record_model(self, outcome: TrainOutcome) -> None:
        project = self.project()
        if project is None or self._last_job is None:
            return
        metrics = history_metrics(outcome.metrics_before, outcome.metrics_after, self._last_job.config)
        try:
            project.add_model(outcome.best_checkpoint, metrics)
            self.history.set_models(project.models())
        except Exception as exc:  # e.g. a read-only project: the checkpoint is still on disk
            self.progress_view.log(f"Could not record the model in the project: {exc}")

    @Slot()
    def _on_thread_finished(self) -> None:
        self._worker = None  # the thread has ended; the pool deletes it and the worker
        self._update_buttons()
        if self._outcome is not None:
            self.training_finished.emit(self._outcome)

    def _update_buttons(self) -> None:
        running = self.is_training
        outcome = self._outcome
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.resume_button.setEnabled(
            not running and outcome is not None and outcome.status != "finished" and bool(outcome.last_checkpoint)
        )
        self.use_button.setEnabled(not running and outcome is not None and bool(outcome.best_checkpoint))
        self.options_form.setEnabled(not running)

    # -- using a model ---------------------------------------------------------------------------
    @Slot()
    def use_trained_model(self) -> None:
        """Hot-swap the detector to the last run's best checkpoint; asks first when it scored worse."""
        outcome = self._outcome
        if outcome is None or not outcome.best_checkpoint:
            return
        worse = worse_than_before(outcome, self._num_val_images())
        if worse and not self.confirm_worse(self, worse):
            return
        self._choose(outcome.best_checkpoint)

    @Slot(str)
    def _on_history_model_chosen(self, path: str) -> None:
        self._choose(path)

    def _choose(self, path: str) -> None:
        if not Path(path).is_file():
            self._refuse(f"The checkpoint is gone: {path}")
            return
        self.set_current_model(path)
        self.message.setStyleSheet("")
        self.message.setText(f"Switching the detector to {Path(path).parent.name}/{Path(path).name}…")
        self.model_chosen.emit(path)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self.refresh()

    # -- closing ---------------------------------------------------------------------------------
    def shutdown(self, timeout_ms: int = 60_000) -> bool:
        """Application exit: stop after this batch and block until the run ended (True if it did).

        The close guard of ``install`` avoids this path for a user's close (it never blocks); in the
        main window the pool awaits the run when the window closes."""
        worker = self._worker
        return worker is None or self._pool.await_worker(worker, timeout_ms)
