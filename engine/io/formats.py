"""Pick a dataset format by name (or guess it from a path) and dispatch to its reader or writer.

``read_dataset(path, fmt)`` and ``write_dataset(ann, dst, fmt)`` are what the CLI, the project store
and training call; ``detect_format(path)`` guesses ``coco`` / ``voc`` / ``yolo`` from the files a path
holds, for ``fmt="auto"``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from engine.errors import DatasetError
from engine.io.coco import read_coco, write_coco
from engine.io.voc import read_voc, write_voc
from engine.io.yolo import read_yolo, write_yolo
from engine.types import DATASET_FORMATS, Annotations

log = logging.getLogger(__name__)

_READERS: dict[str, Callable[[Path], Annotations]] = {
    "coco": read_coco,
    "voc": read_voc,
    "yolo": read_yolo,
}
_WRITERS: dict[str, Callable[..., list[str]]] = {
    "coco": write_coco,
    "voc": write_voc,
    "yolo": write_yolo,
}


def check_format(fmt: str, *, allow_auto: bool = False) -> str:
    """``fmt`` lower-cased if it names a dataset format; DatasetError (one line) otherwise."""
    name = str(fmt).strip().lower()
    if name in DATASET_FORMATS or (allow_auto and name == "auto"):
        return name
    choices = ", ".join(DATASET_FORMATS + (("auto",) if allow_auto else ()))
    raise DatasetError(f"unknown dataset format {fmt!r} (choose {choices})")


def detect_format(path: str | Path) -> str:
    """Guess the format of a dataset file or folder; DatasetError when nothing fits."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"dataset not found: {path}")
    if path.is_file():
        guess = {".json": "coco", ".xml": "voc", ".yaml": "yolo", ".yml": "yolo"}.get(
            path.suffix.lower()
        )
        if guess:
            return guess
        raise DatasetError(f"cannot tell the dataset format of {path}")
    names = {p.name.lower() for p in path.iterdir()}
    if "annotations.json" in names or any(n.endswith(".json") for n in names):
        return "coco"
    annotations = next((p for p in path.iterdir() if p.name.lower() == "annotations"), None)
    if annotations is not None and annotations.is_dir():
        if any(annotations.glob("*.json")):
            return "coco"
        if any(annotations.rglob("*.xml")):
            return "voc"
    if "labels" in names or "classes.txt" in names or "data.yaml" in names:
        return "yolo"
    if any(path.glob("*.xml")):
        return "voc"
    if any(path.glob("*.txt")):
        return "yolo"
    raise DatasetError(f"cannot tell the dataset format of {path} (give coco, voc or yolo)")


def read_dataset(path: str | Path, fmt: str) -> Annotations:
    """Read the dataset at ``path`` in format ``fmt`` (``coco`` | ``voc`` | ``yolo`` | ``auto``).

    Raises DatasetError for an unknown format, a missing path or unreadable annotations.
    """
    name = check_format(fmt, allow_auto=True)
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"dataset not found: {path}")
    if name == "auto":
        name = detect_format(path)
        log.debug("%s looks like a %s dataset", path, name)
    return _READERS[name](path)


def write_dataset(
    ann: Annotations, dst: str | Path, fmt: str, *, copy_images: bool = True
) -> list[str]:
    """Write ``ann`` to the folder ``dst`` in format ``fmt`` (layouts in each format's module).

    ``copy_images=True`` copies the images into ``dst`` keeping their relative paths; False makes
    the annotations reference the originals (COCO: absolute ``file_name``; VOC: absolute ``<path>``;
    YOLO: symlinks in ``images/``). Returns warning lines (for the caller to show).
    """
    name = check_format(fmt)
    dst = Path(dst)
    if dst.exists() and not dst.is_dir():
        raise DatasetError(f"cannot write a dataset to {dst}: it is a file")
    try:
        dst.mkdir(parents=True, exist_ok=True)
        return _WRITERS[name](ann, dst, copy_images=copy_images)
    except OSError as exc:
        raise DatasetError(f"cannot write {name} dataset to {dst}: {exc}") from None
