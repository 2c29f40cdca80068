"""Camera › Collect uncertain frames: keep the frames the model finds hard, while live detection runs.

For every live-detection result the ``UncertainFrameCollector`` computes the frame's uncertainty
(``engine.review.image_uncertainty`` at the panel's min score, the same number Detect All stores)
and, when it reaches the threshold and at least N seconds have passed since the last one, grabs
that frame into the project with its predictions on a worker thread (``grab_into_project``, which
stores the uncertainty too), so the frame arrives near the top of the file list's "most uncertain
first" order. Live detection only reports boxes scoring at least the min score, so a frame counts
as uncertain when a box sits just above it. One grab at a time; results arriving meanwhile are
skipped. The controls (a check box, the threshold and N) sit in a row of the camera panel.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QHBoxLayout

from app.camera.grab import GrabbedFrame, grab_into_project
from app.camera.live_detect import LiveDetections
from app.workers.base import FunctionWorker, WorkerPool

DEFAULT_THRESHOLD = 0.8
DEFAULT_INTERVAL_S = 5.0


class UncertainFrameCollector(QObject):
    """See the module docstring. ``consider(result, info)`` is called for every live result."""

    collected = Signal(object)  # GrabbedFrame
    failed = Signal(str)

    def __init__(self, pool: WorkerPool, project_provider: Callable[[], Any], score_provider: Callable[[], float],
                 *, clock: Callable[[], float] = time.monotonic, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = pool
        self._project_provider = project_provider
        self._score_provider = score_provider
        self._clock = clock
        self._last_at = -math.inf
        self.busy = False
        self.check = QCheckBox("Collect uncertain frames", objectName="cameraCollect",
                               toolTip="While detecting, save frames the model is unsure about into the project")
        self.threshold_spin = QDoubleSpinBox(objectName="cameraCollectThreshold", minimum=0.0, maximum=1.0,
                                             singleStep=0.05, value=DEFAULT_THRESHOLD, decimals=2,
                                             prefix="uncertainty ≥ ")
        self.interval_spin = QDoubleSpinBox(objectName="cameraCollectInterval", minimum=0.0, maximum=3600.0,
                                            singleStep=1.0, value=DEFAULT_INTERVAL_S, decimals=1,
                                            prefix="at most one every ", suffix=" s")
        for widget in (self.check, self.threshold_spin, self.interval_spin):
            widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def row(self) -> QHBoxLayout:
        layout = QHBoxLayout()
        layout.addWidget(self.check)
        layout.addWidget(self.threshold_spin)
        layout.addWidget(self.interval_spin)
        layout.addStretch(1)
        return layout

    @property
    def enabled(self) -> bool:
        return self.check.isChecked()

    def set_enabled(self, on: bool) -> None:
        self.check.setChecked(on)

    def consider(self, result: LiveDetections, info: Any) -> float | None:
        """Grab ``result``'s frame when it qualifies; returns its uncertainty when grabbed, else None."""
        if not self.enabled or self.busy or result.frame is None or info is None:
            return None
        now = self._clock()
        if now - self._last_at < self.interval_spin.value():
            return None
        from engine.review import image_uncertainty

        score = float(self._score_provider())
        u = image_uncertainty(list(result.detections), decision_thresh=score)
        if u < self.threshold_spin.value():
            return None
        project = self._project_provider()
        if project is None or getattr(project, "read_only", False):
            return None
        self._last_at = now
        self.busy = True
        frame, detections = result.frame, list(result.detections)
        name, is_file = info.name, info.is_file

        def job(report: Callable[..., None], should_stop: Callable[[], bool]) -> GrabbedFrame:
            return grab_into_project(project, frame, detections, source_name=name, is_file=is_file,
                                     score_thresh=score)

        worker = FunctionWorker(job, name="collect uncertain frame")
        worker.returned.connect(self._on_worker_returned)
        worker.errored.connect(self._on_worker_errored)
        worker.finished.connect(self._on_worker_finished)
        self._pool.start(worker)
        return u

    @Slot(object)
    def _on_worker_returned(self, grabbed: GrabbedFrame) -> None:
        self.collected.emit(grabbed)

    @Slot(str)
    def _on_worker_errored(self, message: str) -> None:
        self.failed.emit(message)

    @Slot()
    def _on_worker_finished(self) -> None:
        self.busy = False
