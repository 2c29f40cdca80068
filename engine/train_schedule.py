"""Optimizer, learning-rate schedule and layer freezing for ``engine.train.fit``.

The schedule is per optimizer step: a linear warmup from 0.1 % of the base learning rate to the base
rate over ``warmup`` steps, then either a half cosine down to 1 % of the base rate at the last step,
or the paper's steps (x0.1 at 2/3 and again at 8/9 of the run). Weight decay is not applied to
biases and normalisation parameters. BatchNorm layers can be frozen (eval mode, no gradient): with a
pretrained backbone and a few images per batch their batch statistics are noise, so the pretrained
running statistics are the better estimate.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from engine.types import TrainConfig

_BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)
SMALL_BATCH = 8  # per device: below this, pretrained BatchNorm statistics are kept frozen


def warmup_steps(config: TrainConfig, total_steps: int) -> int:
    """The configured warmup, capped at a fifth of the run so short runs still train at full rate."""
    return max(0, min(config.warmup_steps, total_steps // 5))


def lr_factor(step: int, *, total_steps: int, warmup: int, schedule: str) -> float:
    """Multiplier of the base learning rate for optimizer step ``step`` (0-based)."""
    if warmup > 0 and step < warmup:
        return 0.001 + (1 - 0.001) * step / warmup
    if schedule == "step":
        if step >= total_steps * 8 // 9:
            return 0.01
        if step >= total_steps * 2 // 3:
            return 0.1
        return 1.0
    span = max(1, total_steps - warmup)
    t = min(1.0, (step - warmup) / span)
    return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * t))


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """SGD with momentum or AdamW over the trainable parameters; no decay on biases and norms."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if param.ndim <= 1 or name.endswith(".bias") else decay).append(param)
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr)
    if config.optimizer != "sgd":
        from engine.errors import RetinaLabError

        raise RetinaLabError(f"unknown optimizer {config.optimizer!r} (use sgd or adamw)")
    return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum)


def build_scheduler(
    optimizer: torch.optim.Optimizer, config: TrainConfig, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-step ``LambdaLR`` following ``lr_factor``; its state_dict holds only the step count."""
    warmup = warmup_steps(config, total_steps)
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: lr_factor(step, total_steps=total_steps, warmup=warmup, schedule=config.schedule),
    )


def freeze_backbone(model: nn.Module) -> int:
    """Stop gradients into the backbone body (the FPN and heads still train); returns #tensors frozen."""
    body = getattr(getattr(model, "backbone", None), "body", None)
    if body is None:
        return 0
    count = 0
    for param in body.parameters():
        if param.requires_grad:
            param.requires_grad_(False)
            count += 1
    return count


def frozen_batchnorms(model: nn.Module) -> list[nn.Module]:
    """Freeze every BatchNorm layer's affine parameters; return them so they can be kept in eval mode."""
    layers = [m for m in model.modules() if isinstance(m, _BN_TYPES)]
    for layer in layers:
        for param in layer.parameters():
            param.requires_grad_(False)
    return layers


def set_train_mode(model: nn.Module, frozen: list[nn.Module]) -> None:
    """``model.train()`` except the frozen BatchNorm layers, which keep their running statistics."""
    model.train()
    for layer in frozen:
        layer.eval()


def check_config(config: TrainConfig) -> None:
    """Refuse numbers no run can use, with one line naming the option (``RetinaLabError``).

    NaN slips through every ``<``/``>`` test, so each float is checked for being finite first; a NaN
    weight decay or learning rate would otherwise train for a whole run and save a NaN model.
    """
    from engine.errors import RetinaLabError

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


def non_finite_parameters(model: nn.Module) -> list[str]:
    """Names of the model's floating-point parameters and buffers holding NaN or inf."""
    bad = []
    for name, tensor in list(model.named_parameters()) + list(model.named_buffers()):
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            bad.append(name)
    return bad
