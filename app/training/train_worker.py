"""Runs ``engine.train.fit`` on its own QThread and reports through queued signals.

The worker is the only place the Train panel touches torch: ``torch`` and ``engine.train`` are imported
inside :meth:`TrainWorker.run`, on the worker's thread, so opening the window never pays for them.
``fit``'s ``on_event`` callback only emits; cancel sets a ``threading.Event`` that ``should_stop``
reads every batch, so a cancel takes effect within one batch and nothing ever waits on the GUI thread.
``done`` is emitted exactly once per run with a :class:`TrainOutcome`, whatever happened (finished,
cancelled, failed), and failures carry one line a user can act on (NaN loss, out of memory, no GPU).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from engine.errors import RetinaLabError
from engine.types import Annotations, TrainConfig, TrainEvent

log = logging.getLogger(__name__)

OutcomeStatus = Literal["finished", "cancelled", "failed"]
FitFn = Callable[..., Any]  # engine.train.fit's signature


def default_num_threads() -> int:
    """Cores minus one, so the GUI thread always keeps a core (at least 1)."""
    return max(1, (os.cpu_count() or 2) - 1)


@dataclass(frozen=True)
class TrainJob:
    """One run: the config for ``fit`` plus the snapshot it trains and validates on.

    ``train``/``val`` were taken from the project (and checked) on the GUI thread when Start was
    pressed; the user keeps editing the live project while the worker reads these frozen copies.
    ``evaluate_start`` asks for the current model's validation AP before training ("before"): the
    starting checkpoint, or torchvision's COCO detector of ``coco_arch`` when that is the model in use.
    """

    config: TrainConfig
    train: Annotations | None = None
    val: Annotations | None = None
    evaluate_start: bool = False
    coco_arch: str | None = None


@dataclass(frozen=True)
class TrainOutcome:
    """How a run ended. Checkpoint paths are None when that file was never written."""

    status: OutcomeStatus
    message: str
    out_dir: str
    best_checkpoint: str | None = None
    last_checkpoint: str | None = None
    metrics_before: Mapping[str, Any] = field(default_factory=dict)
    metrics_after: Mapping[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0


def describe_failure(exc: BaseException) -> str:
    """One line naming the cause and the fix, for the panel."""
    text = (str(exc).strip().splitlines() or [""])[0]
    name = type(exc).__name__
    lowered = f"{name} {text}".lower()
    if "out of memory" in lowered or name == "OutOfMemoryError":
        return "The GPU ran out of memory: lower the batch size or the image size, or train on the CPU."
    if isinstance(exc, RetinaLabError):
        return text
    if "nan" in lowered and "loss" in lowered:
        return f"Training diverged ({text}): lower the learning rate."
    return f"{name}: {text or 'unexpected error'}"


def _existing(path: Path) -> str | None:
    return str(path) if path.is_file() else None


class TrainWorker(QObject):
    """Move to a QThread (see :class:`TrainThread`) and call :meth:`run` once."""

    event_received = Signal(object)  # TrainEvent, one per fit event
    log_written = Signal(str)  # a line for the panel's log
    done = Signal(object)  # TrainOutcome, exactly once

    def __init__(self, job: TrainJob, *, fit_fn: FitFn | None = None) -> None:
        super().__init__()
        self.job = job
        self._fit_fn = fit_fn
        self._stop = threading.Event()

    # -- called from the GUI thread ---------------------------------------------------------------
    def cancel(self) -> None:
        """Ask training to stop after the current batch; safe from any thread."""
        self._stop.set()

    def should_stop(self) -> bool:
        return self._stop.is_set()

    # -- runs on the worker thread ---------------------------------------------------------------
    def _on_event(self, event: TrainEvent) -> None:
        self.event_received.emit(event)  # only emit: the GUI does the work

    @Slot()
    def run(self) -> None:
        started = time.perf_counter()
        config = self.job.config
        out_dir = Path(config.out)
        before: Mapping[str, Any] = {}
        try:
            self.log_written.emit(f"Preparing: {config.arch}, {config.epochs} epochs, device {config.device}")
            fit = self._prepare()
            if self.job.evaluate_start and not self._stop.is_set():
                before = self._evaluate_current(config.device)
                self.log_written.emit(f"Starting model: validation AP {before.get('AP', 0.0):.3f}")
            result = fit(config, on_event=self._on_event, should_stop=self.should_stop)
            outcome = self._outcome_from_result(result, before, started)
        except BaseException as exc:  # a failed run must end the thread cleanly, never take the app down
            if not isinstance(exc, (RetinaLabError, MemoryError)):
                log.exception("training failed")
            outcome = TrainOutcome(
                status="failed",
                message=describe_failure(exc),
                out_dir=str(out_dir),
                best_checkpoint=_existing(out_dir / "best.pt"),
                last_checkpoint=_existing(out_dir / "last.pt"),
                metrics_before=before,
                duration_s=time.perf_counter() - started,
            )
            if not isinstance(exc, Exception):
                self.done.emit(outcome)
                raise
        self.done.emit(outcome)

    def _prepare(self) -> FitFn:
        """Imports torch here (worker thread), applies the thread cap, checks the device."""
        import torch

        config = self.job.config
        torch.set_num_threads(config.num_threads or default_num_threads())
        if config.device == "cuda" and not torch.cuda.is_available():
            raise RetinaLabError(
                "CUDA was chosen but no GPU is available on this machine: choose 'auto' or 'cpu'."
            )
        if self.job.train is not None and self.job.val is not None:
            from app.training.data_selection import write_coco_snapshot

            write_coco_snapshot(self.job.train, self.job.val, config.out)
        if self._fit_fn is not None:
            return self._fit_fn
        from engine.train import fit

        return fit

    def _evaluate_current(self, device: str) -> Mapping[str, Any]:
        """The current model's AP on the validation images the run will be scored on ({} if none)."""
        from engine.evaluate import evaluate
        from engine.infer import Detector

        checkpoint, coco_arch = self.job.config.init_checkpoint, self.job.coco_arch
        if self.job.val is None or not (checkpoint or coco_arch):
            return {}
        if checkpoint:
            detector = Detector.from_checkpoint(checkpoint, device=device)
        else:
            detector = Detector.from_pretrained(coco_arch, device=device)
        return dict(evaluate(detector, self.job.val))

    def _outcome_from_result(self, result: Any, before: Mapping[str, Any], started: float) -> TrainOutcome:
        out_dir = Path(self.job.config.out)
        status = str(getattr(result, "status", "finished"))
        message = str(getattr(result, "message", "") or "")
        best = getattr(result, "best_path", None) or _existing(out_dir / "best.pt")
        last = getattr(result, "last_path", None) or _existing(out_dir / "last.pt")
        metrics = dict(getattr(result, "metrics", {}) or {})
        if status not in ("finished", "cancelled", "failed"):
            status = "failed"
        if not message:
            message = {
                "finished": "Training finished.",
                "cancelled": "Training cancelled; the last checkpoint was kept.",
                "failed": "Training failed.",
            }[status]
        return TrainOutcome(
            status=status,  # type: ignore[arg-type]
            message=message,
            out_dir=str(out_dir),
            best_checkpoint=str(best) if best else None,
            last_checkpoint=str(last) if last else None,
            metrics_before=before,
            metrics_after=metrics,
            duration_s=time.perf_counter() - started,
        )


class TrainThread(QThread):
    """The QThread a :class:`TrainWorker` runs on; it quits by itself when the worker is done."""

    def __init__(self, worker: TrainWorker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TrainWorker")
        self.worker = worker
        worker.moveToThread(self)
        self.started.connect(worker.run)
        worker.done.connect(self.quit, Qt.ConnectionType.DirectConnection)  # quits even if the GUI is busy
