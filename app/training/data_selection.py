"""What a training run reads from the project, frozen at Start: the images, their boxes, the split.

Qt-free. ``select_training_data`` takes one consistent ``Project.snapshot`` and keeps the images the
user vouched for: ``reviewed`` images with every box on them (an image with no box is a true negative,
and a rejected prediction is not a box, so its pixels train as background), or, with the
``confirmed`` scope, also unreviewed images whose boxes are all confirmed (manual, accepted or edited;
an image with a pending prediction is left out, because training on it would teach that the object
is background). ``write_coco_snapshot`` writes the chosen split as two COCO files into the run folder,
so ``engine.train.fit`` reads exactly what was checked and the run records what it trained on.
Marked validation images live in ``.retinalab/validation.json`` of the project folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from engine.fsutil import write_text_atomic
from engine.types import AnnotatedImage, Annotations

CONFIRMED_SOURCES = frozenset({"manual", "accepted", "edited"})
VALIDATION_FILE = Path(".retinalab") / "validation.json"


def select_training_data(project: Any, scope: str = "reviewed") -> Annotations:
    """The images to train and validate on, with their boxes (root = the project folder)."""
    if scope == "reviewed":
        return project.snapshot(reviewed_only=True)
    if scope != "confirmed":
        raise ValueError(f"unknown data scope {scope!r} (reviewed or confirmed)")
    everything: Annotations = project.snapshot(reviewed_only=False)
    reviewed = {record.path for record in project.images(status="reviewed")}
    kept: list[AnnotatedImage] = []
    for img in everything.images:
        if img.path in reviewed:
            kept.append(img)
        elif img.boxes and all(box.source in CONFIRMED_SOURCES for box in img.boxes):
            kept.append(img)
    return Annotations(everything.root, everything.class_names, tuple(kept), everything.warnings)


def load_validation_marks(folder: str | os.PathLike[str]) -> set[str]:
    """Image paths (relative, forward slashes) the user marked for validation; empty if none."""
    path = Path(folder) / VALIDATION_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return {str(p) for p in data.get("images", []) if isinstance(p, str)}


def save_validation_marks(folder: str | os.PathLike[str], paths: Iterable[str]) -> None:
    """Write the marks atomically (temp file + rename)."""
    path = Path(folder) / VALIDATION_FILE
    write_text_atomic(path, json.dumps({"images": sorted(set(paths))}, indent=1))


def to_coco(ann: Annotations) -> dict[str, Any]:
    """COCO dict of ``ann``: absolute ``file_name`` (as ``engine.io.write_coco`` writes without copying,
    so the JSON can live in the run folder), bbox ``[x, y, w, h]`` pixels, images without boxes kept."""
    categories = [{"id": k + 1, "name": name} for k, name in enumerate(ann.class_names)]
    category_id = {name: k + 1 for k, name in enumerate(ann.class_names)}
    images, annotations = [], []
    for index, img in enumerate(ann.images, start=1):
        images.append({"id": index, "file_name": str(Path(ann.root) / img.path), "width": img.width, "height": img.height})
        for box in img.boxes:
            annotations.append({
                "id": len(annotations) + 1,
                "image_id": index,
                "category_id": category_id[box.label],
                "bbox": [box.x1, box.y1, box.width, box.height],
                "area": box.area,
                "iscrowd": 0,
            })
    return {"images": images, "annotations": annotations, "categories": categories}


def write_coco_snapshot(train: Annotations, val: Annotations, out_dir: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``out_dir/data/{train,val}.json``; returns their paths."""
    data_dir = Path(out_dir) / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, ann in (("train", train), ("val", val)):
        path = data_dir / f"{name}.json"
        write_text_atomic(path, json.dumps(to_coco(ann)))
        paths.append(path)
    return paths[0], paths[1]
