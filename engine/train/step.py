"""One optimizer step and one validation pass: forward, backward, AMP, clipping, the NaN/inf guard.

``TrainStep`` runs a batch through the model in train mode and returns the loss components as Python
floats with one device sync per batch (the losses, the gradient norm and the finite check travel in
one tensor; gradients are scaled down only when their norm is over ``grad_clip``, the same result
as ``clip_grad_norm_`` without its multiply-by-one pass when it is under). A step whose loss or
gradient norm is not finite is skipped (gradients dropped, weights untouched); ``max_bad_steps`` in
a row raise ``NonFiniteLossError``. On CUDA the forward runs under float16 autocast with a
``GradScaler`` (whose own overflow skips are routine and not counted).
``non_finite_parameters`` names the weights a run must not save. ``predict_dataset`` is the
validation pass: the model in eval mode, boxes mapped back to original image pixels.
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import Sequence

import torch
from torch import nn

from engine.errors import ImageLoadError, RetinaLabError
from engine.types import Annotations, Detection

logger = logging.getLogger(__name__)


class NonFiniteLossError(RuntimeError):
    """The loss or gradient was NaN/inf for too many consecutive steps."""


class TrainStep:
    """Forward + backward + clipped optimizer step for one batch, with the NaN/inf guard."""

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
        *,
        device: torch.device,
        amp: bool,
        grad_clip: float,
        max_bad_steps: int = 5,
        hard_negatives: bool = False,
    ) -> None:
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.device = device
        self.amp = bool(amp and device.type == "cuda")
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.grad_clip = grad_clip
        self.max_bad_steps = max_bad_steps
        self.bad_in_a_row = 0
        self.num_skipped = 0
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.channels_last = device.type == "cuda"
        self.hard_negatives = hard_negatives  # pass rejected predictions to the loss (RetinaLabNet)

    def __call__(self, images: list[torch.Tensor], targets: list[dict]) -> dict[str, float]:
        """Train on one batch; returns ``{"classification", "bbox_regression", "total", "skipped"}``."""
        non_blocking = self.device.type == "cuda"
        images = [img.to(self.device, non_blocking=non_blocking) for img in images]
        if self.hard_negatives:
            from engine.retinanet_loss import with_rejected

            targets = [with_rejected(t) for t in targets]
        targets = [
            {"boxes": t["boxes"].to(self.device, non_blocking=non_blocking),
             "labels": t["labels"].to(self.device, non_blocking=non_blocking)}
            for t in targets
        ]
        with torch.autocast(device_type=self.device.type, dtype=torch.float16, enabled=self.amp):
            loss_dict = self.model(images, targets)
        cls_loss, reg_loss = loss_dict["classification"], loss_dict["bbox_regression"]
        total = cls_loss + reg_loss
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        self.scaler.unscale_(self.optimizer)
        clip = bool(self.grad_clip and self.grad_clip > 0)
        grads = [p.grad for p in self.params if p.grad is not None] if clip else []
        if grads:
            grad_norm = torch.nn.utils.get_total_norm(grads)
        else:
            grad_norm = torch.zeros((), device=self.device)
        stats = torch.stack([cls_loss.detach().float(), reg_loss.detach().float(), total.detach().float(),
                             grad_norm.detach().float()])
        values = stats.tolist()  # the one device sync of the step
        loss_finite = math.isfinite(values[0]) and math.isfinite(values[1]) and math.isfinite(values[2])
        grad_finite = math.isfinite(values[3])
        if grads and grad_finite and values[3] > self.grad_clip:
            # what clip_grad_norm_ does, minus its multiply-by-1 pass over every gradient when the
            # norm is already under the limit (the norm is known here: it came with the losses)
            torch.nn.utils.clip_grads_with_norm_(self.params, self.grad_clip, grad_norm)  # takes params
        skipped = False
        if self.amp:
            self.scaler.step(self.optimizer)  # skips overflowed steps itself
            self.scaler.update()
            skipped = not loss_finite
        elif loss_finite and grad_finite:
            self.optimizer.step()
        else:
            skipped = True
        with warnings.catch_warnings():  # a skipped optimizer step still advances the schedule
            warnings.simplefilter("ignore", UserWarning)
            self.scheduler.step()
        if skipped:
            self.optimizer.zero_grad(set_to_none=True)
            self.bad_in_a_row += 1
            self.num_skipped += 1
            logger.warning("non-finite loss or gradient: step skipped (%d in a row)", self.bad_in_a_row)
            if self.bad_in_a_row >= self.max_bad_steps:
                raise NonFiniteLossError(
                    f"loss became NaN/inf for {self.bad_in_a_row} steps in a row; "
                    f"try a lower learning rate (--lr)"
                )
        else:
            self.bad_in_a_row = 0
        return {"classification": values[0], "bbox_regression": values[1], "total": values[2],
                "skipped": float(skipped)}


@torch.no_grad()
def predict_dataset(
    model: nn.Module,
    ann: Annotations,
    class_names: Sequence[str],
    *,
    image_size: int,
    device: torch.device,
    batch_size: int = 4,
    score_thresh: float = 0.05,
) -> tuple[list[list[Detection]], int]:
    """Detections for every image of ``ann`` in original pixels, and the number of unreadable images.

    The model must be in eval mode; images are resized so their longer side is ``image_size``.
    """
    from engine.dataset import DetectionDataset
    from engine.transforms import eval_transforms

    dataset = DetectionDataset(ann, class_names, eval_transforms(image_size), image_size=image_size)
    results: list[list[Detection]] = [[] for _ in ann.images]
    failed = 0
    old_thresh = getattr(model, "score_thresh", None)
    if old_thresh is not None:
        model.score_thresh = score_thresh
    try:
        for start in range(0, len(dataset), batch_size):
            items = []
            for index in range(start, min(start + batch_size, len(dataset))):
                try:
                    item = dataset[index]
                except (ImageLoadError, RetinaLabError):
                    item = None
                if item is None:
                    failed += 1
                    continue
                items.append((index, item))
            if not items:
                continue
            outputs = model([image.to(device) for _, (image, _) in items])
            for (index, (image, target)), out in zip(items, outputs):
                orig_h, orig_w = target["orig_size"]
                sx, sy = orig_w / image.shape[-1], orig_h / image.shape[-2]
                boxes = (out["boxes"].float().cpu() * torch.tensor([sx, sy, sx, sy])).tolist()
                scores, labels = out["scores"].float().cpu().tolist(), out["labels"].cpu().tolist()
                results[index] = [
                    Detection(b[0], b[1], b[2], b[3], class_names[lab], s)
                    for b, s, lab in zip(boxes, scores, labels)
                    if 0 <= lab < len(class_names)
                ]
    finally:
        if old_thresh is not None:
            model.score_thresh = old_thresh
    return results, failed


def non_finite_parameters(model: nn.Module) -> list[str]:
    """Names of the model's floating-point parameters and buffers holding NaN or inf."""
    bad = []
    for name, tensor in list(model.named_parameters()) + list(model.named_buffers()):
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            bad.append(name)
    return bad
