"""The labeling project store: a folder of images plus ``.retinalab/project.db`` (SQLite, WAL).

``Project.open(folder)`` creates the database when missing and scans the folder (file names only;
sizes are read lazily from headers), so any folder of images is a project. Paths are stored relative
to the folder with forward slashes, so a moved or copied folder still opens; images added to the
folder appear on the next open or ``rescan()``, vanished ones are marked ``missing`` and keep their
boxes. Every edit is one ``BEGIN IMMEDIATE`` transaction, committed before the call returns, in WAL mode
with ``synchronous=NORMAL``: a commit is in the operating system's hands when the call returns, so a
kill -9 at any instant loses nothing acknowledged (tested with random kills), and a background thread
fsyncs the write-ahead log within a second of each commit, so even a power cut loses at most the last
second of edits. Chosen by measurement (bench/store.py): ``synchronous=FULL`` fsyncs every commit and
its rate is the disk's fsync latency: 2,400 commits/s on an idle disk but 200-270/s on the same
machine under load, below the 500 edits/s goal, while NORMAL keeps thousands per second either way
(``ProjectBase.synchronous = "FULL"`` before opening switches to fsync-per-commit). The object is used
from several threads: each thread gets its own connection; writers queue on a 30 s busy timeout;
``snapshot()`` is one read transaction, a consistent state while edits continue. A foreign or corrupt ``project.db`` raises ``ProjectError`` naming it and
is never overwritten; a folder that cannot be written, or a project already open elsewhere (advisory
lock on ``.retinalab/lock``), opens read-only with ``read_only_reason`` and every write raises
``ProjectError``.

API (``image`` is an ``ImageRecord`` or an image id; boxes are ``engine.types.Box`` in upright pixels)::

    p = Project.open(folder, *, read_only=False)     # context manager too; p.close()
    p.folder, p.read_only, p.read_only_reason, p.db_path
    p.rescan() -> (added, newly_missing)
    with p.transaction(): ...                        # several edits, one atomic commit
    p.images(status=None, *, order="path"|"uncertainty") -> list[ImageRecord]   # missing ones flagged
    p.image(id) -> ImageRecord; p.find_image(rel_or_abs_path) -> ImageRecord | None
    p.image_path(image) -> Path; p.image_size(image) -> (w, h)   # header read once, then stored
    p.fill_sizes(*, batch=200, should_stop=None) -> n          # background pass over unknown sizes
    p.set_image_size(image, w, h); p.set_status(image, "new"|"predicted"|"reviewed")
    p.set_uncertainty(image, u | None)                           # for review ordering
    p.boxes(image) -> list[Box]            # ids set, creation order, rejected predictions excluded
    p.box(box_id) -> Box; p.box_counts() -> {image_id: n}
    p.add_box(image, box, *, model_id=None) -> id  # box.id kept when free (undo); new label adds class
    p.update_box(box_id, box | {"x1": .., "label": .., "source": ..}) -> Box (as stored)
    p.delete_box(box_id); p.reject_box(box_id); p.restore_box(box_id); p.rejected_boxes(image)
    p.set_predictions(image, detections, *, model_id=None) -> list[Box]
    p.classes() -> list[ClassInfo]; p.class_names(); p.class_counts() -> {name: n}
    p.add_class(name, colour=None) -> ClassInfo; p.rename_class(old, new)
    p.set_class_colour(name, "#rrggbb"); p.reorder_classes(names)
    p.delete_class(name, *, reassign_to=None, delete_boxes=False) -> n boxes affected
    p.add_model(path, metrics) -> id; p.models() -> list[ModelRecord]; p.model(id)
    p.snapshot(*, reviewed_only=True) -> Annotations       # labels only; root = folder, consistent
    p.training_data(scope="reviewed"|"confirmed") -> Annotations   # what a training run learns from
    p.mark_reviewed(image, *, score_thresh) -> ReviewChange; p.undo_review(change)
    p.validation_marks() -> set[path]; p.set_validation(image, marked)
    p.setting(key, default=None) -> str | None; p.set_setting(key, value | None)   # view preferences
    p.import_labels(path, "coco"|"voc"|"yolo") -> ImportReport
    p.export(dst, fmt, *, reviewed_only=False, copy_images=True, include_predictions=None) -> ExportReport

Labels: a label is a confirmed box (manual, accepted, edited), never a pending prediction; the rule,
the training data selection and the review step live in ``engine.project.labels``.

Rules: boxes with a non-finite value or thinner than 1 pixel are refused with ``ProjectError``; boxes
are clipped to the image when its size is known. Provenance: the source a caller passes is kept, except
that a ``predicted``/``accepted`` box whose geometry or label changes without a new source becomes
``edited``. ``set_predictions`` replaces only untouched ``predicted`` boxes (manual, accepted, edited
and rejected ones stay; a detection overlapping one of them by IoU >= 0.7 with the same class is
dropped) and moves status ``new`` to ``predicted``. ``reject_box`` hides a model-made box but keeps it
as known background (``rejected_boxes``); manual boxes are deleted instead. Classes used by boxes are
deleted only with ``reassign_to`` or ``delete_boxes=True``. Schema: ``engine.project.schema``
(versioned by ``PRAGMA user_version``, forward migrations only).
"""

from __future__ import annotations

from engine.errors import ProjectError
from engine.project.classes import ClassesMixin
from engine.project.interchange import InterchangeMixin
from engine.project.labels import CONFIRMED_SOURCES, LabelsMixin, ReviewChange, is_label
from engine.project.records import ClassInfo, ExportReport, ImportReport, ModelRecord
from engine.project.scan import ScanMixin
from engine.project.settings import SettingsMixin
from engine.project.store import ProjectBase
from engine.project.training import TrainingMixin


class Project(ScanMixin, ClassesMixin, LabelsMixin, TrainingMixin, InterchangeMixin, SettingsMixin, ProjectBase):
    """A labeling project; open with ``Project.open(folder)`` (see the module docstring)."""

    @classmethod
    def open(cls, folder, *, read_only: bool = False) -> Project:  # type: ignore[override]
        project = super().open(folder, read_only=read_only)
        try:
            project.import_validation_sidecar()
        except BaseException:
            project.close()
            raise
        return project


__all__ = ["CONFIRMED_SOURCES", "ClassInfo", "ExportReport", "ImportReport", "ModelRecord", "Project",
           "ProjectError", "ReviewChange", "is_label"]
