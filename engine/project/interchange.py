"""Import labels from COCO, VOC or YOLO into a project, and export a project to any of them.

Import merges: each dataset image is matched to a project image by its path relative to the project
folder, then by its path relative to the dataset's own root, then by file name when that name is
unique in the project; unmatched images are reported, never copied in. New classes are added, boxes
are stored as ``manual`` labels, skipping any that overlaps a box already there of its class by IoU >=
``SUPPRESS_IOU`` (the rule ``set_predictions`` uses); a pending prediction the imported label overlaps
is replaced by it. Unknown sizes are taken from the dataset. Images keep their status (``new`` or
``predicted``: unreviewed) so the imported labels can be checked with the "unreviewed" filter and
Space, unless ``mark_reviewed=True``. A reader warning that an annotation's image was not beside it is
dropped when the image matched a project image (it was found, in the project). Everything is one
transaction: an import lands whole or not at all. Export writes the labels
(``Project.snapshot``: confirmed boxes only, all images or reviewed only) through
``engine.io.write_dataset``; predictions go out only when asked, with their scores (COCO).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from engine.errors import ProjectError
from engine.project import boxes as box_rows
from engine.project import classes as class_ops
from engine.project.records import ExportReport, ImportReport
from engine.types import DATASET_FORMATS, AnnotatedImage, Annotations, Box

log = logging.getLogger(__name__)


_IMAGE_NOT_BESIDE = re.compile(r": image (.+) not found; kept with its boxes$")


def _check_format(fmt: str) -> None:
    if fmt not in DATASET_FORMATS:
        raise ProjectError(f"dataset format must be one of {', '.join(DATASET_FORMATS)}, got {fmt!r}")


class InterchangeMixin:
    """``Project.import_labels`` and ``Project.export``."""

    _db: Any
    folder: Path

    def import_labels(self, path: str | Path, fmt: str, *, mark_reviewed: bool = False) -> ImportReport:
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

    def import_annotations(self, ann: Annotations, *, mark_reviewed: bool = False) -> ImportReport:
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
        found = {Path(img.path).name for _, img in matched}
        warnings = [w for w in ann.warnings
                    if not ((m := _IMAGE_NOT_BESIDE.search(w)) and Path(m.group(1)).name in found)]
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
                labels = [e for e in existing if e.source != "predicted"]
                pending = [e for e in existing if e.source == "predicted"]
                for box in img.boxes:
                    try:
                        box = box_rows.validate(box.replace(source="manual", score=None, id=None), size)
                    except ProjectError as exc:
                        warnings.append(f"{img.path}: box skipped: {exc}")
                        skipped += 1
                        continue
                    if any(e.label == box.label and box_rows.iou(e, box) >= box_rows.SUPPRESS_IOU
                           for e in labels):
                        skipped += 1
                        continue
                    for e in [e for e in pending if e.label == box.label
                              and box_rows.iou(e, box) >= box_rows.SUPPRESS_IOU]:
                        conn.execute("DELETE FROM boxes WHERE id = ?", (e.id,))
                        pending.remove(e)
                    cid, new_class = class_ops.ensure_class(conn, box.label)
                    if new_class:
                        classes_added.append(box.label)
                    conn.execute(
                        "INSERT INTO boxes (image_id, class_id, x1, y1, x2, y2, source, score, created_at, "
                        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
                        (image_id, cid, box.x1, box.y1, box.x2, box.y2, "manual", now, now))
                    labels.append(box)
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

    def export(self, dst: str | Path, fmt: str, *, reviewed_only: bool = False, copy_images: bool = True,
               include_predictions: float | None = None) -> ExportReport:
        """Write the project's labels (every present image, or reviewed ones only) as COCO / VOC / YOLO.

        Labels only (confirmed boxes, written without scores), unless ``include_predictions`` is a
        score threshold: then pending predictions scoring at least that much are written too, each with
        its ``score`` so a reader can tell them from labels; only COCO can carry scores, so the other
        formats refuse it.
        """
        _check_format(fmt)
        from engine.io import write_dataset

        if include_predictions is not None and fmt != "coco":
            raise ProjectError(f"{fmt} files cannot tell a prediction from a label (no score field); "
                               "export predictions as coco")
        ann: Annotations = self.snapshot(reviewed_only=reviewed_only)  # type: ignore[attr-defined]
        ann = dataclasses.replace(ann, images=tuple(
            dataclasses.replace(img, boxes=tuple(b.replace(score=None) for b in img.boxes)) for img in ann.images))
        warnings = list(ann.warnings)
        pending = self._pending_predictions()
        num_predictions = 0
        if include_predictions is not None:
            thresh = float(include_predictions)
            images = []
            for img in ann.images:
                extra = tuple(b for b in pending.get(img.path, ()) if (b.score or 0.0) >= thresh)
                num_predictions += len(extra)
                images.append(dataclasses.replace(img, boxes=img.boxes + extra))
            ann = dataclasses.replace(ann, images=tuple(images))
        else:
            held = sum(1 for img in ann.images if pending.get(img.path))
            if held:
                warnings.append(f"{held} image(s) hold pending predictions, not written (only labels are)")
        dst = Path(dst).expanduser().absolute()
        if dst == self.folder or self.folder in dst.parents:
            # Copied images would show up as new project images on the next scan.
            raise ProjectError(f"cannot export into the project folder itself ({dst}); choose a folder outside it")
        written = write_dataset(ann, dst, fmt, copy_images=copy_images) or []
        log.info("%s: exported %d images, %d boxes (%d predictions) as %s to %s", self.folder, len(ann.images),
                 ann.num_boxes, num_predictions, fmt, dst)
        return ExportReport(dst, fmt, len(ann.images), ann.num_boxes - num_predictions, ann.class_names,
                            tuple(warnings) + tuple(written), num_predictions)

    def _pending_predictions(self) -> dict[str, list[Box]]:
        """Pending (not rejected) predictions by image path."""
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT i.path, {box_rows.BOX_COLUMNS} FROM boxes b JOIN classes c ON c.id = b.class_id "
                "JOIN images i ON i.id = b.image_id WHERE b.source = 'predicted' AND b.rejected = 0 "
                "ORDER BY b.image_id, b.id").fetchall()
        out: dict[str, list[Box]] = defaultdict(list)
        for row in rows:
            out[row[0]].append(box_rows.row_to_box(row[1:]))
        return out


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

