"""Import labels from COCO, VOC or YOLO into a project, and export a project to any of them.

Import merges: each dataset image is matched to a project image by its path relative to the project
folder, then by its path relative to the dataset's own root, then by file name when that name is
unique in the project; unmatched images are reported, never copied in. New classes are added, boxes
are stored as ``manual`` (skipping exact duplicates of boxes already there), unknown sizes are taken
from the dataset, and images that received labels become ``reviewed``: imported labels are a person's
work. Everything is one transaction: an import lands whole or not at all. Export writes a snapshot
(all images or reviewed only) through ``engine.io.write_dataset``.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from engine.errors import ProjectError
from engine.project import boxes as box_rows
from engine.project import classes as class_ops
from engine.project.records import ExportReport, ImportReport
from engine.types import DATASET_FORMATS, AnnotatedImage, Annotations

log = logging.getLogger(__name__)


def _check_format(fmt: str) -> None:
    if fmt not in DATASET_FORMATS:
        raise ProjectError(f"dataset format must be one of {', '.join(DATASET_FORMATS)}, got {fmt!r}")


class InterchangeMixin:
    """``Project.import_labels`` and ``Project.export``."""

    _db: Any
    folder: Path

    def import_labels(self, path: str | Path, fmt: str, *, mark_reviewed: bool = True) -> ImportReport:
        """Merge the labels of a COCO / VOC / YOLO dataset at ``path`` into this project.

        ``fmt`` may also be ``"auto"`` (guessed from the files). Raises DatasetError for an unreadable
        dataset and ProjectError on a read-only project; nothing is written unless all of it is.
        """
        if fmt != "auto":
            _check_format(fmt)
        self._require_writable()  # type: ignore[attr-defined]
        from engine.io import read_dataset

        ann = read_dataset(Path(path), fmt)
        return self.import_annotations(ann, mark_reviewed=mark_reviewed)

    def import_annotations(self, ann: Annotations, *, mark_reviewed: bool = True) -> ImportReport:
        """Merge already-read ``Annotations`` (see ``import_labels``)."""
        self._require_writable()  # type: ignore[attr-defined]
        matched: list[tuple[int, AnnotatedImage]] = []
        unmatched: list[str] = []
        with self._db.read() as conn:
            by_path = {p: i for i, p in conn.execute("SELECT id, path FROM images")}
        by_name: dict[str, list[int]] = defaultdict(list)
        for p, i in by_path.items():
            by_name[p.rsplit("/", 1)[-1]].append(i)
        root = Path(ann.root).expanduser().absolute()
        for img in ann.images:
            image_id = _match(img.path, root, self.folder, by_path, by_name)
            if image_id is None:
                unmatched.append(img.path)
            else:
                matched.append((image_id, img))
        added = skipped = 0
        classes_added: list[str] = []
        warnings = list(ann.warnings)
        now = time.time()
        with self._db.write() as conn:
            for name in ann.class_names:
                if class_ops.class_id(conn, name) is None:
                    class_ops.add_class(conn, name)
                    classes_added.append(name)
            for image_id, img in matched:
                width, height = conn.execute("SELECT width, height FROM images WHERE id = ?",
                                             (image_id,)).fetchone()
                if (width is None or height is None) and img.width > 0 and img.height > 0:
                    width, height = img.width, img.height
                    conn.execute("UPDATE images SET width = ?, height = ? WHERE id = ?", (width, height, image_id))
                size = (width, height) if width is not None and height is not None else None
                existing = [box_rows.row_to_box(r) for r in conn.execute(
                    f"SELECT {box_rows.BOX_COLUMNS} FROM boxes b JOIN classes c ON c.id = b.class_id "
                    "WHERE b.image_id = ? AND b.rejected = 0", (image_id,))]
                for box in img.boxes:
                    try:
                        box = box_rows.validate(box.replace(source="manual", score=None, id=None), size)
                    except ProjectError as exc:
                        warnings.append(f"{img.path}: box skipped: {exc}")
                        skipped += 1
                        continue
                    if any(box_rows.same_box(box, e) for e in existing):
                        skipped += 1
                        continue
                    cid, new_class = class_ops.ensure_class(conn, box.label)
                    if new_class:
                        classes_added.append(box.label)
                    conn.execute(
                        "INSERT INTO boxes (image_id, class_id, x1, y1, x2, y2, source, score, created_at, "
                        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
                        (image_id, cid, box.x1, box.y1, box.x2, box.y2, "manual", now, now))
                    existing.append(box)
                    added += 1
                if mark_reviewed:
                    conn.execute("UPDATE images SET status = 'reviewed', updated_at = ? WHERE id = ?",
                                 (now, image_id))
        if unmatched:
            warnings.append(f"{len(unmatched)} dataset image(s) are not in the project folder and were skipped")
        log.info("%s: imported %d boxes on %d images (%d skipped, %d images unmatched)", self.folder,
                 added, len(matched), skipped, len(unmatched))
        return ImportReport(len(matched), len(unmatched), added, skipped, tuple(classes_added),
                            tuple(unmatched), tuple(warnings))

    def export(self, dst: str | Path, fmt: str, *, reviewed_only: bool = False,
               copy_images: bool = True) -> ExportReport:
        """Write the project (every present image, or reviewed ones only) as a COCO / VOC / YOLO dataset."""
        _check_format(fmt)
        from engine.io import write_dataset

        ann: Annotations = self.snapshot(reviewed_only=reviewed_only)  # type: ignore[attr-defined]
        dst = Path(dst).expanduser().absolute()
        if dst == self.folder or self.folder in dst.parents:
            # Copied images would show up as new project images on the next scan.
            raise ProjectError(f"cannot export into the project folder itself ({dst}); choose a folder outside it")
        written = write_dataset(ann, dst, fmt, copy_images=copy_images) or []
        log.info("%s: exported %d images, %d boxes as %s to %s", self.folder, len(ann.images), ann.num_boxes,
                 fmt, dst)
        return ExportReport(dst, fmt, len(ann.images), ann.num_boxes, ann.class_names,
                            tuple(ann.warnings) + tuple(written))


def _match(path: str, root: Path, folder: Path, by_path: dict[str, int],
           by_name: dict[str, list[int]]) -> int | None:
    candidate = (root / path).absolute()
    try:
        rel = candidate.relative_to(folder).as_posix()
        if rel in by_path:
            return by_path[rel]
    except ValueError:
        pass
    rel = Path(path).as_posix()
    if rel in by_path:
        return by_path[rel]
    same_name = by_name.get(rel.rsplit("/", 1)[-1], [])
    return same_name[0] if len(same_name) == 1 else None

