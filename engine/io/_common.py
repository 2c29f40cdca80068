"""Helpers the COCO, VOC and YOLO readers and writers share: box cleaning, paths, copying, numbers.

Every reader passes each box through :func:`clean_box`, so all formats agree on what is repaired and
what is dropped: non-finite boxes are dropped, inverted corners are swapped (a box drawn "backwards"
is still the box the person meant), boxes reaching outside the image are clipped to it, and boxes
thinner than :data:`MIN_BOX_SIZE` pixels after that are dropped. Each repair or drop yields one
warning line naming the file and the box.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
from pathlib import Path, PurePosixPath
from typing import Iterable

from engine.errors import DatasetError
from engine.fsutil import file_problem
from engine.types import MIN_BOX_SIZE, AnnotatedImage, Annotations, Box

log = logging.getLogger(__name__)

_CLIP_TOLERANCE = 0.01  # float noise this small past the border is clipped without a warning


def fmt_box(box: Box) -> str:
    return f"{box.label!r} [{box.x1:.1f}, {box.y1:.1f}, {box.x2:.1f}, {box.y2:.1f}]"


def clean_box(box: Box, width: int, height: int, where: str) -> tuple[Box | None, list[str]]:
    """Repair or drop one box of an image ``width`` x ``height`` (sizes <= 0: no clipping).

    Returns the box to keep (or None) and the warning lines explaining any change.
    """
    if not box.label.strip():
        return None, [f"{where}: dropped box {fmt_box(box)}: empty class name"]
    if not box.is_finite():
        return None, [f"{where}: dropped box {fmt_box(box)}: non-finite coordinates"]
    warnings: list[str] = []
    x1, y1, x2, y2 = box.xyxy
    if x1 > x2 or y1 > y2:
        warnings.append(f"{where}: swapped inverted corners of box {fmt_box(box)}")
        x1, x2 = min(x1, x2), max(x1, x2)
        y1, y2 = min(y1, y2), max(y1, y2)
    fixed = box.replace(x1=x1, y1=y1, x2=x2, y2=y2)
    if width > 0 and height > 0:
        clipped = fixed.clipped(width, height)
        moved = max(abs(a - b) for a, b in zip(clipped.xyxy, fixed.xyxy))
        if moved > _CLIP_TOLERANCE:
            warnings.append(
                f"{where}: clipped box {fmt_box(fixed)} to the {width}x{height} image"
            )
        fixed = clipped
    if fixed.is_degenerate():
        reason = "outside the image" if fixed.area == 0 and box.area > 0 else "degenerate"
        return None, [
            f"{where}: dropped box {fmt_box(box)}: {reason} "
            f"(under {MIN_BOX_SIZE:g} px wide or tall)"
        ]
    return fixed, warnings


def clean_boxes(
    boxes: Iterable[Box], width: int, height: int, where: str, warnings: list[str]
) -> tuple[Box, ...]:
    """:func:`clean_box` over ``boxes``; appends warning lines to ``warnings``."""
    kept: list[Box] = []
    for box in boxes:
        fixed, notes = clean_box(box, width, height, where)
        warnings.extend(notes)
        if fixed is not None:
            kept.append(fixed)
    return tuple(kept)


def number(value: float) -> str:
    """A coordinate for a text file: an integer when it is one, else at most 3 decimals."""
    rounded = round(float(value), 3)
    if rounded == int(rounded):
        return str(int(rounded))
    return f"{rounded:.3f}".rstrip("0").rstrip(".")


def parse_float(text: object) -> float | None:
    """A number from text or JSON, None when it is not one (inf / nan are kept for clean_box)."""
    if isinstance(text, bool) or text is None or isinstance(text, (list, dict)):
        return None
    try:
        if isinstance(text, int):
            return float(text)  # OverflowError for a 5000-digit integer: caught below
        return float(str(text).strip())
    except (TypeError, ValueError, OverflowError):
        return None


MAX_CLASS_INDEX = 9_999
"""The largest class index a YOLO label or data YAML may use (RetinaLab models hold at most
``engine.models.MAX_CLASSES`` = 10,000 classes); a line with a larger index is skipped with a warning,
so one bad line can never make a reader build a class list of millions of names."""

MAX_IMAGE_SIDE = 1_000_000
"""Image sizes written in annotation files above this (or non-finite) are treated as unknown."""


def parse_size(value: object) -> int:
    """An image width or height from annotation text or JSON: a positive int, or 0 when unusable
    (missing, not a number, NaN, infinite, negative or absurdly large)."""
    number_ = parse_float(value)
    if number_ is None or not math.isfinite(number_) or not 0 < number_ <= MAX_IMAGE_SIDE:
        return 0
    return int(round(number_))


def rel_posix(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` with forward slashes, or absolute when outside ``root``."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def class_names_for(ann: Annotations) -> tuple[list[str], list[str]]:
    """The dataset's class order plus any box label missing from it (appended), and warnings."""
    names = list(ann.class_names)
    known = set(names)
    warnings: list[str] = []
    for img in ann.images:
        for box in img.boxes:
            if box.label not in known:
                known.add(box.label)
                names.append(box.label)
                warnings.append(f"class {box.label!r} used by boxes but not listed; added")
    return names, warnings


def line_safe_names(names: list[str], fmt: str) -> tuple[list[str], dict[str, str], list[str]]:
    """Class names a one-name-per-line list (``classes.txt``) can hold, read back as written.

    A line break inside a name would split it into two classes (and shift every index after it),
    and outer spaces are stripped by the reader: such names are written with each run of line
    breaks and control characters as one space, trimmed, and made unique. Returns the names to
    write, a map old name -> written name (changed ones only) and one warning per change.
    """
    written: list[str] = []
    renamed: dict[str, str] = {}
    warnings: list[str] = []
    used = {n for n in names if n == _line_safe(n)}
    for i, name in enumerate(names):
        safe = _line_safe(name)
        if safe != name:
            base = safe or f"class {i}"
            safe, n = base, 1
            while safe in used:
                n += 1
                safe = f"{base} ({n})"
            used.add(safe)
            renamed[name] = safe
            warnings.append(f"class name {name!r} cannot be kept on one line of a {fmt} class list; "
                            f"written as {safe!r}")
        written.append(safe)
    return written, renamed, warnings


def _line_safe(name: str) -> str:
    marked = "".join(c if c.isprintable() else "\0" for c in name)  # line breaks, tabs, controls
    return re.sub(r" *\0+ *", " ", marked).strip()


def export_paths(images: Iterable[AnnotatedImage]) -> dict[str, str]:
    """Map each image path to a safe relative path inside an exported image folder.

    Relative paths are kept (so split subfolders survive); absolute paths or paths climbing out with
    ``..`` become their file name, made unique with a numeric suffix.
    """
    out: dict[str, str] = {}
    used: set[str] = set()
    pending: list[str] = []
    for img in images:
        p = PurePosixPath(img.path.replace("\\", "/"))
        if p.is_absolute() or ".." in p.parts or not p.parts:
            pending.append(img.path)
        else:
            out[img.path] = p.as_posix()
            used.add(p.as_posix().lower())
    for original in pending:
        p = PurePosixPath(original.replace("\\", "/"))
        stem, suffix, n = p.stem, p.suffix, 0
        candidate = p.name
        while candidate.lower() in used:
            n += 1
            candidate = f"{stem}_{n}{suffix}"
        used.add(candidate.lower())
        out[original] = candidate
    return out


def place_image(src: Path, dst: Path, *, mode: str, warnings: list[str]) -> None:
    """Copy (``mode="copy"``) or symlink (``"link"``, copy if links fail) ``src`` to ``dst``."""
    if not src.is_file():
        warnings.append(f"{src}: image not found; annotations written without it")
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        if dst.exists() and os.path.samefile(src, dst):
            return
    except OSError:
        pass
    if dst.is_symlink() or dst.exists():
        dst.unlink()
    if mode == "link":
        try:
            dst.symlink_to(src.resolve())
            return
        except OSError:
            log.debug("symlink %s -> %s failed; copying", dst, src, exc_info=True)
    shutil.copy2(src, dst)


def read_class_list(path: Path) -> list[str]:
    """One class name per line (``classes.txt``); blank lines skipped, inner spaces kept.

    Raises DatasetError (one line) when the file cannot be read.
    """
    problem = file_problem(path)
    try:
        if problem is not None:
            raise OSError(problem)
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read class names from {path}: {exc}") from None
    names = []
    for line in text.splitlines():
        name = line.strip()
        if name:
            names.append(name)
    return names
