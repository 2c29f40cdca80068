"""One training run, from setup to the last epoch: what ``engine.train.fit`` executes.

``TrainingRun.setup`` does everything before the first batch in named steps (config check, device and
torchrun, output folder, data, checkpoints to start from, model, frozen layers, sampler, optimizer and
step, restored state, loader); ``train`` loops over epochs and batches, checking ``should_stop`` before each
batch; ``end_epoch`` validates and writes ``last.pt``, ``best.pt`` and ``metrics.json``. How a run
ends (finished, cancelled, failed) is decided in ``execute``; the events are listed in
``engine/train/__init__.py``.
"""

from __future__ import annotations

import logging
import math
import os
import random
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from engine.checkpoint import Checkpoint, load_checkpoint, remove_stale_temporaries
from engine.dataset import DetectionDataset, EpochSampler, collate_detections, prepare_data
from engine.device import resolve_device
from engine.errors import RetinaLabError
from engine.evaluate import evaluate_detections
from engine.models import build_model
from engine.train import TrainResult, TrainStatus, check_config
from engine.train.checkpoints import (RunState, init_from_checkpoint, load_resume_checkpoint, restore_run,
                                      save_run_checkpoint, write_metrics_json)
from engine.train.distributed import DistContext
from engine.train.optim import (SMALL_BATCH, build_optimizer, build_scheduler, freeze_backbone, frozen_batchnorms,
                                set_train_mode)
from engine.train.step import NonFiniteLossError, TrainStep, non_finite_parameters, predict_dataset
from engine.transforms import train_transforms
from engine.types import TrainConfig, TrainEvent

logger = logging.getLogger(__name__)


class _Cancelled(Exception):
    pass


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class TrainingRun:
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

    # -- setup, step by step: what can fail on bad input fails before anything slow ---------------
    def setup(self) -> None:
        check_config(self.config)
        self.start_device()
        self.prepare_output_folder()
        self.load_data()
        init_ckpt, resume_ckpt = self.load_start_checkpoints()
        model = self.build_model(init_ckpt)
        self.freeze_layers(model, fine_tuning=self.pretrained != "none" or init_ckpt is not None)
        model.to(self.device)
        if self.device.type == "cuda":
            model.to(memory_format=torch.channels_last)
        dataset = self.make_sampler_and_dataset()
        self.make_step(model)
        self.restore_state(resume_ckpt, model)
        self.share_across_ranks(model)
        self.loader = self.make_loader(dataset)
        self.announce()

    def start_device(self) -> None:
        """The device, this process's rank under torchrun (and its GPU), and the CPU thread count."""
        cfg = self.config
        device = resolve_device(cfg.device)
        self.dist = DistContext.from_env(device)
        self.device = self.dist.device_for(device)
        if cfg.num_threads:
            torch.set_num_threads(int(cfg.num_threads))
        elif self.dist.distributed and self.device.type == "cpu":
            per_node = int(os.environ.get("LOCAL_WORLD_SIZE", self.dist.world_size))
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // per_node))

    def prepare_output_folder(self) -> None:
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RetinaLabError(f"cannot create output folder {self.out}: {exc.strerror or exc}") from None
        if self.dist.is_main:  # half-written checkpoints of a run killed while saving
            for leftover in remove_stale_temporaries(self.out):
                logger.info("removed %s, left by an interrupted save", leftover)

    def load_data(self) -> None:
        self.data = prepare_data(self.config)
        self.class_names = self.data.class_names
        _seed_everything(self.config.seed)

    def load_start_checkpoints(self) -> tuple[Checkpoint | None, Checkpoint | None]:
        """(the checkpoint to fine-tune from, the ``last.pt`` to resume); sets ``arch`` and ``pretrained``."""
        cfg = self.config
        init_ckpt = None
        self.arch, self.pretrained = cfg.arch, cfg.pretrained
        if cfg.init_checkpoint:
            init_ckpt = load_checkpoint(Path(cfg.init_checkpoint))
            self.arch, self.pretrained = init_ckpt.arch, "none"
        resume_ckpt = None
        if cfg.resume or cfg.resume_from:  # checked before anything slow: a wrong file fails at once
            path = Path(cfg.resume_from) if cfg.resume_from else self.last_path
            resume_ckpt = load_resume_checkpoint(path, arch=self.arch, class_names=self.class_names)
        return init_ckpt, resume_ckpt

    def build_model(self, init_ckpt: Checkpoint | None) -> nn.Module:
        cfg = self.config
        model = build_model(self.arch, len(self.class_names), pretrained=self.pretrained, alpha=cfg.alpha,
                            gamma=cfg.gamma, image_size=cfg.image_size)
        if init_ckpt is not None:
            carried = init_from_checkpoint(model, init_ckpt, self.class_names)
            logger.info("initialised from %s (%d of %d classes carried over)",
                        cfg.init_checkpoint, carried, len(self.class_names))
        self.hard_negatives = cfg.hard_negative_weight != 1.0 and hasattr(model, "hard_negative_weight")
        if self.hard_negatives:
            model.hard_negative_weight = float(cfg.hard_negative_weight)
        return model

    def freeze_layers(self, model: nn.Module, *, fine_tuning: bool) -> None:
        """Pretrained BatchNorm statistics stay frozen under small batches; the backbone when asked."""
        self.frozen: list[nn.Module] = []
        if fine_tuning and self.config.batch_size < SMALL_BATCH:
            self.frozen = frozen_batchnorms(model)
        if self.config.freeze_backbone:
            freeze_backbone(model)
            body = getattr(model.backbone, "body", model.backbone)
            self.frozen += [m for m in frozen_batchnorms(body) if m not in self.frozen]

    def make_sampler_and_dataset(self) -> DetectionDataset:
        """The augmented training set and this rank's share of it; sets the run's step counts."""
        cfg = self.config
        dataset = DetectionDataset(self.data.train, self.class_names, train_transforms(
            cfg.image_size, scale_range=(0.6, 1.4) if cfg.augment else (1.0, 1.0), photometric=cfg.augment),
            image_size=cfg.image_size)
        self.sampler = EpochSampler(len(dataset), seed=cfg.seed, rank=self.dist.rank, world_size=self.dist.world_size)
        self.steps_per_epoch = math.ceil(len(self.sampler) / cfg.batch_size)
        self.total_steps = self.steps_per_epoch * cfg.epochs
        return dataset

    def make_step(self, model: nn.Module) -> None:
        cfg = self.config
        optimizer = build_optimizer(model, cfg)
        scheduler = build_scheduler(optimizer, cfg, self.total_steps)
        self.step = TrainStep(model, optimizer, scheduler, device=self.device, amp=cfg.amp,
                              grad_clip=cfg.grad_clip, max_bad_steps=cfg.max_bad_steps,
                              hard_negatives=self.hard_negatives)

    def restore_state(self, resume_ckpt: Checkpoint | None, model: nn.Module) -> None:
        self.state = RunState()
        if resume_ckpt is not None:
            self.state = restore_run(resume_ckpt, model=model, optimizer=self.step.optimizer,
                                     scheduler=self.step.scheduler, scaler=self.step.scaler)
            self.best_metrics = dict(max(self.state.history, key=lambda e: e.get("AP", -1.0), default={}))

    def share_across_ranks(self, model: nn.Module) -> None:
        """Under torchrun the step trains a DDP wrapper (made after the restore: DDP copies rank 0's weights
        to every rank); ``plain_model`` is what gets validated and saved."""
        self.plain_model = model
        self.model = self.dist.wrap(model, self.device)
        self.step.model = self.model

    def make_loader(self, dataset: DetectionDataset) -> torch.utils.data.DataLoader:
        cfg = self.config
        return torch.utils.data.DataLoader(
            dataset, batch_size=cfg.batch_size, sampler=self.sampler, collate_fn=collate_detections,
            num_workers=cfg.num_workers, persistent_workers=cfg.num_workers > 0, pin_memory=self.device.type == "cuda",
        )

    def announce(self) -> None:
        """The ``train_started`` event: what will be trained on, and where."""
        data, cfg = self.data, self.config
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

    # -- epochs ---------------------------------------------------------------------------------
    def train(self) -> None:
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
            if counted == 0 and self.step.num_skipped:  # an epoch shorter than the NaN guard's window
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
        bad = non_finite_parameters(self.plain_model)
        if bad:
            raise NonFiniteLossError(f"the model's weights became NaN/inf ({len(bad)} tensors, e.g. {bad[0]}); "
                                     "nothing was saved; try a lower learning rate (--lr)")

    def save_last(self, metrics: dict[str, Any] | None) -> None:
        self.check_weights()
        save_run_checkpoint(self.last_path, model=self.plain_model, config=self.config, arch=self.arch,
                            class_names=self.class_names, metrics=metrics, state=self.state,
                            optimizer=self.step.optimizer, scheduler=self.step.scheduler, scaler=self.step.scaler)
        self.emit("checkpoint_saved", epoch=self.state.epoch, step=self.state.global_step,
                  total_steps=self.total_steps, path=str(self.last_path), message="last")

    def validate(self) -> dict[str, Any]:
        self.plain_model.eval()
        try:
            detections, failed = predict_dataset(self.plain_model, self.data.val, self.class_names,
                                                 image_size=self.config.image_size, device=self.device,
                                                 batch_size=max(1, self.config.batch_size))
        finally:
            set_train_mode(self.model, self.frozen)
        self.images_skipped += failed
        return evaluate_detections(self.data.val, detections)
