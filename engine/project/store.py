"""The ``Project`` object: a folder of images plus its SQLite store, safe to use from several threads.

See the ``engine.project`` package docstring for the contract. This module holds opening and closing,
images (status, size, uncertainty), boxes and predictions; class edits live in ``classes``, models and
snapshots in ``training``, import and export in ``interchange``.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from engine.errors import ImageLoadError, ProjectError
from engine.project import boxes as box_rows
from engine.project import classes as class_ops
from engine.project import opening, scan
from engine.project.database import Database
from engine.project.labels import CONFIRMED_SOURCES_SQL
from engine.types import IMAGE_STATUSES, Box, Detection, ImageRecord

log = logging.getLogger(__name__)

ImageRef = ImageRecord | int
_IMAGE_COLUMNS = "id, path, width, height, status, uncertainty, missing"


def _row_to_image(row: tuple) -> ImageRecord:
    image_id, path, width, height, status, uncertainty, missing = row
    return ImageRecord(image_id, path, width, height, status, uncertainty, bool(missing))


class ProjectBase:
    """Opening, closing, images and boxes. ``Project`` adds classes, models, snapshots and interchange."""

    synchronous: str = "NORMAL"  # see the package docstring; bench/store.py measures both

    def __init__(self, folder: Path, db: Database, *, lock: opening.Lock | None,
                 read_only_reason: str | None, temp_dir: Path | None = None) -> None:
        self.folder = folder
        self._db = db
        db.reason = read_only_reason or ""
        self._lock = lock
        self.read_only = read_only_reason is not None
        self.read_only_reason = read_only_reason
        self._temp_dir = temp_dir
        self._size_cache: dict[int, tuple[int, int]] = {}

    # ----------------------------------------------------------------- open / close
    @classmethod
    def open(cls, folder: str | Path, *, read_only: bool = False) -> Any:
        """Open (creating when needed) the project of ``folder`` and rescan its images."""
        folder = Path(folder).expanduser().absolute()
        if not folder.is_dir():
            reason = "not a folder" if folder.exists() else "folder not found"
            raise ProjectError(f"cannot open a project in {folder}: {reason}")
        store_dir = folder / opening.STORE_DIR
        db_path = store_dir / opening.DB_NAME
        lock, reason = (None, "opened read-only on request") if read_only else opening.acquire_lock(store_dir)
        if reason is None and db_path.exists() and not _writable(db_path):
            lock.release()  # type: ignore[union-attr]
            lock, reason = None, f"{db_path} is not writable; opened read-only"
        if reason is None:
            try:
                opening.remove_stale_temporaries(store_dir)
                if not db_path.exists():
                    opening.create_database(db_path)
                db = opening.open_writable(db_path, cls.synchronous)
            except BaseException:
                lock.release()  # type: ignore[union-attr]
                raise
            project = cls(folder, db, lock=lock, read_only_reason=None)
            try:
                project.rescan()
            except BaseException:
                project.close()
                raise
            return project
        if db_path.exists():
            project = cls(folder, opening.open_read_only(db_path), lock=None, read_only_reason=reason)
            log.info("%s: %s", folder, reason)
            return project
        # Nothing stored yet and nowhere to store it: list the images in a throw-away database.
        temp_dir = Path(tempfile.mkdtemp(prefix="retinalab-ro-"))
        try:
            opening.create_database(temp_dir / opening.DB_NAME)
            db = opening.open_writable(temp_dir / opening.DB_NAME, "OFF")
            scan.rescan(db, folder)
            db.read_only = True
        except BaseException:
            shutil.rmtree(temp_dir, ignore_errors=True)
            raise
        log.info("%s: %s", folder, reason)
        return cls(folder, db, lock=None, read_only_reason=reason, temp_dir=temp_dir)

    def close(self) -> None:
        """Close every connection and release the writer lock; safe to call twice."""
        self._db.close()
        if self._lock is not None:
            self._lock.release()
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = f", read-only: {self.read_only_reason}" if self.read_only else ""
        return f"Project({str(self.folder)!r}{mode})"

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group edits made on this thread into one atomic, durable commit (all or none of them)."""
        self._require_writable()
        with self._db.write():
            yield

    @property
    def db_path(self) -> Path:
        return self.folder / opening.STORE_DIR / opening.DB_NAME

    # ----------------------------------------------------------------- images
    def images(self, status: str | None = None, *,
               order: Literal["path", "uncertainty"] = "path") -> list[ImageRecord]:
        """Every image (missing ones included, flagged), by path or by uncertainty (highest first)."""
        if status is not None and status not in IMAGE_STATUSES:
            raise ProjectError(f"image status must be one of {', '.join(IMAGE_STATUSES)}, got {status!r}")
        order_sql = {"path": "path", "uncertainty": "uncertainty IS NULL, uncertainty DESC, path"}.get(order)
        if order_sql is None:
            raise ProjectError(f"images(order=...) must be 'path' or 'uncertainty', got {order!r}")
        where, args = ("WHERE status = ?", (status,)) if status else ("", ())
        rows = self._db.connect().execute(
            f"SELECT {_IMAGE_COLUMNS} FROM images {where} ORDER BY {order_sql}", args).fetchall()
        return [_row_to_image(r) for r in rows]

    def image(self, image_id: ImageRef) -> ImageRecord:
        image_id = self._image_id(image_id)
        row = self._db.connect().execute(f"SELECT {_IMAGE_COLUMNS} FROM images WHERE id = ?",
                                         (image_id,)).fetchone()
        if row is None:
            raise ProjectError(f"{self.folder}: no image with id {image_id}")
        return _row_to_image(row)

    def find_image(self, path: str | Path) -> ImageRecord | None:
        """The image at ``path`` (relative to the folder, or absolute inside it), or None."""
        p = Path(path)
        if p.is_absolute():
            try:
                p = p.absolute().relative_to(self.folder)
            except ValueError:
                return None
        row = self._db.connect().execute(f"SELECT {_IMAGE_COLUMNS} FROM images WHERE path = ?",
                                         (p.as_posix(),)).fetchone()
        return None if row is None else _row_to_image(row)

    def image_path(self, image: ImageRef) -> Path:
        """Absolute path of the image file."""
        rec = image if isinstance(image, ImageRecord) else self.image(image)
        return self.folder / rec.path

    def image_size(self, image: ImageRef) -> tuple[int, int]:
        """(width, height) of the upright image; read from the file header on first use and stored.

        Raises ImageLoadError when the size is unknown and the file cannot be read.
        """
        rec = self.image(image)
        if rec.width is not None and rec.height is not None:
            return rec.width, rec.height
        if rec.id in self._size_cache:
            return self._size_cache[rec.id]
        from engine.io import read_image_size

        width, height = read_image_size(self.folder / rec.path)
        self._size_cache[rec.id] = (width, height)
        if not self.read_only:
            self.set_image_size(rec.id, width, height)
        return width, height

    def set_image_size(self, image: ImageRef, width: int, height: int) -> None:
        if not (isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0):
            raise ProjectError(f"image size must be positive integers, got {width!r} x {height!r}")
        self._update_image(image, "width = ?, height = ?", (width, height))

    def set_status(self, image: ImageRef, status: str) -> None:
        """Set an image's status: ``new`` | ``predicted`` | ``reviewed``."""
        if status not in IMAGE_STATUSES:
            raise ProjectError(f"image status must be one of {', '.join(IMAGE_STATUSES)}, got {status!r}")
        self._update_image(image, "status = ?", (status,))

    def set_uncertainty(self, image: ImageRef, uncertainty: float | None) -> None:
        """Store the model's uncertainty for an image (higher = review sooner); None clears it."""
        if uncertainty is not None and not (isinstance(uncertainty, (int, float))
                                            and math.isfinite(uncertainty)):
            raise ProjectError(f"uncertainty must be a finite number or None, got {uncertainty!r}")
        self._update_image(image, "uncertainty = ?", (None if uncertainty is None else float(uncertainty),))

    def _update_image(self, image: ImageRef, assignments: str, args: tuple) -> None:
        image_id = self._image_id(image)
        with self._db.write() as conn:
            cur = conn.execute(f"UPDATE images SET {assignments}, updated_at = ? WHERE id = ?",
                               (*args, time.time(), image_id))
            if cur.rowcount == 0:
                raise ProjectError(f"{self.folder}: no image with id {image_id}")

    def _image_id(self, image: ImageRef) -> int:
        if isinstance(image, ImageRecord):
            return image.id
        if isinstance(image, int) and not isinstance(image, bool):
            return image
        raise ProjectError(f"expected an ImageRecord or an image id, got {image!r}")

    def _known_size(self, image_id: int) -> tuple[int, int] | None:
        try:
            return self.image_size(image_id)
        except ImageLoadError:
            return None  # a missing or unreadable file: store unclipped rather than lose the edit

    # ----------------------------------------------------------------- boxes
    def boxes(self, image: ImageRef) -> list[Box]:
        """The image's boxes (ids set), in creation order; rejected predictions are left out."""
        return self._boxes(image, rejected=False)

    def rejected_boxes(self, image: ImageRef) -> list[Box]:
        """Predictions the user rejected on this image: known background for training."""
        return self._boxes(image, rejected=True)

    def _boxes(self, image: ImageRef, *, rejected: bool) -> list[Box]:
        image_id = self._image_id(image)
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT {box_rows.BOX_COLUMNS} FROM boxes b JOIN classes c ON c.id = b.class_id "
                "WHERE b.image_id = ? AND b.rejected = ? ORDER BY b.id", (image_id, int(rejected))).fetchall()
            if not rows and conn.execute("SELECT 1 FROM images WHERE id = ?", (image_id,)).fetchone() is None:
                raise ProjectError(f"{self.folder}: no image with id {image_id}")
        return [box_rows.row_to_box(r) for r in rows]

    def box(self, box_id: int) -> Box:
        """One box by id (rejected ones too)."""
        row = self._db.connect().execute(
            f"SELECT {box_rows.BOX_COLUMNS} FROM boxes b JOIN classes c ON c.id = b.class_id WHERE b.id = ?",
            (box_id,)).fetchone()
        if row is None:
            raise ProjectError(f"{self.folder}: no box with id {box_id}")
        return box_rows.row_to_box(row)

    def add_box(self, image: ImageRef, box: Box, *, model_id: int | None = None) -> int:
        """Store a box on an image and return its id; durable when this returns.

        ``box.id`` is kept when given and free (undo restores a deleted box with its id); otherwise a
        new id is assigned. An unknown ``box.label`` adds the class. The box is clipped to the image.
        """
        image_id = self._image_id(image)
        self._require_writable()
        stored = box_rows.validate(box, self._known_size(image_id))
        with self._db.write() as conn:
            return self._insert_box(conn, image_id, stored, model_id)

    def _insert_box(self, conn: Any, image_id: int, box: Box, model_id: int | None) -> int:
        if conn.execute("SELECT 1 FROM images WHERE id = ?", (image_id,)).fetchone() is None:
            raise ProjectError(f"{self.folder}: no image with id {image_id}")
        cid, _ = class_ops.ensure_class(conn, box.label)
        wanted = box.id
        if wanted is not None and conn.execute("SELECT 1 FROM boxes WHERE id = ?", (wanted,)).fetchone():
            wanted = None
        now = time.time()
        cur = conn.execute(
            "INSERT INTO boxes (id, image_id, class_id, x1, y1, x2, y2, source, score, model_id, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (wanted, image_id, cid, box.x1, box.y1, box.x2, box.y2, box.source, box.score, model_id, now, now))
        return int(cur.lastrowid)

    def update_box(self, box_id: int, change: Box | Mapping[str, Any]) -> Box:
        """Change a box (a whole Box, or a mapping such as ``{"label": "dog"}``); returns it as stored.

        Provenance: see ``engine.project.boxes.merge_update`` (a touched prediction becomes "edited").
        """
        self._require_writable()
        current = self.box(box_id)
        image_id = self._box_image(box_id)
        stored = box_rows.validate(box_rows.merge_update(current, change), self._known_size(image_id))
        with self._db.write() as conn:
            cid, _ = class_ops.ensure_class(conn, stored.label)
            cur = conn.execute(
                "UPDATE boxes SET class_id = ?, x1 = ?, y1 = ?, x2 = ?, y2 = ?, source = ?, score = ?, "
                "updated_at = ? WHERE id = ?",
                (cid, stored.x1, stored.y1, stored.x2, stored.y2, stored.source, stored.score, time.time(),
                 box_id))
            if cur.rowcount == 0:
                raise ProjectError(f"{self.folder}: no box with id {box_id}")
        return stored.replace(id=box_id)

    def delete_box(self, box_id: int) -> None:
        """Delete a box for good (use ``reject_box`` for a prediction the user says is wrong)."""
        with self._db.write() as conn:
            if conn.execute("DELETE FROM boxes WHERE id = ?", (box_id,)).rowcount == 0:
                raise ProjectError(f"{self.folder}: no box with id {box_id}")

    def reject_box(self, box_id: int) -> None:
        """Hide a model-made box the user rejected, keeping it as known background (``rejected_boxes``).

        Refused for ``manual`` boxes, which a person drew: delete those with ``delete_box``.
        """
        self._set_rejected(box_id, True)

    def restore_box(self, box_id: int) -> None:
        """Undo ``reject_box``: the box is visible again."""
        self._set_rejected(box_id, False)

    def _set_rejected(self, box_id: int, rejected: bool) -> None:
        with self._db.write() as conn:
            row = conn.execute("SELECT source FROM boxes WHERE id = ?", (box_id,)).fetchone()
            if row is None:
                raise ProjectError(f"{self.folder}: no box with id {box_id}")
            if rejected and row[0] == "manual":
                raise ProjectError(f"box {box_id} was drawn by hand, not predicted: delete it instead")
            conn.execute("UPDATE boxes SET rejected = ?, updated_at = ? WHERE id = ?",
                         (int(rejected), time.time(), box_id))

    def _box_image(self, box_id: int) -> int:
        row = self._db.connect().execute("SELECT image_id FROM boxes WHERE id = ?", (box_id,)).fetchone()
        if row is None:
            raise ProjectError(f"{self.folder}: no box with id {box_id}")
        return int(row[0])

    def set_predictions(self, image: ImageRef, detections: Sequence[Detection | Box], *,
                        model_id: int | None = None) -> list[Box]:
        """Replace the image's untouched predictions with ``detections``; returns the boxes stored.

        Boxes a person made or touched (manual, accepted, edited) stay. A detection overlapping one of
        them, or a rejected prediction, of the same class by IoU >= ``SUPPRESS_IOU`` is dropped, and so
        are degenerate ones. Status ``new`` becomes ``predicted``. All in one transaction.
        """
        image_id = self._image_id(image)
        self._require_writable()
        size = self._known_size(image_id)
        incoming: list[Box] = []
        for det in detections:
            candidate = det.to_box("predicted") if isinstance(det, Detection) else det.replace(
                source="predicted", id=None)
            try:
                incoming.append(box_rows.validate(candidate, size))
            except ProjectError as exc:
                log.debug("prediction skipped: %s", exc)
        with self._db.write() as conn:
            conn.execute("DELETE FROM boxes WHERE image_id = ? AND source = 'predicted' AND rejected = 0",
                         (image_id,))
            keep = [box_rows.row_to_box(r) for r in conn.execute(
                f"SELECT {box_rows.BOX_COLUMNS} FROM boxes b JOIN classes c ON c.id = b.class_id "
                "WHERE b.image_id = ?", (image_id,))]
            stored: list[Box] = []
            for box in incoming:
                if any(k.label == box.label and box_rows.iou(k, box) >= box_rows.SUPPRESS_IOU for k in keep):
                    continue
                stored.append(box.replace(id=self._insert_box(conn, image_id, box, model_id)))
            conn.execute("UPDATE images SET status = 'predicted', updated_at = ? WHERE id = ? AND status = 'new'",
                         (time.time(), image_id))
        return stored

    def box_counts(self) -> dict[int, int]:
        """Labels (confirmed boxes) per image id, as the image list shows them; pending predictions are
        not labels and are not counted (images without labels are absent)."""
        rows = self._db.connect().execute(
            f"SELECT image_id, COUNT(*) FROM boxes WHERE rejected = 0 AND source IN {CONFIRMED_SOURCES_SQL} "
            "GROUP BY image_id").fetchall()
        return {int(i): int(n) for i, n in rows}

    def _require_writable(self) -> None:
        if self.read_only:
            raise ProjectError(f"{self.folder}: the project is read-only ({self.read_only_reason})")


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK)
