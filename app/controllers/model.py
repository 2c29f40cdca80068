"""The model as the GUI sees it: load (checkpoint, COCO-pretrained, compact), detect, Detect All.

Owns the ``ModelWorker`` (its own QThread; torch is imported there on the first load) and talks to it
only through queued signals. Detections for the current image are applied to the Document only if
the image id and generation still match the navigator's; anything else is dropped. Every pass stores
the image's uncertainty (``engine.review.uncertainty``) for the file list's "most uncertain first". When a model is
loaded, a newly shown image whose status is ``new`` is detected automatically.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

from app.text import plural

from app.controllers.navigator import Navigator
from app.widgets.file_list import FileListDock
from app.workers.base import WorkerPool
from app.workers.model import DetectorFactory, ModelInfo, ModelSpec, ModelWorker
from app.workers.tasks import onnx_export_worker
from engine.demo import demo_model_path
from engine.resources import resource_path

if TYPE_CHECKING:
    from app.document import Document
    from engine.project import Project
    from engine.types import Detection

log = logging.getLogger(__name__)

COMPACT_MODEL_DIR = resource_path("models")


def compact_model_path() -> Path | None:
    """The demo/compact checkpoint shipped under ``resources/models/``, if installed. Named, not the first
    ``*.pt`` there: the procedurally pretrained model (a start for training, not a detector) sits beside it."""
    path = demo_model_path()
    return path if path.is_file() else None


class ModelController(QObject):
    model_ready = Signal(object)  # ModelInfo
    model_failed = Signal(str)
    loading_changed = Signal(bool)
    detections_shown = Signal(int, int)  # image id, number of boxes
    detection_failed = Signal(str)
    batch_started = Signal(int)  # number of images
    batch_progressed = Signal(int, int, float)  # done, total, eta seconds
    batch_finished = Signal(int, int, bool)  # done, failed, cancelled
    message = Signal(str)
    onnx_exported = Signal(str)  # the written .onnx path
    onnx_export_failed = Signal(str)

    _load_requested = Signal(object)
    _detect_requested = Signal(int, int, object)
    _detect_all_requested = Signal(object, object)

    def __init__(self, pool: WorkerPool, document: Document, navigator: Navigator, file_list: FileListDock,
                 factory: DetectorFactory | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = pool
        self._document = document
        self._navigator = navigator
        self._file_list = file_list
        self.worker = ModelWorker(factory)
        pool.start_service(self.worker)
        self.info: ModelInfo | None = None
        self.requested_spec: ModelSpec | None = None  # the last load asked for
        self.loaded_spec: ModelSpec | None = None  # the model on screen (the Train panel fine-tunes it)
        self.loading = False
        self.batch_running = False
        self.auto_detect = True
        self.dropped = 0  # stale results thrown away (for tests and the log)
        self._load_requested.connect(self.worker.load)
        self._detect_requested.connect(self.worker.detect)
        self._detect_all_requested.connect(self.worker.detect_all)
        self.worker.model_loaded.connect(self._on_worker_model_loaded)
        self.worker.model_failed.connect(self._on_worker_model_failed)
        self.worker.detections_ready.connect(self._on_worker_detections_ready)
        self.worker.detection_failed.connect(self._on_worker_detection_failed)
        self.worker.batch_image_done.connect(self._on_worker_batch_image_done)
        self.worker.uncertainty_stored.connect(self._on_worker_uncertainty_stored)
        self.worker.batch_progressed.connect(self.batch_progressed)
        self.worker.batch_finished.connect(self._on_worker_batch_finished)
        navigator.image_shown.connect(self._on_navigator_image_shown)
        self._last_detections: tuple[int, list[float]] | None = None  # (image id, scores) last shown
        document.score_thresh_changed.connect(self._on_document_score_thresh_changed)

    # --- loading ----------------------------------------------------------------------------
    def load(self, spec: ModelSpec) -> None:
        self.requested_spec = spec
        self.loading = True
        self.loading_changed.emit(True)
        self.message.emit(f"Loading model {spec.display_name}…")
        self._load_requested.emit(spec)

    def load_checkpoint(self, path: str | Path) -> None:
        """A RetinaLab checkpoint (``.pt``) or ONNX export (``.onnx``)."""
        self.load(ModelSpec("checkpoint", str(path)))

    def exportable_checkpoint(self) -> Path | None:
        """The loaded model's checkpoint file when it can be exported to ONNX (a ``.pt`` that loaded)."""
        spec = self.requested_spec
        if self.info is None or self.loading or spec is None or spec.kind != "checkpoint":
            return None
        path = Path(spec.source)
        return path if path.suffix.lower() != ".onnx" and path.is_file() else None

    def export_onnx(self, dst: str | Path) -> bool:
        """Export the loaded checkpoint to ``dst`` (.onnx) on a worker thread; reports through ``message``."""
        src = self.exportable_checkpoint()
        if src is None:
            self.message.emit("Export to ONNX needs a loaded checkpoint (.pt): load one from the Model menu")
            return False
        worker = onnx_export_worker(src, Path(dst))
        worker.returned.connect(self._on_onnx_export_returned)
        worker.errored.connect(self._on_onnx_export_errored)
        self.message.emit(f"Exporting {src.name} to ONNX…")
        self._pool.start(worker)
        return True

    @Slot(object)
    def _on_onnx_export_returned(self, dst: object) -> None:
        size_mb = Path(str(dst)).stat().st_size / 1e6 if Path(str(dst)).is_file() else 0.0
        self.message.emit(f"Exported the model to {dst} ({size_mb:.1f} MB; runs with ONNX Runtime)")
        self.onnx_exported.emit(str(dst))

    @Slot(str)
    def _on_onnx_export_errored(self, message: str) -> None:
        self.message.emit(f"ONNX export failed: {message}")
        self.onnx_export_failed.emit(message)

    def load_pretrained(self, arch: str, title: str = "") -> None:
        """Load torchvision's COCO weights (already downloaded; see the download dialog)."""
        self.load(ModelSpec("pretrained", arch, title))

    def load_compact(self) -> bool:
        path = compact_model_path()
        if path is None:
            self.message.emit(f"No compact model found in {COMPACT_MODEL_DIR}")
            self.model_failed.emit(f"no compact model in {COMPACT_MODEL_DIR}")
            return False
        self.load(ModelSpec("checkpoint", str(path), f"compact ({path.name})"))
        return True

    # --- detection --------------------------------------------------------------------------
    def detect_current(self) -> bool:
        """Ask for detections on the shown image; False when there is no model or no pixels."""
        doc = self._document
        if self.info is None or doc.record is None or doc.pixels is None:
            if self.info is None:
                self.message.emit("Load a model first (Model menu)")
            return False
        if doc.record.id != self._navigator.current_id:
            return False
        self._detect_requested.emit(doc.record.id, self._navigator.generation, doc.pixels)
        self.message.emit(f"Detecting on {doc.record.path}…")
        return True

    def detect_all(self, project: Project | None) -> int:
        """Auto-label every image not yet reviewed; returns how many were queued."""
        if self.info is None or project is None or self.batch_running:
            if self.info is None:
                self.message.emit("Load a model first (Model menu)")
            return 0
        ids = [i for i in self._file_list.model.ids() if self._file_list.model.stored_status(i) != "reviewed"]
        items = [(i, project.folder / self._file_list.model.path(i)) for i in ids]
        if not items:
            self.message.emit("Nothing to detect: every image is reviewed")
            return 0
        self.batch_running = True
        self.worker.decision_thresh = self._document.score_thresh
        self.batch_started.emit(len(items))
        self._detect_all_requested.emit(project, items)
        return len(items)

    def cancel_batch(self) -> None:
        self.worker.cancel_batch()  # sets a threading.Event; read between images

    # --- worker slots -----------------------------------------------------------------------
    @Slot(object)
    def _on_worker_model_loaded(self, info: ModelInfo) -> None:
        self.info = info
        self.loaded_spec = self.requested_spec
        self.loading = False
        self.loading_changed.emit(False)
        runs_on = f"{info.device}, {info.backend}" if info.backend else info.device
        self.message.emit(
            f"Model ready: {info.title} ({plural(info.num_classes, 'class', 'classes')}, {runs_on}, "
            f"loaded in {info.load_s:.1f} s)"
        )
        self.model_ready.emit(info)
        record = self._document.record
        if record is not None and self.auto_detect and record.status == "new":
            self.detect_current()

    @Slot(str)
    def _on_worker_model_failed(self, message: str) -> None:
        self.loading = False
        self.loading_changed.emit(False)
        self.message.emit(f"Model not loaded: {message}")
        self.model_failed.emit(message)

    @Slot(int)
    def _on_navigator_image_shown(self, image_id: int) -> None:
        self.worker.latest_generation = self._navigator.generation
        record = self._document.record
        if self.info is not None and self.auto_detect and record is not None and record.status == "new":
            self.detect_current()

    def _is_current(self, image_id: int, generation: int) -> bool:
        record = self._document.record
        return (
            record is not None and record.id == image_id
            and image_id == self._navigator.current_id and generation == self._navigator.generation
        )

    @Slot(int, int, object)
    def _on_worker_detections_ready(self, image_id: int, generation: int, detections: list[Detection]) -> None:
        if not self._is_current(image_id, generation):
            self.dropped += 1
            log.debug("dropped stale detections for image %d (generation %d)", image_id, generation)
            return
        self._document.set_predictions(detections)
        self._store_uncertainty(image_id, detections)
        self._last_detections = (image_id, [d.score for d in detections])
        self._say_detections()
        self.detections_shown.emit(image_id, len(detections))

    def _say_detections(self) -> None:
        image_id, scores = self._last_detections or (None, [])
        record = self._document.record
        if image_id is None or record is None or record.id != image_id:
            return
        thresh = self._document.score_thresh
        shown = sum(1 for score in scores if score >= thresh)
        self.message.emit(f"{plural(len(scores), 'detection')} ({shown} shown at score ≥ {thresh:.2f})")

    @Slot(float)
    def _on_document_score_thresh_changed(self, _thresh: float) -> None:
        self._say_detections()  # the count follows the score slider

    def _store_uncertainty(self, image_id: int, detections: list) -> None:
        """The shown image's uncertainty after a pass (a few boxes of arithmetic and one small write)."""
        doc, project = self._document, self._document.project
        if project is None or project.read_only:
            return
        from app.workers.model import store_uncertainty

        try:
            u = store_uncertainty(project, image_id, detections, doc.score_thresh)
        except Exception as exc:  # the ordering is a hint; never lose the detections over it
            log.warning("uncertainty not stored for image %d: %s", image_id, exc)
            return
        self._file_list.set_uncertainty(image_id, u)

    @Slot(int, float)
    def _on_worker_uncertainty_stored(self, image_id: int, uncertainty: float) -> None:
        self._file_list.set_uncertainty(image_id, uncertainty)

    @Slot(int, int, str)
    def _on_worker_detection_failed(self, image_id: int, generation: int, message: str) -> None:
        if self._is_current(image_id, generation):
            self.message.emit(f"Detection failed: {message}")
            self.detection_failed.emit(message)

    @Slot(int, int, str)
    def _on_worker_batch_image_done(self, image_id: int, num_boxes: int, error: str) -> None:
        if error:
            self._file_list.set_unreadable(image_id, error)
            return
        if self._file_list.model.stored_status(image_id) == "new":
            self._file_list.set_status(image_id, "predicted")
        if image_id == self._navigator.current_id:
            self._navigator.show_image(image_id)  # reload its boxes from the store

    @Slot(int, int, bool)
    def _on_worker_batch_finished(self, done: int, failed: int, cancelled: bool) -> None:
        self.batch_running = False
        verb = "cancelled after" if cancelled else "finished:"
        extra = f", {failed} unreadable" if failed else ""
        self.message.emit(f"Detect All {verb} {plural(done, 'image')}{extra}")
        self.batch_finished.emit(done, failed, cancelled)
