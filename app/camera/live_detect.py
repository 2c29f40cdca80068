"""Live detection: run the detector on the newest camera frame, dropping stale ones.

``LiveDetectWorker`` is a :class:`~app.workers.base.Worker` started with ``WorkerPool.start``; it runs
until ``abort`` with a one-slot mailbox: ``submit(frame)`` (called from the
capture thread for every frame) replaces whatever frame is still waiting, so the detector always works
on the most recent frame and display never waits for it. Results come back as ``LiveDetections`` via
``detections_ready``. The detector comes from ``detector_provider``, called on the worker thread before
each frame, so torch is imported and a model built off the GUI thread and a hot-swapped model is picked
up at the next frame; the provider should return a cached ``engine.infer.Detector`` (or None: no model).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from PySide6.QtCore import Signal

from app.workers.base import Worker
from engine.errors import RetinaLabError
from engine.types import Detection
from engine.video import Frame

if TYPE_CHECKING:
    from engine.infer import Detector

logger = logging.getLogger(__name__)

DetectorProvider = Callable[[], "Detector | Any | None"]


@dataclass(frozen=True)
class LiveDetections:
    """The detections for one frame: boxes in that frame's pixels, and timings (``perf_counter``)."""

    frame_index: int
    captured_at: float
    detections: tuple[Detection, ...]
    infer_s: float
    done_at: float
    frame: Frame | None = None  # the frame detected on (Camera › Collect uncertain frames saves it)


class LiveDetectWorker(Worker):
    """Detects on the newest submitted frame, one at a time; see the module docstring."""

    detections_ready = Signal(object)  # LiveDetections
    detector_missing = Signal()  # the provider had no model (emitted once until one appears)

    def __init__(self, detector_provider: DetectorProvider, *, score_thresh: float = 0.3) -> None:
        super().__init__("live-detect")
        self._provider = detector_provider
        self._cond = threading.Condition()
        self._pending: Frame | None = None
        self.score_thresh = float(score_thresh)
        self.frames_submitted = 0
        self.frames_detected = 0

    def submit(self, frame: Frame) -> None:
        """Offer a frame (any thread); it replaces a frame still waiting for the detector."""
        with self._cond:
            self._pending = frame
            self.frames_submitted += 1
            self._cond.notify_all()

    def set_score_thresh(self, thresh: float) -> None:
        self.score_thresh = float(thresh)

    def abort(self) -> None:
        """End the loop after the frame in the detector; safe from any thread."""
        super().abort()
        with self._cond:
            self._cond.notify_all()

    def work(self) -> None:
        last_error: str | None = None
        missing_told = False
        while True:
            with self._cond:
                while self._pending is None and not self.should_stop():
                    self._cond.wait()
                if self.should_stop():
                    return
                frame, self._pending = self._pending, None
            try:
                result = self._detect(frame)
            except RetinaLabError as exc:
                message = str(exc)
            except Exception as exc:  # keep the live view going; say once what is wrong
                logger.exception("live detection failed")
                message = f"live detection failed: {exc}"
            else:
                last_error = None
                if result is not None:
                    missing_told = False
                    self.frames_detected += 1
                    self.detections_ready.emit(result)
                elif not missing_told:
                    missing_told = True
                    self.detector_missing.emit()
                continue
            if message != last_error:
                self.errored.emit(message)
                last_error = message

    def _detect(self, frame: Frame) -> LiveDetections | None:
        detector = self._provider()
        if detector is None:
            return None
        start = time.perf_counter()
        detections = detector.predict([frame.pixels], score_thresh=self.score_thresh, batch_size=1)[0]
        done = time.perf_counter()
        return LiveDetections(frame.index, frame.captured_at, tuple(detections), done - start, done, frame)
