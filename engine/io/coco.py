"""Read and write COCO detection JSON: ``images``, ``annotations`` (``bbox`` [x, y, w, h]), ``categories``.

Accepted layouts: a ``.json`` file whose ``file_name`` entries are relative to the JSON's folder, to an
``images/`` folder beside it, or (for ``annotations/x.json``) to the folder above or its ``images/``;
or a dataset folder holding ``annotations.json``, ``annotations/<one>.json`` or a single ``*.json``,
next to ``images/``. The image root is the candidate under which most listed files exist. Category ids
may be arbitrary; class order is the order of the ``categories`` list. ``iscrowd`` boxes are skipped
with a warning. COCO's ``bbox`` is in continuous pixel coordinates, so ``x1 = x``, ``x2 = x + w``.
The writer produces ``dst/annotations.json`` (+ ``dst/images/<path>`` when copying; otherwise the JSON
references the original files by absolute path), category ids ``1..N`` in class order, and keeps
images without boxes.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

from engine.errors import DatasetError, ImageLoadError
from engine.fsutil import file_problem, write_text_atomic
from engine.io._common import (
    class_names_for,
    clean_boxes,
    export_paths,
    parse_float,
    parse_size,
    place_image,
    rel_posix,
)
from engine.io.image import read_image_size
from engine.types import AnnotatedImage, Annotations, Box

log = logging.getLogger(__name__)

COCO_JSON_NAME = "annotations.json"
REJECTED_KEY = "retinalab_rejected"  # per image: rejected predictions (hard negatives), see _rejected_boxes


def find_coco_json(path: Path) -> Path:
    """The COCO JSON file for a file or dataset-folder ``path``; DatasetError when there is none."""
    if not path.exists():
        raise DatasetError(f"COCO dataset not found: {path}")
    if path.is_file():
        return path
    if (path / COCO_JSON_NAME).is_file():
        return path / COCO_JSON_NAME
    for folder in (path / "annotations", path):
        found = sorted(folder.glob("*.json")) if folder.is_dir() else []
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            names = ", ".join(p.name for p in found[:6])
            raise DatasetError(f"several COCO JSON files in {folder} ({names}); give the one to read")
    raise DatasetError(f"no COCO annotations in {path} (expected {COCO_JSON_NAME} or annotations/*.json)")


def _load_json(json_path: Path) -> dict[str, Any]:
    problem = file_problem(json_path)
    if problem is not None:
        raise DatasetError(f"cannot read COCO JSON {json_path}: {problem}")
    try:
        with json_path.open("r", encoding="utf-8-sig") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as exc:
        raise DatasetError(
            f"malformed COCO JSON {json_path}: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read COCO JSON {json_path}: {exc}") from None
    except (ValueError, RecursionError) as exc:  # a 5000-digit number, nesting thousands deep
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc).split(";")[0]
        raise DatasetError(f"malformed COCO JSON {json_path}: {reason}") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise DatasetError(f"{json_path} is not COCO detection JSON (no 'images' list)")
    for key in ("annotations", "categories"):
        if not isinstance(data.get(key, []), list):
            raise DatasetError(f"{json_path}: '{key}' must be a list")
    return data


def _key(value: Any) -> Any:
    """An id usable as a dictionary key (int, str or finite float), else None (a list, a dict, NaN)."""
    if isinstance(value, bool) or not isinstance(value, (int, str, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _image_root(json_path: Path, file_names: list[str]) -> Path:
    """The folder under which most of ``file_names`` exist (first candidate on a tie)."""
    here = json_path.parent
    candidates = [here, here / "images"]
    if here.name.lower() == "annotations":
        candidates += [here.parent / "images", here.parent]
    sample = [f for f in file_names if f and not Path(f).is_absolute()][:200]
    if not sample:
        return here
    best, best_hits = here, -1
    for candidate in candidates:
        if not candidate.is_dir():
            continue
        hits = sum((candidate / f).is_file() for f in sample)
        if hits > best_hits:
            best, best_hits = candidate, hits
    return best


def read_coco(path: str | Path) -> Annotations:
    """Read a COCO JSON file or dataset folder (layouts in the module docstring).

    Returns Annotations with ``root`` = the image folder, boxes in absolute pixels [x1, y1, x2, y2],
    cleaned (see ``engine.io._common.clean_box``), and one warning line per change.
    Raises DatasetError for a missing path or malformed JSON, naming the file.
    """
    json_path = find_coco_json(Path(path))
    data = _load_json(json_path)
    warnings: list[str] = []
    where = json_path.name

    class_names: list[str] = []
    cat_names: dict[Any, str] = {}
    for cat in data.get("categories", []):
        if not isinstance(cat, dict) or _key(cat.get("id")) is None:
            warnings.append(f"{where}: skipped malformed category {str(cat)[:80]}")
            continue
        raw_name = cat.get("name", "")
        name = (raw_name.strip() if isinstance(raw_name, str) else "") or str(cat["id"])
        cat_names[cat["id"]] = name
        if name in class_names:
            warnings.append(f"{where}: category id {cat['id']} repeats class {name!r}; merged")
        else:
            class_names.append(name)

    raw_images: list[dict[str, Any]] = []
    for img in data["images"]:
        if (not isinstance(img, dict) or _key(img.get("id")) is None
                or not isinstance(img.get("file_name"), str) or not img["file_name"].strip()
                or "\0" in img["file_name"]):  # no file system takes a NUL in a name
            warnings.append(f"{where}: skipped malformed image entry {str(img)[:80]}")
            continue
        raw_images.append(img)
    root = _image_root(json_path, [str(img["file_name"]) for img in raw_images])

    boxes_by_image: dict[Any, list[Box]] = {img["id"]: [] for img in raw_images}
    for ann in data.get("annotations", []):
        if not isinstance(ann, dict):
            warnings.append(f"{where}: skipped malformed annotation {str(ann)[:80]}")
            continue
        ann_id = str(ann.get("id", "?"))[:40]
        image_id = _key(ann.get("image_id"))
        if image_id not in boxes_by_image:
            warnings.append(
                f"{where}: annotation {ann_id} refers to unknown image {str(ann.get('image_id'))[:40]}; skipped"
            )
            continue
        label = cat_names.get(_key(ann.get("category_id")))
        if label is None:
            warnings.append(
                f"{where}: annotation {ann_id} has unknown category {str(ann.get('category_id'))[:40]}; skipped"
            )
            continue
        if ann.get("iscrowd"):
            warnings.append(f"{where}: annotation {ann_id} ({label!r}) is a crowd region; skipped")
            continue
        bbox = ann.get("bbox")
        values = [parse_float(v) for v in bbox] if isinstance(bbox, list) else []
        if len(values) != 4 or any(v is None for v in values):
            warnings.append(f"{where}: annotation {ann_id} has no valid bbox ({bbox!r}); skipped")
            continue
        x, y, w, h = values  # type: ignore[misc]
        boxes_by_image[image_id].append(Box(x, y, x + w, y + h, label))

    images: list[AnnotatedImage] = []
    seen: dict[str, int] = {}
    missing = 0
    for img in raw_images:
        file_name = str(img["file_name"]).replace("\\", "/")
        image_path = root / file_name
        if not image_path.is_file():
            missing += 1
        width, height = _size(img, image_path, where, warnings)
        rel = rel_posix(image_path, root)
        boxes = clean_boxes(
            boxes_by_image[img["id"]], width, height, f"{where} image {file_name}", warnings
        )
        rejected = _rejected_boxes(img, cat_names, width, height)
        if rel in seen:
            warnings.append(f"{where}: image {file_name} listed twice; boxes merged")
            prev = images[seen[rel]]
            images[seen[rel]] = AnnotatedImage(prev.path, prev.width, prev.height, prev.boxes + boxes,
                                               prev.rejected + rejected)
            continue
        seen[rel] = len(images)
        images.append(AnnotatedImage(rel, width, height, boxes, rejected))
    if missing:
        warnings.append(f"{where}: {missing} of {len(raw_images)} listed images not found under {root}")
    log.debug("read COCO %s: %d images, %d classes", json_path, len(images), len(class_names))
    return Annotations(root, tuple(class_names), tuple(images), tuple(warnings))


def _rejected_boxes(img: dict[str, Any], cat_names: dict[Any, str], width: int, height: int) -> tuple[Box, ...]:
    """The image's ``REJECTED_KEY`` entries (``{"bbox": [x, y, w, h], "category_id": k}``): predictions
    a person rejected, which RetinaLab's training snapshot carries as hard negatives. Other COCO
    readers ignore the key; malformed entries, unknown classes and degenerate boxes are skipped."""
    out = []
    entries = img.get(REJECTED_KEY)
    for entry in entries if isinstance(entries, list) else ():
        label = cat_names.get(entry.get("category_id")) if isinstance(entry, dict) else None
        bbox = entry.get("bbox") if label is not None else None
        values = [parse_float(v) for v in bbox] if isinstance(bbox, list) else []
        if len(values) != 4 or any(v is None for v in values):
            continue
        x, y, w, h = values  # type: ignore[misc]
        box = Box(x, y, x + w, y + h, label)
        box = box.clipped(width, height) if width and height else box
        if not box.is_degenerate(1.0):
            out.append(box)
    return tuple(out)


def _size(img: dict[str, Any], image_path: Path, where: str, warnings: list[str]) -> tuple[int, int]:
    width, height = parse_size(img.get("width")), parse_size(img.get("height"))
    if width and height:
        return width, height
    try:
        return read_image_size(image_path)
    except ImageLoadError as exc:
        warnings.append(f"{where}: image {img.get('file_name')} has no size and {exc}; boxes not clipped")
        return 0, 0


def write_coco(
    ann: Annotations, dst: str | Path, *, copy_images: bool = True, link_images: bool = False
) -> list[str]:
    """Write ``ann`` as ``dst/annotations.json`` (+ ``dst/images/`` when ``copy_images``).

    With ``copy_images=False`` the JSON's ``file_name`` entries are the originals' absolute paths.
    ``link_images`` symlinks instead of copying. Returns warning lines (missing source images,
    unlisted classes, dropped non-finite boxes); the JSON is written atomically.
    """
    dst = Path(dst)
    names, warnings = class_names_for(ann)
    cat_id = {name: i + 1 for i, name in enumerate(names)}
    targets = export_paths(ann.images)
    mode = "link" if link_images else "copy"
    images_json, anns_json = [], []
    for image_id, img in enumerate(ann.images, start=1):
        src = ann.root / img.path
        if copy_images or link_images:
            file_name = targets[img.path]
            place_image(src, dst / "images" / file_name, mode=mode, warnings=warnings)
        else:
            file_name = src.resolve().as_posix()
        images_json.append(
            {"id": image_id, "file_name": file_name, "width": img.width, "height": img.height}
        )
        for box in img.boxes:
            if not box.is_finite():
                warnings.append(f"{img.path}: non-finite box {box.label!r} not written")
                continue
            w, h = box.x2 - box.x1, box.y2 - box.y1
            entry: dict[str, Any] = {
                "id": len(anns_json) + 1,
                "image_id": image_id,
                "category_id": cat_id[box.label],
                "bbox": [box.x1, box.y1, w, h],
                "area": w * h,
                "iscrowd": 0,
                "segmentation": [],
            }
            if box.score is not None:
                entry["score"] = box.score
            anns_json.append(entry)
    doc = {
        "info": {"description": "exported by RetinaLab"},
        "licenses": [],
        "images": images_json,
        "annotations": anns_json,
        "categories": [{"id": cat_id[n], "name": n, "supercategory": ""} for n in names],
    }
    write_text_atomic(dst / COCO_JSON_NAME, json.dumps(doc, indent=1))
    for line in warnings:
        log.debug("%s", line)  # returned to the caller, who shows them once
    return warnings
