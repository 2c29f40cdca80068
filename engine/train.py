"""``fit``: train or fine-tune a RetinaNet from a ``TrainConfig``, reporting through ``TrainEvent``s.

The run: prepare the data (``engine.dataset``), build the model (from scratch, pretrained weights or
an ``init_checkpoint``), optionally restore a ``last.pt`` (``resume``), then train epoch by epoch
(``engine.train_loop.TrainStep``), validating with COCO mAP after each epoch and writing ``last.pt``,
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
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal, Mapping

import numpy as np
import torch

from engine.device import resolve_device
from engine.errors import RetinaLabError
from engine.types import TrainConfig, TrainEvent

logger = logging.getLogger(__name__)

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


class _Cancelled(Exception):
    pass


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
    return _Run(config, on_event, should_stop).execute()


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class _Run:
    def __init__(self, config: TrainConfig, on_event: Callable[[TrainEvent], None], should_stop: Callable[[], bool]):
        self.config = config
        self._on_event, self._should_stop = on_event, should_stop
        self.out = Path(config.out)
        self.last_path, self.best_path = self.out / "last.pt", self.out / "best.pt"
        self.images_skipped = 0
        self.best_metrics: dict[str, Any] = {}
        self.dist: Any = None
        self.state: Any = None

    # -- events -------------------------------------------------------------------------------
    def emit(self, kind: str, **fields: Any) -> None:
        if self.dist is None or self.dist.is_main:
            self._on_event(TrainEvent(kind=kind, num_epochs=self.config.epochs,  # type: ignore[arg-type]
                                      images_skipped=self.images_skipped, **fields))

    def result(self, status: TrainStatus, message: str = "", *, bad_input: bool = False) -> TrainResult:
        history = tuple(self.state.history) if self.state is not None else ()
        return TrainResult(
            status=status,
            out_dir=str(self.out),
            last_path=str(self.last_path) if self.last_path.is_file() else None,
            best_path=str(self.best_path) if self.best_path.is_file() else None,
            metrics=dict(self.best_metrics),
            history=history,
            epochs_completed=self.state.epoch if self.state is not None else 0,
            message=message,
            bad_input=bad_input,
        )

    # -- the run ------------------------------------------------------------------------------
    def execute(self) -> TrainResult:
        from engine.train_loop import NonFiniteLossError

        try:
            self.setup()
            self.train()
            message = f"finished {self.config.epochs} epochs; best AP {self.best_metrics.get('AP', 0.0):.4f}"
            self.emit("finished", epoch=self.state.epoch, step=self.state.global_step, total_steps=self.total_steps,
                      metrics=dict(self.best_metrics), message=message, path=str(self.best_path))
            return self.result("finished", message)
        except _Cancelled:
            message = f"cancelled at epoch {self.state.epoch + 1}, step {self.state.global_step}; last.pt kept"
            self.emit("cancelled", epoch=self.state.epoch + 1, step=self.state.global_step,
                      total_steps=self.total_steps, message=message, path=str(self.last_path))
            return self.result("cancelled", message)
        except NonFiniteLossError as exc:
            self.emit("failed", message=str(exc))
            return self.result("failed", str(exc))
        except RetinaLabError as exc:
            self.emit("failed", message=str(exc))
            return self.result("failed", str(exc), bad_input=True)
        except OSError as exc:  # the output folder's disk filled up, or went away
            message = f"cannot write {exc.filename or self.out}: {exc.strerror or exc}"
            self.emit("failed", message=message)
            return self.result("failed", message, bad_input=True)
        except Exception as exc:
            self.emit("failed", message=f"internal error: {type(exc).__name__}: {exc}")
            raise
        finally:
            if self.dist is not None:
                self.dist.close()

    def setup(self) -> None:
        from engine.dataset import DetectionDataset, EpochSampler, collate_detections, prepare_data
        from engine.models import build_model
        from engine.train_distributed import DistContext
        from engine.train_loop import TrainStep
        from engine.train_schedule import (SMALL_BATCH, build_optimizer, build_scheduler, check_config,
                                           freeze_backbone, frozen_batchnorms)
        from engine.train_state import RunState, init_from_checkpoint, load_resume_checkpoint, restore_run
        from engine.transforms import train_transforms

        cfg = self.config
        check_config(cfg)
        device = resolve_device(cfg.device)
        self.dist = DistContext.from_env(device)
        self.device = self.dist.device_for(device)
        if cfg.num_threads:
            torch.set_num_threads(int(cfg.num_threads))
        elif self.dist.distributed and self.device.type == "cpu":
            per_node = int(os.environ.get("LOCAL_WORLD_SIZE", self.dist.world_size))
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // per_node))
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RetinaLabError(f"cannot create output folder {self.out}: {exc.strerror or exc}") from None
        if self.dist.is_main:  # half-written checkpoints of a run killed while saving
            from engine.checkpoint import remove_stale_temporaries

            for leftover in remove_stale_temporaries(self.out):
                logger.info("removed %s, left by an interrupted save", leftover)

        data = prepare_data(cfg)
        self.data, self.class_names = data, data.class_names
        _seed_everything(cfg.seed)
        init_ckpt = None
        self.arch = cfg.arch
        pretrained = cfg.pretrained
        if cfg.init_checkpoint:
            from engine.checkpoint import load_checkpoint

            init_ckpt = load_checkpoint(Path(cfg.init_checkpoint))
            self.arch, pretrained = init_ckpt.arch, "none"
        resume_ckpt = None
        if cfg.resume or cfg.resume_from:  # checked before anything slow: a wrong file fails at once
            path = Path(cfg.resume_from) if cfg.resume_from else self.last_path
            resume_ckpt = load_resume_checkpoint(path, arch=self.arch, class_names=self.class_names)
        model = build_model(self.arch, len(self.class_names), pretrained=pretrained, alpha=cfg.alpha,
                            gamma=cfg.gamma, image_size=cfg.image_size)
        if init_ckpt is not None:
            carried = init_from_checkpoint(model, init_ckpt, self.class_names)
            logger.info("initialised from %s (%d of %d classes carried over)",
                        cfg.init_checkpoint, carried, len(self.class_names))
        hard_negatives = cfg.hard_negative_weight != 1.0 and hasattr(model, "hard_negative_weight")
        if hard_negatives:
            model.hard_negative_weight = float(cfg.hard_negative_weight)
        self.frozen = []
        if (pretrained != "none" or init_ckpt is not None) and cfg.batch_size < SMALL_BATCH:
            self.frozen = frozen_batchnorms(model)
        if cfg.freeze_backbone:
            freeze_backbone(model)
            body = getattr(model.backbone, "body", model.backbone)
            self.frozen += [m for m in frozen_batchnorms(body) if m not in self.frozen]
        model.to(self.device)
        if self.device.type == "cuda":
            model.to(memory_format=torch.channels_last)

        dataset = DetectionDataset(data.train, self.class_names, train_transforms(
            cfg.image_size, scale_range=(0.6, 1.4) if cfg.augment else (1.0, 1.0), photometric=cfg.augment),
            image_size=cfg.image_size)
        self.sampler = EpochSampler(len(dataset), seed=cfg.seed, rank=self.dist.rank, world_size=self.dist.world_size)
        self.steps_per_epoch = math.ceil(len(self.sampler) / cfg.batch_size)
        self.total_steps = self.steps_per_epoch * cfg.epochs
        optimizer = build_optimizer(model, cfg)
        scheduler = build_scheduler(optimizer, cfg, self.total_steps)
        self.step = TrainStep(model, optimizer, scheduler, device=self.device, amp=cfg.amp,
                              grad_clip=cfg.grad_clip, max_bad_steps=cfg.max_bad_steps,
                              hard_negatives=hard_negatives)
        self.state = RunState()
        if resume_ckpt is not None:
            self.state = restore_run(resume_ckpt, model=model, optimizer=optimizer, scheduler=scheduler,
                                     scaler=self.step.scaler)
            self.best_metrics = dict(max(self.state.history, key=lambda e: e.get("AP", -1.0), default={}))
        self.plain_model = model
        self.model = self.dist.wrap(model, self.device)
        self.step.model = self.model
        self.loader = torch.utils.data.DataLoader(
            dataset, batch_size=cfg.batch_size, sampler=self.sampler, collate_fn=collate_detections,
            num_workers=cfg.num_workers, persistent_workers=cfg.num_workers > 0,
            pin_memory=self.device.type == "cuda",
        )
        dropped = data.num_dropped_boxes
        message = (f"training on {len(data.train.images)} images ({data.train.num_boxes} boxes), validating on "
                   f"{len(data.val.images)}; {len(self.class_names)} classes")
        if dropped or data.num_unknown_boxes:
            message += f"; dropped {dropped} degenerate and {data.num_unknown_boxes} unknown-class boxes"
        self.emit("train_started", epoch=self.state.epoch + 1, step=self.state.global_step,
                  total_steps=self.total_steps, message=message, metrics={
                      "num_train_images": len(data.train.images), "num_val_images": len(data.val.images),
                      "num_train_boxes": data.train.num_boxes, "num_dropped_boxes": dropped,
                      "num_unknown_boxes": data.num_unknown_boxes, "class_names": list(self.class_names),
                      "arch": self.arch, "device": str(self.device), "world_size": self.dist.world_size,
                      "resumed": bool(cfg.resume or cfg.resume_from), "warnings": list(data.warnings),
                  })

    def train(self) -> None:
        from engine.train_schedule import set_train_mode

        cfg, state = self.config, self.state
        step_time: float | None = None
        images_per_s = 0.0
        for epoch in range(state.epoch, cfg.epochs):
            skip = state.step_in_epoch
            self.sampler.set_epoch(epoch, skip=skip * cfg.batch_size)
            # augmentation randomness depends only on (seed, epoch, resume point, rank): resumable
            torch.manual_seed(cfg.seed * 1_000_003 + epoch * 1009 + skip * 7 + self.dist.rank)
            set_train_mode(self.model, self.frozen)
            sums = {"classification": 0.0, "bbox_regression": 0.0, "total": 0.0}
            counted = 0
            epoch_start = time.perf_counter()
            tick = time.perf_counter()
            for images, targets, num_failed in self.loader:
                self._check_stop()
                self.images_skipped += num_failed
                if images:
                    losses = self.step(images, targets)
                    if not losses["skipped"]:
                        counted += 1
                        for key in sums:
                            sums[key] += losses[key]
                else:  # every image of the batch failed to load: the scheduler still advances
                    losses = {}
                    self.step.scheduler.step()
                state.global_step += 1
                state.step_in_epoch += 1
                now = time.perf_counter()
                dt, tick = now - tick, now
                step_time = dt if step_time is None else 0.9 * step_time + 0.1 * dt
                images_per_s = len(images) * self.dist.world_size / max(step_time, 1e-9)
                remaining = self.total_steps - state.global_step
                self.emit("batch_end", epoch=epoch + 1, step=state.global_step, total_steps=self.total_steps,
                          losses={k: v for k, v in losses.items() if k != "skipped"},
                          lr=self.step.scheduler.get_last_lr()[0], images_per_s=images_per_s,
                          eta_s=remaining * step_time)
            self._check_stop()
            if counted == 0 and self.step.num_skipped:
                from engine.train_loop import NonFiniteLossError
  # shorter than the NaN guard's window
                raise NonFiniteLossError(f"every step of epoch {epoch + 1} had a NaN/inf loss or gradient; "
                                         "nothing was learned; try a lower learning rate (--lr)")
            averages = {k: v / max(1, counted) for k, v in sums.items()}
            state.epoch, state.step_in_epoch = epoch + 1, 0
            self.end_epoch(epoch, averages, time.perf_counter() - epoch_start)

    def _check_stop(self) -> None:
        if self.dist.agree(bool(self._should_stop()), self.device):
            self.check_weights()
            if self.dist.is_main:
                self.save_last(metrics=None)
            self.dist.barrier()
            raise _Cancelled()

    def end_epoch(self, epoch: int, losses: dict[str, float], seconds: float) -> None:
        from engine.train_state import save_run_checkpoint, write_metrics_json

        cfg, state = self.config, self.state
        validate = (epoch + 1) % max(1, cfg.val_every) == 0 or epoch + 1 == cfg.epochs
        metrics: dict[str, Any] = {}
        self.check_weights()  # every rank: they hold the same weights, so all stop together
        if validate and self.dist.is_main:
            metrics = self.validate()
        entry = {"epoch": epoch + 1, **losses, "lr": self.step.scheduler.get_last_lr()[0],
                 "time_s": round(seconds, 3), "images_skipped": self.images_skipped, **metrics}
        state.history.append(entry)
        improved = bool(metrics) and metrics["AP"] > state.best_ap
        if improved:
            state.best_ap = metrics["AP"]
            self.best_metrics = dict(entry)
        if self.dist.is_main:
            self.emit("epoch_end", epoch=epoch + 1, step=state.global_step, total_steps=self.total_steps,
                      losses=losses, lr=entry["lr"], metrics=metrics,
                      message=f"epoch {epoch + 1}/{cfg.epochs}" + (f" AP {metrics['AP']:.4f}" if metrics else ""))
            if validate:  # last.pt at every validation epoch (and on cancel): resume never loses more
                self.save_last(metrics=metrics or None)
            if improved:
                save_run_checkpoint(self.best_path, model=self.plain_model, config=cfg, arch=self.arch,
                                    class_names=self.class_names, metrics=metrics)
                self.emit("checkpoint_saved", epoch=epoch + 1, step=state.global_step, total_steps=self.total_steps,
                          path=str(self.best_path), message="best", metrics=metrics)
            write_metrics_json(self.out / "metrics.json", config=cfg, class_names=self.class_names, state=state,
                               world_size=self.dist.world_size)
        self.dist.barrier()

    def check_weights(self) -> None:
        """Refuse to save (or validate) a model whose weights became NaN/inf: it would detect nothing."""
        from engine.train_loop import NonFiniteLossError
        from engine.train_schedule import non_finite_parameters

        bad = non_finite_parameters(self.plain_model)
        if bad:
            raise NonFiniteLossError(f"the model's weights became NaN/inf ({len(bad)} tensors, e.g. {bad[0]}); "
                                     "nothing was saved; try a lower learning rate (--lr)")

    def save_last(self, metrics: dict[str, Any] | None) -> None:
        from engine.train_state import save_run_checkpoint

        self.check_weights()

        save_run_checkpoint(self.last_path, model=self.plain_model, config=self.config, arch=self.arch,
                            class_names=self.class_names, metrics=metrics, state=self.state,
                            optimizer=self.step.optimizer, scheduler=self.step.scheduler, scaler=self.step.scaler)
        self.emit("checkpoint_saved", epoch=self.state.epoch, step=self.state.global_step,
                  total_steps=self.total_steps, path=str(self.last_path), message="last")

    def validate(self) -> dict[str, Any]:
        from engine.evaluate import evaluate_detections
        from engine.train_loop import predict_dataset
        from engine.train_schedule import set_train_mode

        self.plain_model.eval()
        try:
            detections, failed = predict_dataset(self.plain_model, self.data.val, self.class_names,
                                                 image_size=self.config.image_size, device=self.device,
                                                 batch_size=max(1, self.config.batch_size))
        finally:
            set_train_mode(self.model, self.frozen)
        self.images_skipped += failed
        return evaluate_detections(self.data.val, detections)


def config_replace(config: TrainConfig, **changes: Any) -> TrainConfig:
    """``dataclasses.replace`` for a ``TrainConfig`` (a convenience for callers building variants)."""
    return dataclasses.replace(config, **changes)
