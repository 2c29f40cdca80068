"""Runs the disagreement finder for the Review dock and applies the fix a finding suggests.

``run()`` hands the loaded detector and the project to a one-shot worker (``review_project``): it
predicts every reviewed or labelled image, finds disagreements with the confirmed labels
(``engine.review``), stores each image's uncertainty on the way (a detection pass like any other),
and learns which images the model was trained on. Like the camera's live view, it calls the
detector from its own thread. Activating a finding shows its image and selects the box; ``fix()``
(the X shortcut or the dock's button) applies the suggestion through the Document's ordinary edit
methods, so Ctrl+Z undoes it like any edit: add the predicted box, delete the label, take the
predicted class, or snap the box to the prediction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence

from app.review.dock import ReviewDock
from app.workers.base import Cancelled, FunctionWorker, ProgressFn, StopFn
from engine.types import Box

if TYPE_CHECKING:  # engine.review is imported by the first run, off the GUI thread
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QDockWidget

    from app.controllers.model import ModelController
    from app.controllers.navigator import Navigator
    from app.controllers.project import ProjectController
    from app.document import Document
    from app.widgets.box_list import BoxListDock
    from app.widgets.file_list import FileListDock
    from app.widgets.status import StatusBarView
    from app.workers.base import WorkerPool
    from app.workers.model import Predictor
    from engine.project import Project
    from engine.review import Finding

log = logging.getLogger(__name__)

FIX_SHORTCUT = "X"


class ReviewWindow(Protocol):
    """What the Review dock uses of the main window (a ``QMainWindow``) it is installed into."""

    document: Document
    navigator: Navigator
    models: ModelController
    projects: ProjectController
    file_list: FileListDock
    box_list: BoxListDock
    status: StatusBarView
    pool: WorkerPool

    def addAction(self, action: QAction) -> None: ...  # noqa: N802 - Qt's names

    def addDockWidget(self, area: Qt.DockWidgetArea, dock: QDockWidget) -> None: ...  # noqa: N802

    def tabifyDockWidget(self, first: QDockWidget, second: QDockWidget) -> None: ...  # noqa: N802


@dataclass(frozen=True)
class ReviewResult:
    findings: tuple[Finding, ...]
    trained: frozenset[int]  # image ids the model was trained on (empty when unknown)
    trained_known: bool
    images: int
    skipped: tuple[str, ...] = ()
    uncertainties: tuple[tuple[int, float], ...] = ()  # (image id, uncertainty) stored on the way


def review_project(project: Project, detector: Predictor, checkpoint: str | None, decision_thresh: float,
                   report: ProgressFn, should_stop: StopFn) -> ReviewResult:
    """The worker's job; see the module docstring."""
    from app.workers.model import DETECT_SCORE_THRESH, store_uncertainty
    from engine.review import find_disagreements, items_from_project, rank_findings
    from engine.review.trained_on import training_images

    items = items_from_project(project)
    trained_paths = training_images(checkpoint) if checkpoint else None
    findings: list[Finding] = []
    skipped: list[str] = []
    uncertainties: list[tuple[int, float]] = []
    for done, item in enumerate(items, start=1):
        if should_stop():
            raise Cancelled
        try:
            (dets,) = detector.predict([str(item.path)], score_thresh=DETECT_SCORE_THRESH)
        except Exception as exc:  # one unreadable image must not stop the review
            skipped.append(f"{item.image}: {exc}")
            continue
        findings += find_disagreements(item.labels, dets, image=item.image, image_id=item.image_id,
                                       rejected=item.rejected, check_missing=item.reviewed)
        if not project.read_only:
            uncertainties.append((item.image_id, store_uncertainty(project, item.image_id, dets, decision_thresh)))
        report(done, len(items), item.image)
    trained = frozenset(it.image_id for it in items
                        if trained_paths is not None and Path(it.path).resolve() in trained_paths)
    return ReviewResult(tuple(rank_findings(findings)), trained, trained_paths is not None, len(items),
                        tuple(skipped), tuple(uncertainties))


class ReviewController(QObject):
    review_finished = Signal(object)  # ReviewResult
    fix_applied = Signal(object)  # Finding
    message = Signal(str)

    def __init__(self, window: ReviewWindow, dock: ReviewDock) -> None:
        super().__init__(window)
        self._window = window
        self.dock = dock
        self.running: FunctionWorker | None = None
        self._pending: tuple[Finding, bool] | None = None  # (finding, apply the fix) once its image shows
        self.fix_action = QAction("Apply Suggested &Fix", window)
        self.fix_action.setObjectName("review_fix_action")
        self.fix_action.setShortcut(QKeySequence(FIX_SHORTCUT))
        self.fix_action.setStatusTip("Apply the fix the selected Review finding suggests (undo with Ctrl+Z)")
        window.addAction(self.fix_action)
        self.fix_action.triggered.connect(self._on_fix_action_triggered)
        dock.run_requested.connect(self.run)
        dock.finding_activated.connect(self.open_finding)
        dock.fix_requested.connect(self.fix)
        window.navigator.image_shown.connect(self._on_navigator_image_shown)

    # --- running the finder -----------------------------------------------------------------
    def run(self) -> bool:
        """Start a review with the loaded model; False (with the reason shown) when it cannot."""
        models, project = self._window.models, self._window.projects.project
        detector = models.worker.detector
        if project is None:
            return self._say("Open a project folder first.")
        if models.info is None or detector is None:
            return self._say("Load a model first (Model menu): the review compares its predictions with your labels.")
        if self.running is not None:
            return False
        spec = models.requested_spec
        checkpoint = spec.source if spec is not None and spec.kind == "checkpoint" else None
        thresh = self._window.document.score_thresh

        def job(report: ProgressFn, should_stop: StopFn) -> ReviewResult:
            return review_project(project, detector, checkpoint, thresh, report, should_stop)

        worker = FunctionWorker(job, name="review")
        worker.progressed.connect(self._on_worker_progressed)
        worker.returned.connect(self._on_worker_returned)
        worker.errored.connect(self._on_worker_errored)
        worker.finished.connect(self._on_worker_finished)
        self.running = worker
        self.dock.run_button.setEnabled(False)
        self.dock.status_label.setText("Finding label errors…")
        self._window.pool.start(worker)
        return True

    def _say(self, text: str) -> bool:
        self.dock.status_label.setText(text)
        self.message.emit(text)
        return False

    @Slot(int, int, str)
    def _on_worker_progressed(self, done: int, total: int, image: str) -> None:
        self.dock.status_label.setText(f"Finding label errors… {done} / {total} images")

    @Slot(object)
    def _on_worker_returned(self, result: ReviewResult) -> None:
        self.dock.set_findings(result.findings, set(result.trained))
        counts = {k: sum(f.kind == k for f in result.findings) for k in ("missing", "spurious", "wrong_class",
                                                                          "loose_box")}
        text = (f"{len(result.findings)} findings on {result.images} images: {counts['missing']} missing, "
                f"{counts['spurious']} spurious, {counts['wrong_class']} wrong class, {counts['loose_box']} loose")
        if result.trained_known:
            text += f" · model trained on {len(result.trained)} of these images (listed last)"
        else:
            text += " · unknown which of these images the model was trained on"
        if result.skipped:
            text += f" · {len(result.skipped)} unreadable"
        if result.images == 0:
            text = "Nothing to review yet: review some images (Space) or label them first."
        self.dock.status_label.setText(text)
        self.message.emit(text)
        for image_id, u in result.uncertainties:
            self._window.file_list.set_uncertainty(image_id, u)
        self.review_finished.emit(result)

    @Slot(str)
    def _on_worker_errored(self, message: str) -> None:
        self._say(f"Review failed: {message}")

    @Slot()
    def _on_worker_finished(self) -> None:
        self.running = None
        self.dock.run_button.setEnabled(True)

    # --- opening and fixing -----------------------------------------------------------------
    @Slot(object)
    def open_finding(self, finding: Finding) -> None:
        """Show the finding's image and select its box (the label, or nothing for a missing one)."""
        self._go(finding, apply=False)

    @Slot(object)
    def fix(self, finding: Finding) -> None:
        """Apply the finding's suggested fix on its image (opening it first when needed)."""
        self._go(finding, apply=True)

    def _go(self, finding: Finding, *, apply: bool) -> None:
        nav, doc = self._window.navigator, self._window.document
        if finding.image_id is None:
            return
        if nav.current_id == finding.image_id and doc.record is not None and doc.record.id == finding.image_id:
            self._arrive(finding, apply)
        else:
            self._pending = (finding, apply)
            nav.show_image(finding.image_id)

    @Slot(int)
    def _on_navigator_image_shown(self, image_id: int) -> None:
        pending, self._pending = self._pending, None
        if pending is not None and pending[0].image_id == image_id:
            self._arrive(*pending)

    def _arrive(self, finding: Finding, apply: bool) -> None:
        doc = self._window.document
        label_id = finding.label.id if finding.label is not None else None
        if label_id is not None and not doc.has_box(label_id):
            self.message.emit("That box has changed since the review; run it again")
            return
        if label_id is not None:
            doc.select([label_id])
        if not apply:
            self.message.emit(f"{finding.kind.replace('_', ' ')} · {finding.class_name} · {finding.score:.2f}: "
                              f"{finding.fix} (X)")
            return
        if self._apply(finding, label_id):
            self.dock.remove_finding(finding)
            self.message.emit(f"Fixed: {finding.fix} (Ctrl+Z undoes it)")
            self.fix_applied.emit(finding)

    def _apply(self, finding: Finding, label_id: int | None) -> bool:
        doc, pred = self._window.document, finding.prediction
        before = doc.undo_stack.index()
        if finding.kind == "missing" and pred is not None:
            doc.add_box(Box(pred.x1, pred.y1, pred.x2, pred.y2, pred.label, pred.score, "accepted"))
        elif finding.kind == "spurious" and label_id is not None:
            doc.delete_boxes([label_id])
        elif finding.kind == "wrong_class" and label_id is not None and pred is not None:
            doc.relabel([label_id], pred.label)
        elif finding.kind == "loose_box" and label_id is not None and pred is not None:
            doc.set_box_geometry(label_id, *pred.xyxy)
        return doc.undo_stack.index() > before  # a refused or unsaved edit leaves the stack as it was

    @Slot()
    def _on_fix_action_triggered(self) -> None:
        finding = self.dock.selected_finding()
        if finding is None:
            self.message.emit("Select a finding in the Review dock first")
            return
        self.fix(finding)
