"""Which images a checkpoint was trained on, when that can be known.

A model judging the images it was trained on has learned their labels, mistakes included, so it
rarely contradicts them: a label error it trained on hides itself. The finder's findings on those
images are therefore weaker evidence, and the app lists findings on held-out images first and marks
the others. RetinaLab's own training runs (the app's Train panel) write the training split next to
the checkpoint as ``<run>/data/train.json`` (COCO, absolute ``file_name``); ``retinalab train``
records its ``--data`` and ``--format`` in the checkpoint's ``train_config`` (a COCO, VOC or YOLO
dataset is read back for its image paths). Anything else is unknown (None).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def training_images(checkpoint: str | Path) -> set[Path] | None:
    """Absolute paths of the images ``checkpoint`` was trained on, or None when unknown."""
    checkpoint = Path(checkpoint)
    run_split = checkpoint.parent / "data" / "train.json"
    if run_split.is_file():
        return _coco_images(run_split)
    data, fmt = _train_config_data(checkpoint)
    if data is None or not data.exists():
        return None
    if data.suffix.lower() == ".json" and data.is_file():
        return _coco_images(data)
    if fmt in ("coco", "voc", "yolo"):
        try:
            from engine.io import read_dataset

            ann = read_dataset(data, fmt)
        except Exception as exc:  # moved or changed since training: unknown
            log.info("cannot read the training data %s: %s", data, exc)
            return None
        return {(Path(ann.root) / img.path).resolve() for img in ann.images}
    return None


def _coco_images(path: Path) -> set[Path] | None:
    try:
        coco = json.loads(path.read_text(encoding="utf-8"))
        names = [img["file_name"] for img in coco["images"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.info("cannot tell the training images from %s: %s", path, exc)
        return None
    out = set()
    for name in names:
        p = Path(name)
        if not p.is_absolute():  # engine.io.coco: relative to the JSON's folder or its images/ folder
            p = path.parent / name if (path.parent / name).exists() else path.parent / "images" / name
        out.add(p.resolve())
    return out


def _train_config_data(checkpoint: Path) -> tuple[Path | None, str]:
    if not checkpoint.is_file():
        return None, ""
    try:
        from engine.checkpoint import load_checkpoint

        config = load_checkpoint(checkpoint).train_config or {}
    except Exception as exc:  # a checkpoint that loads as a model but not here: unknown, not an error
        log.info("no training data recorded in %s: %s", checkpoint, exc)
        return None, ""
    if not isinstance(config, dict):
        return None, ""
    data, fmt = config.get("data"), config.get("format")
    return (Path(data) if isinstance(data, str) and data else None), (fmt if isinstance(fmt, str) else "")
