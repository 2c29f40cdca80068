"""Runs ``engine.train.fit`` as a :class:`~app.workers.base.Worker` and reports through queued signals.

The worker is the only place the Train panel touches torch: ``torch`` and ``engine.train`` are imported
inside :meth:`TrainWorker.work`, on the worker's thread, so opening the window never pays for them.
``fit``'s ``on_event`` callback only emits; ``abort`` sets the event that ``should_stop`` reads every
batch, so a stop takes effect within one batch and nothing ever waits on the GUI thread. Start it with
``WorkerPool.start``. ``done`` is emitted exactly once per run with a :class:`TrainOutcome`, whatever
happened (finished, aborted, failed), and failures carry one line a user can act on (NaN loss, out of
memory, no GPU).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal

from app.workers.base import Worker
from engine.errors import RetinaLabError
from engine.types import Annotations, TrainConfig, TrainEvent

if TYPE_CHECKING:
    from engine.train import TrainResult, TrainStatus

log = logging.getLogger(__name__)

FitFn = Callable[..., Any]  # engine.train.fit's signature

_DEFAULT_MESSAGES = {
    "finished": "Training finished.",
    "cancelled": "Training cancelled; the last checkpoint was kept.",
    "failed": "Training failed.",
}


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
    """How a run ended: ``fit``'s own result, plus what the panel adds (the starting model's metrics,
    the wall time). A run that failed before or inside ``fit`` carries a ``failed`` result built by the
    worker; checkpoint paths are None when that file was never written."""

    result: TrainResult
    metrics_before: Mapping[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0

    @property
    def status(self) -> TrainStatus:
        return self.result.status

    @property
    def message(self) -> str:
        return self.result.message

    @property
    def best_checkpoint(self) -> str | None:
        return self.result.best_path

    @property
    def last_checkpoint(self) -> str | None:
        return self.result.last_path

    @property
    def metrics_after(self) -> Mapping[str, Any]:
        return self.result.metrics


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


class TrainWorker(Worker):
    """One training run; start it with ``WorkerPool.start``, stop it with ``abort``."""

    event_received = Signal(object)  # TrainEvent, one per fit event
    log_written = Signal(str)  # a line for the panel's log
    done = Signal(object)  # TrainOutcome, exactly once (also when aborted, unlike ``returned``)

    def __init__(self, job: TrainJob, *, fit_fn: FitFn | None = None) -> None:
        super().__init__("TrainWorker")
        self.job = job
        self._fit_fn = fit_fn

    # -- runs on the worker thread ---------------------------------------------------------------
    def _on_event(self, event: TrainEvent) -> None:
        self.event_received.emit(event)  # only emit: the GUI does the work

    def work(self) -> TrainOutcome:
        started = time.perf_counter()
        config = self.job.config
        before: Mapping[str, Any] = {}
        try:
            self.log_written.emit(f"Preparing: {config.arch}, {config.epochs} epochs, device {config.device}")
            fit = self._prepare()
            if self.job.evaluate_start and not self.should_stop():
                before = self._evaluate_current(config.device)
                self.log_written.emit(f"Starting model: validation AP {before.get('AP', 0.0):.3f}")
            result = self._complete(fit(config, on_event=self._on_event, should_stop=self.should_stop))
        except BaseException as exc:  # a failed run must end the thread cleanly, never take the app down
            if not isinstance(exc, (RetinaLabError, MemoryError)):
                log.exception("training failed")
            outcome = TrainOutcome(self._failed(describe_failure(exc)), before, time.perf_counter() - started)
            self.done.emit(outcome)
            if not isinstance(exc, Exception):
                raise
            return outcome
        outcome = TrainOutcome(result, before, time.perf_counter() - started)
        self.done.emit(outcome)
        return outcome

    def _prepare(self) -> FitFn:
        """Imports torch here (worker thread), applies the thread cap, checks the device."""
        import torch

        from engine.device import resolve_device

        config = self.job.config
        torch.set_num_threads(config.num_threads or default_num_threads())
        resolve_device(config.device)  # the engine's one device rule: a clear ModelError before any work
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

    def _complete(self, result: TrainResult | None) -> TrainResult:
        """``fit``'s result with the checkpoints found on disk and a message filled in (a stand-in
        ``fit`` that returns None counts as finished)."""
        from engine.train import TrainResult

        out_dir = Path(self.job.config.out)
        if result is None:
            result = TrainResult(status="finished", out_dir=str(out_dir))
        status = result.status if result.status in _DEFAULT_MESSAGES else "failed"
        return dataclasses.replace(
            result,
            status=status,
            message=result.message or _DEFAULT_MESSAGES[status],
            best_path=str(result.best_path) if result.best_path else _existing(out_dir / "best.pt"),
            last_path=str(result.last_path) if result.last_path else _existing(out_dir / "last.pt"),
        )

    def _failed(self, message: str) -> TrainResult:
        from engine.train import TrainResult

        return self._complete(TrainResult(status="failed", out_dir=self.job.config.out, message=message))
