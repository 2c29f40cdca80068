"""What training needs from a project: consistent snapshots of its labels, and the models table.

A snapshot is read inside one SQLite read transaction, so it is one committed state of the whole
project even while the user keeps editing in another thread (WAL readers never block the writer and
never see half of an edit). Sizes not yet known are read from the image headers after the
transaction and stored for next time.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Mapping

from engine.errors import ImageLoadError, ProjectError
from engine.project.boxes import BOX_COLUMNS, row_to_box
from engine.project.labels import CONFIRMED_SOURCES_SQL
from engine.project.records import ModelRecord
from engine.types import AnnotatedImage, Annotations, Box

log = logging.getLogger(__name__)


class TrainingMixin:
    """``Project`` methods for snapshots and models."""

    _db: Any
    folder: Path

    def snapshot(self, *, reviewed_only: bool = True) -> Annotations:
        """The project's labels as one consistent ``Annotations`` (root = the project folder).

        Labels only: confirmed boxes (manual, accepted, edited; ``engine.project.labels``); pending
        and rejected predictions are no boxes (rejected ones ride along in ``AnnotatedImage.rejected``,
        known background that training may weigh as hard negatives). ``reviewed_only``: only images
        with status ``reviewed``. Missing images, and images whose size cannot be read, are left out with a warning. Class
        names are in class order, unused classes included. What a training run reads is
        ``training_data``, which also leaves out images still holding pending predictions.
        """
        return self._labelled_snapshot(reviewed_only=reviewed_only)[0]

    def _labelled_snapshot(self, *, reviewed_only: bool) -> tuple[Annotations, set[str], set[str]]:
        """``(labels, reviewed image paths, paths of images holding pending predictions)``, one read."""
        status_sql = "AND i.status = 'reviewed'" if reviewed_only else ""
        with self._db.read() as conn:
            class_names = tuple(r[0] for r in conn.execute("SELECT name FROM classes ORDER BY ord, id"))
            images = conn.execute(
                f"SELECT i.id, i.path, i.width, i.height, i.status FROM images i WHERE i.missing = 0 "
                f"{status_sql} ORDER BY i.path").fetchall()
            rows = conn.execute(
                f"SELECT b.image_id, {BOX_COLUMNS} FROM boxes b JOIN classes c ON c.id = b.class_id "
                f"JOIN images i ON i.id = b.image_id WHERE b.rejected = 0 AND b.source IN {CONFIRMED_SOURCES_SQL} "
                f"AND i.missing = 0 {status_sql} ORDER BY b.image_id, b.id").fetchall()
            pending_ids = {r[0] for r in conn.execute(
                "SELECT DISTINCT image_id FROM boxes WHERE source = 'predicted' AND rejected = 0")}
            rejected_rows = conn.execute(
                f"SELECT b.image_id, {BOX_COLUMNS} FROM boxes b JOIN classes c ON c.id = b.class_id "
                f"JOIN images i ON i.id = b.image_id WHERE b.rejected = 1 AND i.missing = 0 {status_sql} "
                "ORDER BY b.image_id, b.id").fetchall()
            missing = conn.execute(
                f"SELECT COUNT(*) FROM images i WHERE i.missing = 1 {status_sql}").fetchone()[0]
        by_image: dict[int, list[Box]] = defaultdict(list)
        for row in rows:
            by_image[row[0]].append(row_to_box(row[1:]))
        rejected: dict[int, list[Box]] = defaultdict(list)  # known background, never labels
        for row in rejected_rows:
            rejected[row[0]].append(row_to_box(row[1:]))
        warnings: list[str] = []
        if missing:
            warnings.append(f"{missing} missing image(s) left out (their boxes are kept in the project)")
        out: list[AnnotatedImage] = []
        reviewed: set[str] = set()
        pending: set[str] = set()
        for image_id, path, width, height, status in images:
            if width is None or height is None:
                try:
                    width, height = self.image_size(image_id)  # type: ignore[attr-defined]
                except (ImageLoadError, ProjectError) as exc:
                    warnings.append(f"{path}: left out, size unreadable ({exc})")
                    continue
            out.append(AnnotatedImage(path, int(width), int(height), tuple(by_image.get(image_id, ())),
                                      tuple(rejected.get(image_id, ()))))
            if status == "reviewed":
                reviewed.add(path)
            if image_id in pending_ids:
                pending.add(path)
        ann = Annotations(root=self.folder, class_names=class_names, images=tuple(out), warnings=tuple(warnings))
        return ann, reviewed, pending

    def add_model(self, path: str | Path, metrics: Mapping[str, Any] | None = None) -> int:
        """Record a checkpoint (``metrics``: JSON-able numbers such as AP); returns the model id.

        The path is stored relative to the project folder when inside it, so moving the folder keeps it.
        """
        path = Path(path).expanduser().absolute()
        try:
            stored = path.relative_to(self.folder).as_posix()
        except ValueError:
            stored = str(path)
        try:
            metrics_json = json.dumps(_finite(dict(metrics or {})), sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise ProjectError(f"model metrics must be JSON-serialisable: {exc}") from exc
        with self._db.write() as conn:
            cur = conn.execute("INSERT INTO models (path, created, metrics) VALUES (?, ?, ?)",
                               (stored, time.time(), metrics_json))
            return int(cur.lastrowid)

    def models(self) -> list[ModelRecord]:
        """Recorded models, oldest first."""
        rows = self._db.connect().execute("SELECT id, path, created, metrics FROM models ORDER BY id").fetchall()
        return [ModelRecord(int(i), self.folder / p, float(c), json.loads(m)) for i, p, c, m in rows]

    def model(self, model_id: int) -> ModelRecord:
        for record in self.models():
            if record.id == model_id:
                return record
        raise ProjectError(f"{self.folder}: no model with id {model_id}")


def _finite(value: Any) -> Any:
    """NaN/inf become None so the JSON stays standard (json.dumps would write NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
