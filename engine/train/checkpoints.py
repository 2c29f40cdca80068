"""What a training run keeps on disk: checkpoints for resume and fine-tuning, and ``metrics.json``.

``last.pt`` carries the model plus everything ``--resume`` needs (optimizer, scheduler, AMP scaler,
the epoch and the batch within it, the best AP so far and the per-epoch history) in the checkpoint's
``extra``; ``best.pt`` carries the model alone (smaller, it is what gets shipped). Both are written
atomically by ``engine.checkpoint``. ``init_from_checkpoint`` starts a fine-tune from an existing
model, remapping the class-logit rows by class name when the class lists differ.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn

from engine.errors import CheckpointError
from engine.fsutil import write_text_atomic
from engine.types import TrainConfig

logger = logging.getLogger(__name__)

CLS_WEIGHT = "head.classification_head.cls_logits.weight"
CLS_BIAS = "head.classification_head.cls_logits.bias"


@dataclass
class RunState:
    """Where a run is: the next epoch to train and how many of its batches are already done."""

    epoch: int = 0
    step_in_epoch: int = 0
    global_step: int = 0
    best_ap: float = -1.0
    history: list[dict[str, Any]] = field(default_factory=list)


def plain_config(config: TrainConfig) -> dict[str, Any]:
    """The config as plain lists/dicts/scalars (safe for ``torch.load(weights_only=True)`` and JSON)."""

    def plain(value: Any) -> Any:
        if isinstance(value, dict) or hasattr(value, "items"):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        return str(value)

    return plain(dataclasses.asdict(config))


def save_run_checkpoint(
    path: Path,
    *,
    model: nn.Module,
    config: TrainConfig,
    arch: str,
    class_names: Sequence[str],
    metrics: dict[str, Any] | None,
    state: RunState | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    scaler: Any = None,
) -> Path:
    """Write ``path``; with ``state`` it is a resumable ``last.pt``, without it a model-only file."""
    from engine.checkpoint import save_checkpoint

    extra: dict[str, Any] | None = None
    if state is not None:
        extra = {
            "epoch": state.epoch,
            "step_in_epoch": state.step_in_epoch,
            "global_step": state.global_step,
            "best_ap": state.best_ap,
            "history": state.history,
            "optimizer": optimizer.state_dict() if optimizer is not None else None,
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "scaler": scaler.state_dict() if scaler is not None and scaler.is_enabled() else None,
        }
    return save_checkpoint(
        path, model=model, arch=arch, class_names=list(class_names), image_size=config.image_size,
        alpha=config.alpha, gamma=config.gamma, train_config=plain_config(config), metrics=metrics, extra=extra,
    )


def load_resume_checkpoint(path: Path, *, arch: str, class_names: Sequence[str]) -> Any:
    """Load a ``last.pt`` to resume; ``CheckpointError`` when it is not resumable for this run."""
    from engine.checkpoint import load_checkpoint

    if not path.is_file():
        raise CheckpointError(f"nothing to resume: {path} does not exist")
    ckpt = load_checkpoint(path)
    if ckpt.arch != arch:
        raise CheckpointError(f"cannot resume from {path}: it is a {ckpt.arch} checkpoint, this run trains {arch}")
    if tuple(ckpt.class_names) != tuple(class_names):
        raise CheckpointError(
            f"cannot resume from {path}: its classes ({', '.join(ckpt.class_names)}) "
            f"differ from the data's ({', '.join(class_names)})"
        )
    extra = ckpt.extra or {}
    if extra.get("optimizer") is None or "epoch" not in extra:
        raise CheckpointError(f"cannot resume from {path}: it holds no training state (use it as --init instead)")
    return ckpt


def restore_run(
    ckpt: Any, *, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any, scaler: Any
) -> RunState:
    """Put the model, optimizer, scheduler and scaler back as ``ckpt`` saved them."""
    extra = ckpt.extra
    model.load_state_dict(ckpt.state_dict)
    try:
        optimizer.load_state_dict(extra["optimizer"])
    except (ValueError, KeyError) as exc:
        raise CheckpointError(f"cannot resume: optimizer state does not fit this run ({exc})") from None
    if extra.get("scheduler") is not None:
        scheduler.load_state_dict(extra["scheduler"])
    if extra.get("scaler") is not None and scaler.is_enabled():
        scaler.load_state_dict(extra["scaler"])
    return RunState(
        epoch=int(extra["epoch"]),
        step_in_epoch=int(extra.get("step_in_epoch", 0)),
        global_step=int(extra.get("global_step", 0)),
        best_ap=float(extra.get("best_ap", -1.0)),
        history=list(extra.get("history", [])),
    )


def init_from_checkpoint(model: nn.Module, ckpt: Any, class_names: Sequence[str]) -> int:
    """Load ``ckpt``'s weights into ``model`` (built for ``class_names``); return #classes carried over.

    When the class lists differ, the new class-logit rows start from the freshly built head (prior
    probability 0.01) and rows of classes present in both are copied by name.
    """
    state = dict(ckpt.state_dict)
    non_finite = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if non_finite:
        raise CheckpointError(f"cannot fine-tune from {ckpt.path or 'the checkpoint'}: {len(non_finite)} of its "
                              f"tensors hold NaN/inf (e.g. {non_finite[0]}); it is not a usable model")
    old_names = list(ckpt.class_names)
    carried = len(class_names)
    if old_names != list(class_names) and CLS_WEIGHT in state:
        own = model.state_dict()
        new_w, new_b = own[CLS_WEIGHT].clone(), own[CLS_BIAS].clone()
        old_w, old_b = state[CLS_WEIGHT], state[CLS_BIAS]
        num_anchors = model.head.classification_head.num_anchors
        k_new, k_old = len(class_names), old_w.shape[0] // num_anchors
        carried = 0
        if k_old == len(old_names):
            for j, name in enumerate(class_names):
                if name in old_names:
                    i = old_names.index(name)
                    for a in range(num_anchors):
                        new_w[a * k_new + j] = old_w[a * k_old + i]
                        new_b[a * k_new + j] = old_b[a * k_old + i]
                    carried += 1
        state[CLS_WEIGHT], state[CLS_BIAS] = new_w, new_b
    own_shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    wrong = [k for k, v in state.items() if k in own_shapes and tuple(v.shape) != own_shapes[k]]
    if wrong:
        raise CheckpointError(
            f"{ckpt.path or 'checkpoint'} does not fit the {ckpt.arch} model: {len(wrong)} tensors have the wrong "
            f"shape (e.g. {wrong[0]}: {tuple(state[wrong[0]].shape)}, expected {own_shapes[wrong[0]]})")
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise CheckpointError(
            f"checkpoint does not fit the {ckpt.arch} model: {len(missing)} missing, {len(unexpected)} unexpected weights"
        )
    return carried


def write_metrics_json(
    path: Path, *, config: TrainConfig, class_names: Sequence[str], state: RunState, world_size: int = 1
) -> None:
    """``metrics.json``: the config, classes, per-epoch losses and AP, and the best epoch (atomic)."""
    best = max(state.history, key=lambda e: e.get("AP", -1.0), default=None)
    doc = {
        "class_names": list(class_names),
        "world_size": world_size,
        "config": plain_config(config),
        "epochs": state.history,
        "best": {"epoch": best["epoch"], "AP": best.get("AP"), "AP50": best.get("AP50")} if best else None,
    }
    write_text_atomic(path, json.dumps(doc, indent=1))
