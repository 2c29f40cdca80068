"""Torch datasets over labelled images, and the data preparation ``fit`` runs before training.

``prepare_data`` reads the training set (COCO, VOC or YOLO folder via ``engine.io``, or a labeling
project via ``Project.training_data()``: its labels, never pending predictions), the validation set
(a project's marked validation images) or a deterministic hold-out split, checks that
classes agree, and cleans boxes (degenerate or unknown-class boxes dropped and counted). A
``DetectionDataset`` yields ``(image, target)`` with ``image`` float32 [3, H, W] in [0, 1] and
``target = {"boxes": FloatTensor[N, 4] XYXY pixels of the transformed image, "labels": Int64Tensor[N]
(indices into class_names), "image_id": int, "orig_size": (H, W)}``, plus ``"rejected_boxes"`` /
``"rejected_labels"`` (same layout) when the image carries rejected predictions (hard negatives, see
``AnnotatedImage.rejected``); images without boxes stay as negatives (N = 0). An image that fails
to load yields ``None``; ``collate_detections`` drops it and counts it, so training goes on. ``EpochSampler`` shuffles per epoch with a seed, shards across
DDP ranks and can skip the batches already done before a resume.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
from torchvision import tv_tensors

from engine.errors import DatasetError, ImageLoadError, RetinaLabError
from engine.types import AnnotatedImage, Annotations, TrainConfig

logger = logging.getLogger(__name__)

Target = dict[str, Any]


@dataclass(frozen=True)
class PreparedData:
    """Cleaned train / validation annotations with one class list, and what cleaning removed."""

    train: Annotations
    val: Annotations
    class_names: tuple[str, ...]
    num_dropped_boxes: int  # degenerate (or outside the image) boxes removed
    num_unknown_boxes: int  # boxes whose class is not in class_names
    warnings: tuple[str, ...] = ()


def load_annotations(path: str | Path, fmt: str) -> Annotations:
    """Read a dataset in ``fmt`` (coco | voc | yolo | project); raises ``DatasetError`` when unusable."""
    if not Path(path).exists():
        raise DatasetError(f"dataset path does not exist: {path}")
    if fmt == "project":
        from engine.project import Project

        with Project.open(Path(path), read_only=True) as project:
            return project.training_data("reviewed")  # the one rule: engine.project.labels
    if fmt not in ("coco", "voc", "yolo"):
        raise DatasetError(f"unknown dataset format {fmt!r} (use coco, voc, yolo or project)")
    import engine.io

    read_dataset = getattr(engine.io, "read_dataset", None)
    if read_dataset is not None:
        return read_dataset(Path(path), fmt)
    module = importlib.import_module(f"engine.io.{fmt}")  # the per-format reader, same result
    return getattr(module, f"read_{fmt}")(Path(path))


def _project_validation_marks(path: str | Path) -> set[str]:
    """The images a project's user marked for validation (empty: split automatically)."""
    from engine.project import Project

    with Project.open(Path(path), read_only=True) as project:
        return project.validation_marks()


def clean_annotations(ann: Annotations, class_names: Sequence[str]) -> tuple[Annotations, int, int]:
    """Boxes clipped to their image; degenerate ones and unknown classes removed.

    Returns ``(annotations, num_degenerate, num_unknown)``; images left without boxes are kept.
    """
    known = set(class_names)
    degenerate = unknown = 0
    images = []
    for img in ann.images:
        kept = []
        for box in img.boxes:
            if box.label not in known:
                unknown += 1
                continue
            clipped = box.clipped(img.width, img.height) if box.is_finite() else box
            if clipped.is_degenerate():
                degenerate += 1
                continue
            kept.append(clipped)
        rejected = tuple(b.clipped(img.width, img.height) for b in img.rejected if b.label in known and b.is_finite())
        images.append(dataclasses.replace(img, boxes=tuple(kept),
                                          rejected=tuple(b for b in rejected if not b.is_degenerate(1.0))))
    return dataclasses.replace(ann, class_names=tuple(class_names), images=tuple(images)), degenerate, unknown


def prepare_data(config: TrainConfig) -> PreparedData:
    """Read, split and clean the data ``config`` names; one-line ``DatasetError`` for bad input."""
    train = load_annotations(config.data, config.format)
    if not train.images:
        raise DatasetError(f"no images in {config.data} (format {config.format})")
    class_names = tuple(config.class_names) if config.class_names else tuple(train.class_names)
    if not class_names:
        raise DatasetError(f"no classes defined in {config.data}")
    if config.val:
        val = load_annotations(config.val, config.format)
        if set(val.class_names) != set(train.class_names):
            raise DatasetError(
                f"classes differ between train ({', '.join(train.class_names)}) "
                f"and val ({', '.join(val.class_names)})"
            )
    else:
        from engine.train.data_check import split_train_val

        marks = _project_validation_marks(config.data) if config.format == "project" else None
        train, val = split_train_val(train, val_fraction=config.val_fraction, seed=config.seed,
                                     val_paths=marks or None)
        if not val.images:  # a single labelled image: validate on what we train on
            val = train
    train, deg_t, unk_t = clean_annotations(train, class_names)
    val, deg_v, unk_v = clean_annotations(val, class_names)
    if train.num_boxes == 0:
        raise DatasetError(f"no usable boxes to train on in {config.data}")
    warnings = tuple(train.warnings) + tuple(w for w in val.warnings if w not in train.warnings)
    return PreparedData(train, val, class_names, deg_t + deg_v, unk_t + unk_v, warnings)


class DetectionDataset(torch.utils.data.Dataset):
    """``(image, target)`` pairs over ``ann`` with ``transforms`` (see module docstring)."""

    def __init__(
        self,
        ann: Annotations,
        class_names: Sequence[str],
        transforms: Callable[..., Any] | None = None,
        *,
        loader: Callable[[Path], np.ndarray] | None = None,
        image_size: int | None = None,
    ) -> None:
        self.ann = ann
        self.image_size = image_size  # images too thin to resize to this are skipped (None: no check)
        self.class_index = {name: k for k, name in enumerate(class_names)}
        self.transforms = transforms
        if loader is None:
            from engine.io import load_image

            loader = load_image
        self.loader = loader

    def __len__(self) -> int:
        return len(self.ann.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, Target] | None:
        img = self.ann.images[index]
        try:
            array = self.loader(self.ann.root / img.path)
            if self.image_size is not None:
                from engine.io.image import check_model_input

                check_model_input(array.shape[1], array.shape[0], self.image_size, self.ann.root / img.path)
        except (ImageLoadError, OSError, RetinaLabError) as exc:
            logger.warning("skipping image %s: %s", img.path, exc)
            return None
        return self.sample(index, array, img)

    def sample(self, index: int, array: np.ndarray, img: AnnotatedImage) -> tuple[torch.Tensor, Target]:
        """Apply the transforms to an already decoded image (H, W, 3) uint8 RGB and its boxes."""
        height, width = array.shape[:2]
        image = tv_tensors.Image(torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1))
        # rejected predictions ride along as boxes labelled -1 - class, so every transform moves,
        # crops and drops them exactly like the labels; they are split off again below
        every = img.boxes + img.rejected
        coords = [b.clipped(width, height).xyxy for b in every]
        boxes = tv_tensors.BoundingBoxes(
            torch.tensor(coords, dtype=torch.float32).reshape(-1, 4), format="XYXY", canvas_size=(height, width)
        )
        labels = torch.tensor([self.class_index[b.label] for b in img.boxes]
                              + [-1 - self.class_index[b.label] for b in img.rejected], dtype=torch.int64)
        target: Target = {"boxes": boxes, "labels": labels}
        if self.transforms is not None:
            image, target = self.transforms(image, target)
        else:
            image = image.float() / 255
        boxes_t = target["boxes"].as_subclass(torch.Tensor).float()
        keep = (boxes_t[:, 2] - boxes_t[:, 0] >= 1) & (boxes_t[:, 3] - boxes_t[:, 1] >= 1)
        labels_t = target["labels"]
        out: Target = {"image_id": index, "orig_size": (height, width)}
        if img.rejected:
            negative = labels_t < 0
            out["rejected_boxes"] = boxes_t[keep & negative]
            out["rejected_labels"] = -1 - labels_t[keep & negative]
            keep = keep & ~negative
        out["boxes"], out["labels"] = boxes_t[keep], labels_t[keep]
        return image.as_subclass(torch.Tensor), out


def collate_detections(
    batch: Sequence[tuple[torch.Tensor, Target] | None],
) -> tuple[list[torch.Tensor], list[Target], int]:
    """``(images, targets, num_failed)``: lists as torchvision detection models take them."""
    good = [item for item in batch if item is not None]
    return [item[0] for item in good], [item[1] for item in good], len(batch) - len(good)


class EpochSampler(torch.utils.data.Sampler[int]):
    """Indices shuffled by ``(seed, epoch)``, this rank's shard, minus the first ``skip`` indices.

    Every rank sees ``ceil(n / world_size)`` indices (the permutation is padded by wrapping), so all
    ranks run the same number of steps. Call ``set_epoch`` before each epoch.
    """

    def __init__(self, num_items: int, *, seed: int = 0, rank: int = 0, world_size: int = 1, shuffle: bool = True):
        self.num_items, self.seed, self.rank, self.world_size, self.shuffle = num_items, seed, rank, world_size, shuffle
        self.epoch = 0
        self.skip = 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        self.epoch, self.skip = epoch, skip

    def _indices(self) -> list[int]:
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(self.num_items, generator=g).tolist()
        else:
            order = list(range(self.num_items))
        total = math.ceil(self.num_items / self.world_size) * self.world_size
        order = (order * math.ceil(total / max(1, len(order))))[:total]
        return order[self.rank : total : self.world_size]

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices()[self.skip :])

    def __len__(self) -> int:
        return max(0, math.ceil(self.num_items / self.world_size) - self.skip)
