"""Is there enough labelled data to train, and which images validate? (Qt-free, no torch.)

The Train panel calls this before it starts a worker, so a project with too few labels gets one clear
sentence ("label at least 8 boxes in at least 4 images ...") instead of a crash deep inside training.
It also owns the train/validation split the panel shows and training uses: either the images the user
marked for validation, or an automatic fraction chosen by a seeded hash of each image's path, so the
split is fixed for a seed and adding images never moves an old image between train and validation.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field

from engine.types import Annotations

MIN_BOXES = 8
MIN_IMAGES = 4  # images with at least one box, train and validation together
MIN_TRAIN_IMAGES = 3


def _split_key(path: str, seed: int) -> str:
    return hashlib.sha1(f"{seed}:{path}".encode()).hexdigest()


def split_train_val(
    ann: Annotations,
    *,
    val_fraction: float = 0.2,
    seed: int = 0,
    val_paths: Collection[str] | None = None,
) -> tuple[Annotations, Annotations]:
    """Split ``ann`` into (train, validation) by image.

    ``val_paths`` (image paths as in ``ann.images[i].path``) overrides the automatic split. Otherwise
    ``round(val_fraction * n)`` images (at least one when there are two or more images with boxes)
    with the smallest seeded hash of their path validate; only images with boxes are candidates, so
    validation AP is never computed on empty images alone.
    """
    if val_paths is not None:
        chosen = set(val_paths)
    else:
        labelled = sorted((img.path for img in ann.images if img.boxes), key=lambda p: _split_key(p, seed))
        count = round(val_fraction * len(labelled))
        if val_fraction > 0 and count == 0 and len(labelled) >= 2:
            count = 1
        chosen = set(labelled[:count])
    train = tuple(img for img in ann.images if img.path not in chosen)
    val = tuple(img for img in ann.images if img.path in chosen)
    return (
        Annotations(ann.root, ann.class_names, train, ann.warnings),
        Annotations(ann.root, ann.class_names, val, ()),
    )


@dataclass(frozen=True)
class DataCheck:
    """Counts of what would be trained on, and ``problem``: why training is refused (None: fine)."""

    num_train_images: int
    num_val_images: int
    num_boxes: int  # train + validation
    num_labelled_images: int  # images with at least one box, train + validation
    num_background_images: int  # images with no box: every anchor is a negative
    boxes_per_class: dict[str, int] = field(default_factory=dict)
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def summary(self) -> str:
        """One line for the panel, e.g. ``"12 train / 3 validation images, 48 boxes in 2 classes"``."""
        text = (
            f"{self.num_train_images} train / {self.num_val_images} validation images, "
            f"{self.num_boxes} boxes in {len(self.boxes_per_class)} classes"
        )
        if self.num_background_images:
            text += f", {_plural(self.num_background_images, 'image')} of background only"
        return text


def _plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n} {word if n == 1 else (words or word + 's')}"


def check_training_data(
    train: Annotations,
    val: Annotations,
    *,
    min_boxes: int = MIN_BOXES,
    min_images: int = MIN_IMAGES,
    min_train_images: int = MIN_TRAIN_IMAGES,
) -> DataCheck:
    """Count ``train`` and ``val`` and say, in one sentence, what is missing to train on them."""
    images = train.images + val.images
    per_class = Counter(box.label for img in images for box in img.boxes)
    num_boxes = sum(per_class.values())
    labelled = sum(1 for img in images if img.boxes)
    train_labelled = sum(1 for img in train.images if img.boxes)
    val_labelled = sum(1 for img in val.images if img.boxes)
    problem = None
    if num_boxes < min_boxes or labelled < min_images:
        problem = (
            f"Not enough labels to train: label at least {_plural(min_boxes, 'box', 'boxes')} "
            f"in at least {_plural(min_images, 'image')} and mark them reviewed "
            f"(now {_plural(num_boxes, 'box', 'boxes')} in {_plural(labelled, 'image')})."
        )
    elif val_labelled == 0:
        problem = (
            "No validation image with boxes: mark at least one labelled image for validation, "
            "or use the automatic split."
        )
    elif train_labelled < min_train_images:
        problem = (
            f"Too few training images: at least {_plural(min_train_images, 'labelled image')} must stay "
            f"out of validation (now {train_labelled})."
        )
    return DataCheck(
        num_train_images=len(train.images),
        num_val_images=len(val.images),
        num_boxes=num_boxes,
        num_labelled_images=labelled,
        num_background_images=len(images) - labelled,
        boxes_per_class=dict(sorted(per_class.items())),
        problem=problem,
    )
