"""What a training run reads, frozen at Start: the chosen split written into the run folder.

Qt-free. Which images and boxes train is the engine's rule (``Project.training_data``, in
``engine.project.labels``); ``write_coco_snapshot`` writes the split the panel checked as two COCO
files into the run folder, so ``engine.train.fit`` reads exactly what was checked and the run records
what it trained on.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from engine.fsutil import write_text_atomic
from engine.io.coco import REJECTED_KEY
from engine.types import Annotations


def to_coco(ann: Annotations) -> dict[str, Any]:
    """COCO dict of ``ann``: absolute ``file_name`` (as ``engine.io.write_coco`` writes without copying,
    so the JSON can live in the run folder), bbox ``[x, y, w, h]`` pixels, images without boxes kept."""
    categories = [{"id": k + 1, "name": name} for k, name in enumerate(ann.class_names)]
    category_id = {name: k + 1 for k, name in enumerate(ann.class_names)}
    images, annotations = [], []
    for index, img in enumerate(ann.images, start=1):
        entry = {"id": index, "file_name": str(Path(ann.root) / img.path), "width": img.width, "height": img.height}
        if img.rejected:  # hard negatives travel with their image; other COCO readers ignore the key
            entry[REJECTED_KEY] = [{"bbox": [b.x1, b.y1, b.width, b.height], "category_id": category_id[b.label]}
                                   for b in img.rejected if b.label in category_id]
        images.append(entry)
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
