"""The detector's home: a long-lived worker on its own QThread that loads and runs the model.

torch, torchvision and ``engine.infer`` are imported here, inside ``load``, on the worker's thread,
so the window opens without them. Requests arrive through queued signals: ``load(spec)``,
``detect(image_id, generation, pixels)`` for the current image and ``detect_all(project, items)``
for batch auto-labelling, which writes predictions through ``Project.set_predictions`` and each
image's uncertainty (``engine.review.image_uncertainty`` at ``decision_thresh``) through
``Project.set_uncertainty``, and reports progress with an ETA. Every detection result carries the image id and generation it was asked for;
a request older than ``latest_generation`` is skipped before running, and the GUI drops stale
results that still arrive. Cancel sets a ``threading.Event`` read between images.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal, Protocol, Sequence

from PySide6.QtCore import QObject, Signal, Slot

from app.workers.base import describe_error

if TYPE_CHECKING:
    from engine.types import Detection

log = logging.getLogger(__name__)

DETECT_SCORE_THRESH = 0.05  # stored predictions; the score slider hides the low ones


@dataclass(frozen=True)
class ModelSpec:
    """Which model to load: a checkpoint file, or a torchvision COCO-pretrained architecture."""

    kind: Literal["checkpoint", "pretrained"]
    source: str  # checkpoint path (.pt or .onnx), or arch name for "pretrained"
    title: str = ""

    @property
    def display_name(self) -> str:
        return self.title or (Path(self.source).name if self.kind == "checkpoint" else self.source)


@dataclass(frozen=True)
class ModelInfo:
    """What the status bar says about the loaded model."""

    title: str
    arch: str
    num_classes: int
    device: str
    load_s: float
    backend: str = ""  # what runs the network, for people: "ONNX Runtime" or "PyTorch"


class Predictor(Protocol):
    """What the app uses of a loaded detector (``engine.infer.Detector``, its ONNX Runtime twin, a
    test's fake); ``arch``, ``device`` and ``backend_name`` are shown when a detector has them."""

    class_names: Sequence[str]

    def predict(self, images: Sequence[Any], score_thresh: float = ...,
                batch_size: int = ...) -> list[list[Detection]]: ...


DetectorFactory = Callable[[ModelSpec], Predictor]


def default_detector_factory(spec: ModelSpec) -> Predictor:
    from engine.infer import Detector  # imports torch: only ever on the model thread

    # backend "auto": ONNX Runtime on the CPU (a .pt is exported in memory; bench/infer.py: ~2x faster)
    if spec.kind == "checkpoint":
        return Detector.from_checkpoint(spec.source, device="auto")
    return Detector.from_pretrained(spec.source, device="auto")


class ModelWorker(QObject):
    """Start with ``WorkerPool.start_service``; call its slots through queued signals."""

    model_loaded = Signal(object)  # ModelInfo
    model_failed = Signal(str)
    detections_ready = Signal(int, int, object)  # image_id, generation, list[Detection]
    detection_failed = Signal(int, int, str)  # image_id, generation, message
    batch_progressed = Signal(int, int, float)  # done, total, eta seconds (-1 unknown)
    batch_image_done = Signal(int, int, str)  # image_id, number of boxes, error ("" if none)
    uncertainty_stored = Signal(int, float)  # image_id, uncertainty (emitted before batch_image_done)
    batch_finished = Signal(int, int, bool)  # images done, images failed, cancelled

    def __init__(self, factory: DetectorFactory | None = None) -> None:
        super().__init__()
        self.name = "ModelWorker"
        self._factory = factory or default_detector_factory
        self._detector: Predictor | None = None
        self._model_id: int | None = None
        self._closing = threading.Event()
        self._batch_stop = threading.Event()
        self.latest_generation = 0  # written by the GUI thread; an int store is atomic
        self.decision_thresh = 0.3  # the score slider's value, for the uncertainty; written by the GUI thread

    @property
    def has_model(self) -> bool:
        return self._detector is not None

    @property
    def detector(self) -> Predictor | None:
        """The loaded detector or None; any thread may read it (the camera's live view does)."""
        return self._detector

    def abort(self) -> None:
        """Closing: stop any batch and ignore queued requests."""
        self._closing.set()
        self._batch_stop.set()

    def cancel_batch(self) -> None:
        self._batch_stop.set()

    @Slot(object)
    def load(self, spec: ModelSpec) -> None:
        if self._closing.is_set():
            return
        started = time.perf_counter()
        try:
            detector = self._factory(spec)
        except Exception as exc:
            log.info("model %s failed to load: %s", spec.display_name, exc)
            self.model_failed.emit(describe_error(exc))
            return
        self._detector = detector
        self._model_id = None
        info = ModelInfo(
            title=spec.display_name,
            arch=str(getattr(detector, "arch", "")),
            num_classes=len(detector.class_names),
            device=str(getattr(detector, "device", "cpu")),
            load_s=time.perf_counter() - started,
            backend=str(getattr(detector, "backend_name", "")),
        )
        log.info("model %s ready: %s on %s", info.title, info.backend or "custom detector", info.device)
        self.model_loaded.emit(info)

    @Slot(object)
    def set_model_id(self, model_id: object) -> None:
        self._model_id = model_id if isinstance(model_id, int) else None

    @Slot(int, int, object)
    def detect(self, image_id: int, generation: int, image: object) -> None:
        """Run on one image (pixels or path); skipped when the user has moved on already."""
        if self._closing.is_set() or self._detector is None:
            return
        if generation < self.latest_generation:
            return
        try:
            (dets,) = self._detector.predict([image], score_thresh=DETECT_SCORE_THRESH)
        except Exception as exc:
            self.detection_failed.emit(image_id, generation, describe_error(exc))
            return
        self.detections_ready.emit(image_id, generation, list(dets))

    @Slot(object, object)
    def detect_all(self, project: Any, items: Sequence[tuple[int, Path]]) -> None:
        """Predict every (image_id, path) and store the boxes in ``project``; cancel between images."""
        self._batch_stop.clear()
        total, done, failed = len(items), 0, 0
        if self._detector is None or self._closing.is_set():
            self.batch_finished.emit(0, 0, True)
            return
        started = time.perf_counter()
        for image_id, path in items:
            if self._batch_stop.is_set():
                break
            error, num_boxes = "", 0
            try:
                (dets,) = self._detector.predict([str(path)], score_thresh=DETECT_SCORE_THRESH)
                num_boxes = len(project.set_predictions(image_id, list(dets), model_id=self._model_id))
                self.uncertainty_stored.emit(image_id, store_uncertainty(project, image_id, dets,
                                                                         self.decision_thresh))
            except Exception as exc:  # one bad image must not stop the batch
                error = describe_error(exc)
                failed += 1
            done += 1
            elapsed = time.perf_counter() - started
            eta = elapsed / done * (total - done) if done else -1.0
            self.batch_image_done.emit(image_id, num_boxes, error)
            self.batch_progressed.emit(done, total, eta)
        self.batch_finished.emit(done, failed, self._batch_stop.is_set())


def store_uncertainty(project: Any, image_id: int, detections: Sequence[Any], decision_thresh: float) -> float:
    """Compute the image's uncertainty against its confirmed labels and rejections, store it, return it."""
    from engine.review import image_uncertainty

    record = project.image(image_id)
    u = image_uncertainty(list(detections), decision_thresh=decision_thresh, labels=project.boxes(image_id),
                          rejected=project.rejected_boxes(image_id), reviewed=record.status == "reviewed")
    project.set_uncertainty(image_id, u)
    return u
