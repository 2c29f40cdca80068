"""``fit``: train or fine-tune a RetinaNet from a ``TrainConfig``, reporting through ``TrainEvent``s.

The run: prepare the data (``engine.dataset``), build the model (from scratch, pretrained weights or
an ``init_checkpoint``), optionally restore a ``last.pt`` (``resume``), then train epoch by epoch
(``engine.train.step.TrainStep``), validating with COCO mAP after each epoch and writing ``last.pt``,
``best.pt`` (best validation AP) and ``metrics.json`` into ``config.out``. ``should_stop()`` is checked
before every batch; a stop saves ``last.pt`` at that batch so ``resume`` continues the same run.
Bad input (missing data, class mismatch, unusable checkpoint) and repeated NaN/inf losses end with a
``failed`` event and a ``TrainResult`` with ``status="failed"`` rather than an exception. Under
``torchrun`` every rank runs ``fit``; rank 0 alone saves and emits events. The engine never prints.

Events (``TrainEvent.kind``; ``epoch`` is 1-based, ``step`` the 1-based optimizer step of the run):
``train_started`` (``metrics``: image/box counts, dropped boxes, classes, device, world size),
``batch_end`` (``losses``, ``lr``, ``images_per_s``, ``eta_s``), ``epoch_end`` (``losses`` averaged,
``metrics``: AP, AP50, AP75, per_class), ``checkpoint_saved`` (``path``, ``message`` "last" | "best"),
then one of ``finished``, ``cancelled`` (``path`` = last.pt), ``failed`` (``message`` says why).

The package: ``run`` (one run from setup to the last epoch), ``step`` (one optimizer step and the
validation pass), ``optim`` (optimizer, learning-rate schedule, frozen layers), ``checkpoints``
(``last.pt`` / ``best.pt`` / ``metrics.json``), ``distributed`` (torchrun), ``data_check`` (enough
labels? which images validate). Importing ``engine.train`` itself does not import torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping

from engine.errors import RetinaLabError
from engine.types import TrainConfig, TrainEvent

__all__ = ["TrainResult", "TrainStatus", "check_config", "fit"]

TrainStatus = Literal["finished", "cancelled", "failed"]


@dataclass(frozen=True)
class TrainResult:
    """How a run ended. ``metrics`` are the best epoch's validation numbers (empty if none ran)."""

    status: TrainStatus
    out_dir: str
    last_path: str | None = None
    best_path: str | None = None
    metrics: Mapping[str, Any] = field(default_factory=dict)
    history: tuple[Mapping[str, Any], ...] = ()
    epochs_completed: int = 0
    message: str = ""
    bad_input: bool = False  # failed because of the data, config or checkpoint given (CLI exit 2)


def _ignore(event: TrainEvent) -> None:
    pass


def _never() -> bool:
    return False


def fit(
    config: TrainConfig,
    *,
    on_event: Callable[[TrainEvent], None] = _ignore,
    should_stop: Callable[[], bool] = _never,
) -> TrainResult:
    """Train as ``config`` says; blocks until finished, cancelled or failed (see module docstring)."""
    from engine.train.run import TrainingRun

    return TrainingRun(config, on_event, should_stop).execute()


def check_config(config: TrainConfig) -> None:
    """Refuse numbers no run can use, with one line naming the option (``RetinaLabError``).

    NaN slips through every ``<``/``>`` test, so each float is checked for being finite first; a NaN
    weight decay or learning rate would otherwise train for a whole run and save a NaN model.
    """

    def finite(name: str, value: float, *, low: float, low_ok: bool) -> None:
        ok = isinstance(value, (int, float)) and math.isfinite(value) and (value >= low if low_ok else value > low)
        if not ok:
            bound = f">= {low:g}" if low_ok else f"> {low:g}"
            raise RetinaLabError(f"{name} must be a finite number {bound}, got {value!r}")

    finite("learning rate (--lr)", config.lr, low=0.0, low_ok=False)
    finite("weight decay (--weight-decay)", config.weight_decay, low=0.0, low_ok=True)
    finite("momentum", config.momentum, low=0.0, low_ok=True)
    finite("focal loss gamma (--gamma)", config.gamma, low=0.0, low_ok=True)
    finite("gradient clip", config.grad_clip, low=0.0, low_ok=True)
    if not (isinstance(config.alpha, (int, float)) and math.isfinite(config.alpha) and config.alpha < 1):
        raise RetinaLabError(f"focal loss alpha (--alpha) must be a finite number below 1, got {config.alpha!r}")
    for name, value, low in (("epochs (--epochs)", config.epochs, 1),
                             ("batch size (--batch-size)", config.batch_size, 1),
                             ("data-loading workers (--workers)", config.num_workers, 0),
                             ("warmup steps (--warmup-steps)", config.warmup_steps, 0),
                             ("--val-every", config.val_every, 1)):
        if not isinstance(value, int) or value < low:
            raise RetinaLabError(f"{name} must be an integer >= {low}, got {value!r}")
    if config.num_threads is not None and (not isinstance(config.num_threads, int) or config.num_threads < 0):
        raise RetinaLabError(f"--threads must be an integer >= 1 (0: automatic), got {config.num_threads!r}")
    if not (isinstance(config.val_fraction, (int, float)) and 0.0 <= config.val_fraction < 1.0):
        raise RetinaLabError(f"validation fraction must be in [0, 1), got {config.val_fraction!r}")
