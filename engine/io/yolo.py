"""Read and write YOLO detection labels: one ``.txt`` per image, lines ``class cx cy w h`` normalised to 0-1.

Accepted layouts: ``images/`` + ``labels/`` with the same sub-folders (split folders such as
``images/train`` / ``labels/train`` are kept as path prefixes), the ``images/`` folder itself, a data
YAML file, or label ``.txt`` files next to their images (darknet style). Class names come from
``classes.txt`` / ``obj.names``, else from ``data.yaml`` / any ``*.yaml`` ``names:`` (read with
PyYAML by ``engine.io.yolo_names``), else they are the indices. An image without a label file, or
with an empty one, is an image with no boxes (Ultralytics' rule). Sizes come from
:func:`engine.io.image.read_image_size` (the upright image, header only). Lines with a sixth value
keep it as the box's score; polygon lines (``class x1 y1 x2 y2 ...``) become their bounding box.
The writer produces ``images/``, ``labels/`` (a file for every image, empty for no boxes),
``classes.txt`` and ``data.yaml``; YOLO cannot point at images elsewhere, so ``copy_images=False``
symlinks the originals into ``images/`` (copying where links are not possible).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from engine.errors import DatasetError, ImageLoadError
from engine.fsutil import MAX_FILE_BYTES, file_problem, write_text_atomic
from engine.io._common import (
    MAX_CLASS_INDEX,
    class_names_for,
    clean_boxes,
    export_paths,
    line_safe_names,
    place_image,
    read_class_list,
    rel_posix,
)
from engine.io.image import list_images, read_image_size
from engine.io.yolo_names import MAX_YAML_BYTES, format_yaml_names, parse_yaml_names
from engine.types import AnnotatedImage, Annotations, Box

log = logging.getLogger(__name__)

CLASSES_FILE = "classes.txt"
DATA_YAML = "data.yaml"
_SPLITS = ("train", "val", "valid", "test")


def _child(folder: Path, name: str) -> Path | None:
    for p in (folder / name, folder / name.capitalize()):
        if p.is_dir():
            return p
    return None


def yolo_layout(path: Path) -> tuple[Path, Path, Path | None, Path | None]:
    """(dataset folder, image folder, label folder or None for labels-next-to-images, YAML or None)."""
    if not path.exists():
        raise DatasetError(f"YOLO dataset not found: {path}")
    yaml_file = None
    if path.is_file():
        if path.suffix.lower() not in (".yaml", ".yml"):
            raise DatasetError(f"{path} is not a YOLO dataset folder or data YAML")
        yaml_file, path = path, path.parent
    elif path.name.lower() == "images" and _child(path.parent, "labels"):
        path = path.parent
    images = _child(path, "images")
    if images is not None:
        return path, images, _child(path, "labels") or path / "labels", yaml_file
    return path, path, None, yaml_file


def _class_names(base: Path, labels: Path | None, yaml_file: Path | None) -> tuple[list[str] | None, str]:
    listings = [base / CLASSES_FILE, base / "obj.names"]
    if labels is not None:
        listings.append(labels / CLASSES_FILE)
    yamls = [yaml_file] if yaml_file else []
    yamls += [base / DATA_YAML] + sorted(p for p in base.glob("*.y*ml") if p.name != DATA_YAML)
    candidates = ([] if yaml_file else listings) + yamls + (listings if yaml_file else [])
    for candidate in candidates:
        if not candidate.is_file():
            continue
        try:
            is_yaml = candidate.suffix.lower() in (".yaml", ".yml")
            problem = file_problem(candidate, max_bytes=MAX_YAML_BYTES if is_yaml else MAX_FILE_BYTES)
            if problem is not None:
                raise OSError(problem)
            if is_yaml:
                names = parse_yaml_names(candidate.read_text(encoding="utf-8-sig"))
            else:
                names = read_class_list(candidate)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise DatasetError(f"cannot read class names from {candidate}: {exc}") from None
        if names is not None and len(names) > MAX_CLASS_INDEX + 1:
            raise DatasetError(f"{candidate} lists {len(names):,} classes, over the limit of "
                               f"{MAX_CLASS_INDEX + 1:,}")
        if names:
            return names, candidate.name
    return None, ""


def _parse_label_file(
    label_path: Path, names: list[str] | None, width: int, height: int, where: str,
    warnings: list[str],
) -> list[Box]:
    try:
        problem = file_problem(label_path)
        if problem is not None:
            raise OSError(problem)
        text = label_path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        warnings.append(f"{where}: unreadable label file ({exc}); image read with no boxes")
        return []
    boxes: list[Box] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        tokens = line.split()
        if not tokens or tokens[0].startswith("#"):
            continue
        try:
            cls_value = float(tokens[0])
            values = [float(t) for t in tokens[1:]]
        except ValueError:
            warnings.append(f"{where} line {lineno}: not numbers ({line.strip()[:60]}); skipped")
            continue
        score = None
        if len(values) == 4:
            cx, cy, w, h = values
        elif len(values) == 5:
            cx, cy, w, h, score = values
        elif len(values) >= 6 and len(values) % 2 == 0:  # polygon: its bounding box
            xs, ys = values[0::2], values[1::2]
            cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
            w, h = max(xs) - min(xs), max(ys) - min(ys)
        else:
            warnings.append(f"{where} line {lineno}: expected 'class cx cy w h'; skipped")
            continue
        if not math.isfinite(cls_value) or cls_value != int(cls_value) or cls_value < 0:
            warnings.append(f"{where} line {lineno}: bad class index {tokens[0][:20]}; skipped")
            continue
        if cls_value > MAX_CLASS_INDEX:
            warnings.append(f"{where} line {lineno}: class index {tokens[0][:20]} is over the limit "
                            f"of {MAX_CLASS_INDEX:,}; skipped")
            continue
        index = int(cls_value)
        if names is not None and index >= len(names):
            warnings.append(
                f"{where} line {lineno}: class index {index} but only {len(names)} classes; skipped"
            )
            continue
        label = names[index] if names is not None else str(index)
        boxes.append(Box(
            (cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height,
            label, score,
        ))
    return boxes


def read_yolo(path: str | Path) -> Annotations:
    """Read a YOLO dataset (layouts in the module docstring).

    Returns Annotations with ``root`` = the image folder and boxes in absolute pixels [x1, y1, x2, y2]
    of the upright image. Raises DatasetError for a missing path or a folder without images.
    """
    base, image_dir, label_dir, yaml_file = yolo_layout(Path(path))
    names, names_source = _class_names(base, label_dir, yaml_file)
    warnings: list[str] = []
    image_paths = list_images(image_dir)
    if not image_paths:
        raise DatasetError(f"no images in {image_dir} (YOLO expects images/ and labels/)")
    used_labels: set[Path] = set()
    images: list[AnnotatedImage] = []
    seen_indices: set[str] = set()
    for image_path in image_paths:
        rel = rel_posix(image_path, image_dir)
        label_path = (label_dir / rel if label_dir else image_path).with_suffix(".txt")
        try:
            width, height = read_image_size(image_path)
        except ImageLoadError as exc:
            warnings.append(f"{exc}; image skipped")
            continue
        boxes: tuple[Box, ...] = ()
        if label_path.is_file():
            if label_path in used_labels:
                warnings.append(f"{rel}: shares label file {label_path.name} with another image")
            used_labels.add(label_path)
            where = rel_posix(label_path, base)
            raw = _parse_label_file(label_path, names, width, height, where, warnings)
            boxes = clean_boxes(raw, width, height, where, warnings)
            seen_indices.update(b.label for b in boxes)
        images.append(AnnotatedImage(rel, width, height, boxes))
    if label_dir is not None and label_dir.is_dir():
        orphans = [
            p for p in label_dir.rglob("*.txt")
            if p not in used_labels and p.name != CLASSES_FILE
            and not any(part.startswith(".") for part in p.relative_to(label_dir).parts)
        ]
        if orphans:
            warnings.append(f"{len(orphans)} label files in {label_dir} have no image; ignored")
    if names is None:
        count = max((int(i) for i in seen_indices), default=-1) + 1
        names = [str(i) for i in range(count)]
        if count:
            warnings.append(f"no {CLASSES_FILE} or data.yaml names in {base}; classes named by index")
    else:
        log.debug("YOLO class names from %s", names_source)
    log.debug("read YOLO %s: %d images, %d classes", base, len(images), len(names))
    return Annotations(image_dir, tuple(names), tuple(images), tuple(warnings))


def _split_lines(rel_paths: list[str]) -> str:
    firsts = {p.split("/", 1)[0] for p in rel_paths if "/" in p}
    if rel_paths and all("/" in p for p in rel_paths) and firsts <= set(_SPLITS):
        train = "train" if "train" in firsts else sorted(firsts)[0]
        val = next((s for s in ("val", "valid", "test") if s in firsts), train)
        return f"train: images/{train}\nval: images/{val}\n"
    return "train: images\nval: images\n"


def write_yolo(
    ann: Annotations, dst: str | Path, *, copy_images: bool = True, link_images: bool = False
) -> list[str]:
    """Write ``ann`` as ``dst/images/``, ``dst/labels/``, ``dst/classes.txt`` and ``dst/data.yaml``.

    Coordinates are normalised by each image's size (6 decimals: under 0.01 px at 10,000 px).
    ``copy_images=False`` (or ``link_images``) symlinks the originals. Returns warning lines.
    """
    dst = Path(dst)
    names, warnings = class_names_for(ann)
    index = {name: i for i, name in enumerate(names)}
    names, _renamed, notes = line_safe_names(names, "YOLO")  # boxes keep their index
    warnings += notes
    targets = export_paths(ann.images)
    mode = "copy" if copy_images and not link_images else "link"
    used: set[str] = set()
    for img in ann.images:
        src = ann.root / img.path
        rel = targets[img.path]
        place_image(src, dst / "images" / rel, mode=mode, warnings=warnings)
        width, height = img.width, img.height
        if (width <= 0 or height <= 0) and img.boxes:
            try:
                width, height = read_image_size(src)
            except ImageLoadError as exc:
                warnings.append(f"{exc}; its boxes cannot be normalised and were not written")
                width = height = 0
        label_rel = rel.rsplit(".", 1)[0] + ".txt"
        if label_rel.lower() in used:
            warnings.append(f"{img.path}: label file {label_rel} already used by another image")
        used.add(label_rel.lower())
        lines = []
        for box in img.boxes if width > 0 and height > 0 else ():
            if not box.is_finite():
                warnings.append(f"{img.path}: non-finite box {box.label!r} not written")
                continue
            lines.append(
                f"{index[box.label]} {(box.x1 + box.x2) / 2 / width:.6f} "
                f"{(box.y1 + box.y2) / 2 / height:.6f} {box.width / width:.6f} "
                f"{box.height / height:.6f}\n"
            )
        write_text_atomic(dst / "labels" / label_rel, "".join(lines))
    write_text_atomic(dst / CLASSES_FILE, "".join(n + "\n" for n in names))
    yaml_text = "# YOLO dataset written by RetinaLab\n" + _split_lines(list(targets.values()))
    write_text_atomic(dst / DATA_YAML, yaml_text + format_yaml_names(names))
    for line in warnings:
        log.debug("%s", line)  # returned to the caller, who shows them once
    return warnings
