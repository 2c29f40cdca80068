"""Plain data shared by the engine and the app.

Everything here is a frozen dataclass of Python scalars so it can cross threads, be stored, compared
and printed without touching torch or Qt. Boxes are ``[x1, y1, x2, y2]`` in absolute pixels of the
upright image (EXIF orientation already applied), x to the right, y down; ``x2 > x1`` and ``y2 > y1``
for a valid box. Class names are the truth; model indices never leave the model.
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

BoxSource = Literal["manual", "predicted", "accepted", "edited"]
ImageStatus = Literal["new", "predicted", "reviewed"]
DatasetFormat = Literal["coco", "voc", "yolo"]
Arch = Literal["retinanet_resnet50_fpn", "retinanet_resnet50_fpn_v2", "retinanet_mobilenet_v3_fpn"]
Pretrained = Literal["none", "imagenet", "coco"]
Device = Literal["auto", "cuda", "cpu"]

BOX_SOURCES: tuple[str, ...] = ("manual", "predicted", "accepted", "edited")
# The one rule: a label is a confirmed box; a pending prediction never is (engine/project/labels.py applies it).
CONFIRMED_SOURCES: frozenset[str] = frozenset({"manual", "accepted", "edited"})
IMAGE_STATUSES: tuple[str, ...] = ("new", "predicted", "reviewed")
DATASET_FORMATS: tuple[str, ...] = ("coco", "voc", "yolo")
# A box thinner than one pixel (after clipping to its image) is not a box: the store refuses it, the
# readers drop it, training's data check and augmentation drop it, the app refuses to draw it.
MIN_BOX_SIZE = 1.0

# Class colours ``#rrggbb``, distinct on dark and light canvases. A new class takes the next one (cycling)
# and the store keeps it with the class; a name with no stored colour gets ``palette_colour(name)``.
PALETTE: tuple[str, ...] = (
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6", "#bcf60c",
    "#fabebe", "#008080", "#e6beff", "#9a6324", "#fffac8", "#800000", "#aaffc3", "#808000",
    "#ffd8b1", "#000075", "#808080", "#ffe119",
)


def palette_colour(label: str) -> str:
    """A stable ``PALETTE`` colour for class name ``label`` (same name, same colour, across runs)."""
    return PALETTE[zlib.crc32(label.encode("utf-8")) % len(PALETTE)]


ARCHS: tuple[str, ...] = (
    "retinanet_resnet50_fpn",
    "retinanet_resnet50_fpn_v2",
    "retinanet_mobilenet_v3_fpn",
)


@dataclass(frozen=True)
class Box:
    """One labelled box in absolute pixels of the upright image.

    ``score`` is the detector's confidence for ``predicted`` boxes (kept after acceptance), None for
    boxes a person drew. ``id`` is the project store's id, None until stored.
    """

    x1: float
    y1: float
    x2: float
    y2: float
    label: str
    score: float | None = None
    source: BoxSource = "manual"
    id: int | None = None

    @property
    def is_label(self) -> bool:
        """A confirmed box (manual, accepted or edited); a pending prediction is not a label."""
        return self.source in CONFIRMED_SOURCES

    @property
    def xyxy(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)

    def is_finite(self) -> bool:
        return all(math.isfinite(v) for v in self.xyxy)

    def is_degenerate(self, min_size: float = MIN_BOX_SIZE) -> bool:
        """True when the box is not finite or thinner than ``min_size`` pixels on either side."""
        return not self.is_finite() or self.width < min_size or self.height < min_size

    def clipped(self, width: float, height: float) -> Box:
        """The box clipped to an image of ``width`` x ``height`` pixels (may become degenerate)."""
        return dataclasses.replace(
            self,
            x1=min(max(self.x1, 0.0), width),
            y1=min(max(self.y1, 0.0), height),
            x2=min(max(self.x2, 0.0), width),
            y2=min(max(self.y2, 0.0), height),
        )

    def replace(self, **changes: Any) -> Box:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Detection:
    """One detector output in original image pixels, with the class name."""

    x1: float
    y1: float
    x2: float
    y2: float
    label: str
    score: float

    @property
    def xyxy(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)

    def to_box(self, source: BoxSource = "predicted") -> Box:
        return Box(self.x1, self.y1, self.x2, self.y2, self.label, self.score, source)

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "score": float(self.score), "box": [float(v) for v in self.xyxy]}


@dataclass(frozen=True)
class AnnotatedImage:
    """One image of a dataset: path relative to the dataset's image root, size, and its boxes.

    ``rejected``: predictions a person rejected on this image (known background, never labels);
    training may weigh them as hard negatives (``TrainConfig.hard_negative_weight``).
    """

    path: str
    width: int
    height: int
    boxes: tuple[Box, ...] = ()
    rejected: tuple[Box, ...] = ()


@dataclass(frozen=True)
class Annotations:
    """A whole labelled dataset as read from (or to be written to) COCO, VOC or YOLO.

    ``root`` is the folder the image paths are relative to. ``warnings`` lists what a reader cleaned
    or dropped (clipped boxes, degenerate boxes, unknown classes), one human-readable line each.
    """

    root: Path
    class_names: tuple[str, ...]
    images: tuple[AnnotatedImage, ...]
    warnings: tuple[str, ...] = ()

    @property
    def num_boxes(self) -> int:
        return sum(len(img.boxes) for img in self.images)


@dataclass(frozen=True)
class ImageRecord:
    """One image of a labeling project (see ``engine.project``)."""

    id: int
    path: str  # relative to the project folder, forward slashes
    width: int | None = None  # None until read from the file header
    height: int | None = None
    status: ImageStatus = "new"
    uncertainty: float | None = None
    missing: bool = False


@dataclass(frozen=True)
class TrainConfig:
    """Everything ``engine.train.fit`` needs; the CLI and the app's Train panel both build one."""

    data: str
    out: str
    format: str = "coco"  # coco | voc | yolo | project
    val: str | None = None
    arch: str = "retinanet_mobilenet_v3_fpn"
    pretrained: str = "none"  # none | imagenet | coco
    init_checkpoint: str | None = None  # fine-tune from this checkpoint (e.g. the current model)
    class_names: tuple[str, ...] | None = None  # None: the dataset's own
    epochs: int = 20
    batch_size: int = 4
    image_size: int = 512
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1e-4
    optimizer: Literal["sgd", "adamw"] = "sgd"
    schedule: Literal["cosine", "step"] = "cosine"
    warmup_steps: int = 100
    grad_clip: float = 10.0
    alpha: float = 0.25
    gamma: float = 2.0
    freeze_backbone: bool = False
    val_fraction: float = 0.2
    seed: int = 0
    device: str = "auto"  # auto | cuda | cpu
    num_threads: int | None = None
    num_workers: int = 0
    amp: bool = True
    resume: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)
    resume_from: str | None = None  # checkpoint to resume (default: <out>/last.pt when resume is set)
    max_bad_steps: int = 5  # NaN/inf steps in a row before training fails
    val_every: int = 1  # validate, save last.pt and consider best.pt every N epochs and after the last
    augment: bool = True  # scale jitter + photometric jitter; False: horizontal flip only
    hard_negative_weight: float = 1.0  # focal-loss weight of negatives on rejected predictions (1: off)


TrainEventKind = Literal[
    "train_started", "batch_end", "epoch_end", "checkpoint_saved", "finished", "cancelled", "failed"
]


@dataclass(frozen=True)
class TrainEvent:
    """A lifecycle event of ``engine.train.fit``, delivered to ``on_event``.

    ``losses`` maps component names (``classification``, ``bbox_regression``, ``total``) to floats;
    ``metrics`` holds validation numbers (``AP``, ``AP50``, ``AP75``, ...) on ``epoch_end``.
    """

    kind: TrainEventKind
    epoch: int = 0
    num_epochs: int = 0
    step: int = 0
    total_steps: int = 0
    losses: Mapping[str, float] = field(default_factory=dict)
    lr: float = 0.0
    images_per_s: float = 0.0
    eta_s: float | None = None
    metrics: Mapping[str, Any] = field(default_factory=dict)
    message: str = ""
    path: str | None = None
    images_skipped: int = 0  # images that failed to load so far (skipped, training went on)
