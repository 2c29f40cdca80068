"""CameraPanel: the live camera / video view with its controls, self-contained.

It starts the capture worker, the live-detection worker and the one-shot jobs that put frames into the
project through a ``WorkerPool`` (the window's, which awaits them all when it closes), and talks to the
rest of the app only through two callables given at construction (``project_provider() -> Project |
None``, ``detector_provider() -> Detector | None``, the latter called on the detection thread) and its
signals: ``frame_grabbed(image_id, path)`` asks the app to open a grabbed frame for labeling,
``frames_added`` (also for each frame Collect uncertain frames saved: ``collect``),
``error_reported(message)``. Every failure (a camera that will not open or is unplugged, a bad file, a
read-only project) is shown in the panel and emitted, never raised.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QWidget

from app.camera.controls import build_controls
from app.camera.capture_worker import CaptureWorker, SourceFactory, SourceInfo
from app.camera.collect import UncertainFrameCollector
from app.camera.grab import AddedFrames, GrabbedFrame, add_every_nth, grab_into_project
from app.camera.live_detect import DetectorProvider, LiveDetections, LiveDetectWorker
from app.camera.view import CameraView, clock_text
from app.workers.base import FunctionWorker, WorkerPool
from engine.video import CaptureSource, Frame

logger = logging.getLogger(__name__)

ProjectProvider = Callable[[], Any]


class CameraPanel(QWidget):
    """Live view + controls; see the module docstring for how it connects to the app."""

    frame_grabbed = Signal(int, str)  # image id, PNG path
    frames_added = Signal(int, int)  # PNGs written, images new to the project
    error_reported = Signal(str)
    source_opened = Signal(object)  # SourceInfo
    source_closed = Signal()

    def __init__(self, project_provider: ProjectProvider, detector_provider: DetectorProvider,
                 parent: QWidget | None = None, *, pool: WorkerPool | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cameraPanel")
        self._project_provider = project_provider
        self._detector_provider = detector_provider
        self._capture: CaptureWorker | None = None
        self._live: LiveDetectWorker | None = None
        self._info: SourceInfo | None = None
        self._video_path: Path | None = None
        self._playing = False
        self._running = False  # the capture worker is reading (False after an error or close)
        self._pool = pool or WorkerPool(self)
        self._build()
        self._update_controls()

    # -- layout ----------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.view = CameraView(self)
        self.controls = c = build_controls(self, self.view)
        c.play_button.clicked.connect(self.toggle_playing)
        c.seek_slider.valueChanged.connect(self._on_seek_slider_changed)
        c.detect_check.toggled.connect(self.set_detection_enabled)
        c.score_spin.valueChanged.connect(self._on_score_changed)
        c.grab_button.clicked.connect(self.grab_frame)
        c.add_button.clicked.connect(self._on_add_clicked)
        c.close_button.clicked.connect(self.close_source)
        self.view.grab_requested.connect(self.grab_frame)
        self.collector = UncertainFrameCollector(self._pool, self._project_provider, c.score_spin.value, parent=self)
        self.layout().insertLayout(self.layout().count() - 1, self.collector.row())  # above the status line
        self.collector.collected.connect(self._on_collector_collected)
        self.collector.failed.connect(self._on_job_errored)
        self.view.play_pause_requested.connect(self.toggle_playing)
        for button in (c.play_button, c.detect_check, c.grab_button, c.add_button, c.close_button, c.seek_slider):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # clicks leave the keys (G, Space) with the view
        self._slider_updating = False

    # -- opening and closing ---------------------------------------------------------------------------
    def open_camera(self, index: int) -> None:
        self.open_source(lambda: CaptureSource(int(index)), name=f"camera {index}")

    def open_video(self, path: str | Path) -> None:
        path = Path(path)
        self.open_source(lambda: CaptureSource(path), name=path.name, video_path=path)

    def open_source(self, factory: SourceFactory, *, name: str = "", video_path: Path | None = None,
                    start_paused: bool = False) -> None:
        """Start streaming from ``factory()`` (built and opened on the capture thread)."""
        self.close_source()
        self._video_path = video_path
        self.view.clear(f"Opening {name}…" if name else "Opening…")
        self.view.reset_stats()
        self._set_status("")
        capture = CaptureWorker(factory, start_paused=start_paused)
        capture.opened.connect(self._on_capture_opened)
        capture.frame_captured.connect(self._on_capture_frame)
        capture.playing_changed.connect(self._on_capture_playing_changed)
        capture.end_reached.connect(self._on_capture_end_reached)
        capture.errored.connect(self._on_capture_errored)
        capture.finished.connect(self._on_capture_finished)
        self._capture = capture
        self._running = True
        if self.controls.detect_check.isChecked():
            self._start_live_detection()
        self._pool.start(capture)
        self.view.setFocus()
        self._update_controls()

    def close_source(self) -> None:
        """Stop streaming (waits for the capture thread) and clear the view."""
        self._stop_live_detection()
        if self._capture is not None:
            capture, self._capture = self._capture, None
            self._pool.await_worker(capture, 5000)
            self.view.clear()
            self.source_closed.emit()
        self._info, self._video_path = None, None  # and Add Frames stops adding from the closed video
        self._playing = False
        self._running = False
        self._update_controls()

    def shutdown(self) -> None:
        """Stop every worker of the panel's pool and wait for them (application exit)."""
        self.close_source()
        self._pool.await_workers()

    # -- transport -------------------------------------------------------------------------------------
    @property
    def source_info(self) -> SourceInfo | None:
        return self._info

    @property
    def is_open(self) -> bool:
        return self._capture is not None

    @property
    def is_playing(self) -> bool:
        return self._playing

    def _reading(self) -> CaptureWorker | None:
        """The capture worker while its loop runs (None once it ended: an error, a lost camera)."""
        return self._capture if self._running else None

    def play(self) -> None:
        if (capture := self._reading()) is not None:
            capture.resume()

    def pause(self) -> None:
        if (capture := self._reading()) is not None:
            capture.pause()

    @Slot()
    def toggle_playing(self) -> None:
        if (capture := self._reading()) is not None:
            if capture.is_paused:
                self.play()
            else:
                self.pause()

    def seek(self, index: int) -> None:
        if (capture := self._reading()) is not None and self._info is not None and self._info.is_file:
            capture.seek(index)

    # -- detection -------------------------------------------------------------------------------------
    @Slot(bool)
    def set_detection_enabled(self, enabled: bool) -> None:
        if self.controls.detect_check.isChecked() != enabled:
            self.controls.detect_check.setChecked(enabled)  # re-enters through toggled
            return
        if enabled and self._capture is not None:
            self._start_live_detection()
        elif not enabled:
            self._stop_live_detection()
            self.view.clear_detections()

    def _start_live_detection(self) -> None:
        if self._live is not None or self._capture is None:
            return
        live = LiveDetectWorker(self._detector_provider, score_thresh=self.controls.score_spin.value())
        live.detections_ready.connect(self._on_live_detections)
        live.errored.connect(self._on_live_errored)
        live.detector_missing.connect(self._on_live_detector_missing)
        self._live = live
        self._pool.start(live)
        self._capture.set_frame_sink(live.submit)
        frame = self.view.current_frame()
        if frame is not None:  # a paused source still gets boxes for the frame on screen
            live.submit(frame)

    def _stop_live_detection(self) -> None:
        if self._capture is not None:
            self._capture.set_frame_sink(None)
        if self._live is not None:
            # no waiting on the GUI thread for a slow model's current frame: it ends on its own and
            # the pool deletes it then (and awaits it when the window closes)
            live, self._live = self._live, None
            live.abort()

    @Slot(float)
    def _on_score_changed(self, value: float) -> None:
        if self._live is not None:
            self._live.set_score_thresh(value)
            frame = self.view.current_frame()
            if frame is not None and not self._playing:
                self._live.submit(frame)

    # -- grabbing into the project ---------------------------------------------------------------------
    @Slot()
    def grab_frame(self) -> None:
        """Save the frame on screen into the project with its detections (on a worker thread)."""
        frame = self.view.current_frame()
        if frame is None or self._info is None:
            self._report("Nothing to grab: open a camera or video first.")
            return
        project = self._project_provider()
        if project is None:
            self._report("Open a project first: grabbed frames are saved into its captures/ folder.")
            return
        result = self.view.current_detections()
        detections = result.detections if result is not None and result.frame_index == frame.index else None
        # boxes on screen belong to an older frame while playing: detect this one in the job instead
        detect = self._detector_provider if self.controls.detect_check.isChecked() else None
        info, score = self._info, self.controls.score_spin.value()

        def job(report: Callable[..., None], should_stop: Callable[[], bool]) -> GrabbedFrame:
            return grab_into_project(project, frame, detections, source_name=info.name, is_file=info.is_file,
                                     detector_provider=detect, score_thresh=score)

        self._run_job(job, "grab frame", self._on_grab_returned)
        self._set_status(f"Grabbing frame {frame.index}…")

    @Slot()
    def _on_add_clicked(self) -> None:
        self.add_every_nth(self.controls.every_spin.value())

    def add_every_nth(self, step: int) -> None:
        """Add frames 0, N, 2N, ... of the open video file to the project (on a worker thread)."""
        if self._video_path is None:
            self._report("Adding every N-th frame works on a video file; open one first.")
            return
        project = self._project_provider()
        if project is None:
            self._report("Open a project first: frames are saved into its captures/ folder.")
            return
        video = self._video_path

        def job(report: Callable[..., None], should_stop: Callable[[], bool]) -> AddedFrames:
            return add_every_nth(project, video, step, report=report, should_stop=should_stop)

        worker = self._run_job(job, "add frames", self._on_frames_added_returned)
        worker.progressed.connect(self._on_job_progressed)
        self._set_status(f"Adding every {step}th frame of {video.name}…")

    def _run_job(self, job: Callable[..., Any], name: str, on_returned: Callable[[Any], None]) -> FunctionWorker:
        worker = FunctionWorker(job, name=name)
        worker.returned.connect(on_returned)
        worker.errored.connect(self._on_job_errored)
        self._pool.start(worker)
        return worker

    @Slot(object)
    def _on_grab_returned(self, grabbed: GrabbedFrame) -> None:
        self._set_status(f"Saved {grabbed.path.name} with {grabbed.num_predictions} predictions.")
        self.frame_grabbed.emit(grabbed.image_id, str(grabbed.path))

    @Slot(object)
    def _on_frames_added_returned(self, added: AddedFrames) -> None:
        self._set_status(f"Added {added.written} frames to {added.folder.name}/ ({added.added} new).")
        self.frames_added.emit(added.written, added.added)

    @Slot(int, int, str)
    def _on_job_progressed(self, done: int, total: int, message: str) -> None:
        self._set_status(f"Adding frames: {done}/{total or '?'}")

    @Slot(str)
    def _on_job_errored(self, message: str) -> None:
        self._report(message)

    # -- capture signals -------------------------------------------------------------------------------
    def _from_current_capture(self) -> bool:
        return self._capture is not None and self.sender() is self._capture

    @Slot(object)
    def _on_capture_opened(self, info: SourceInfo) -> None:
        if not self._from_current_capture():
            return
        self._info = info
        self._slider_updating = True
        self.controls.seek_slider.setRange(0, max(0, (info.frame_count or 1) - 1))
        self.controls.seek_slider.setValue(0)
        self._slider_updating = False
        self._set_status(f"{info.name}: {info.fps:.1f} fps"
                         + (f", {info.frame_count} frames" if info.frame_count else ", live"))
        self._update_controls()
        self.source_opened.emit(info)

    @Slot(QImage, object)
    def _on_capture_frame(self, image: QImage, frame: Frame) -> None:
        if not self._from_current_capture():
            return
        self.view.show_frame(image, frame)
        info = self._info
        if info is not None and info.is_file:
            self._slider_updating = True
            self.controls.seek_slider.setValue(frame.index)
            self._slider_updating = False
            total = (info.frame_count or 0) / info.fps if info.fps else 0.0
            self.controls.time_label.setText(f"{clock_text(frame.time_s)} / {clock_text(total)}")
        elif info is not None:
            self.controls.time_label.setText(clock_text(frame.time_s))

    @Slot(bool)
    def _on_capture_playing_changed(self, playing: bool) -> None:
        if self._from_current_capture():
            self._playing = playing
            self._update_controls()

    @Slot()
    def _on_capture_end_reached(self) -> None:
        if self._from_current_capture():
            self._set_status("End of video. Play starts it again.")

    @Slot(str)
    def _on_capture_errored(self, message: str) -> None:
        if not self._from_current_capture():
            return
        self.view.show_message(message)
        self._report(message)

    @Slot()
    def _on_capture_finished(self) -> None:
        if not self._from_current_capture():
            return
        self._stop_live_detection()
        self._playing = False
        self._running = False
        self._update_controls()

    @Slot(object)
    def _on_live_detections(self, result: LiveDetections) -> None:
        if self._live is not None and self.sender() is self._live:
            self.view.show_detections(result)
            self.collector.consider(result, self._info)

    @Slot(object)
    def _on_collector_collected(self, grabbed: GrabbedFrame) -> None:
        self._set_status(f"Collected {grabbed.path.name} (uncertainty {grabbed.uncertainty:.2f}).")
        self.frames_added.emit(1, 1)

    @Slot(str)
    def _on_live_errored(self, message: str) -> None:
        if self._live is not None and self.sender() is self._live:
            self._report(f"Live detection: {message}")

    @Slot()
    def _on_live_detector_missing(self) -> None:
        if self._live is not None and self.sender() is self._live:
            self._set_status("No model loaded: load one (Model menu) to see live detections.")

    @Slot(int)
    def _on_seek_slider_changed(self, value: int) -> None:
        if not self._slider_updating:
            self.seek(value)

    # -- helpers ---------------------------------------------------------------------------------------
    def _report(self, message: str) -> None:
        self._set_status(message, error=True)
        self.error_reported.emit(message)

    def _set_status(self, text: str, *, error: bool = False) -> None:
        self.controls.status_label.setText(text)
        self.controls.status_label.setStyleSheet("color: #c0392b;" if error else "")

    def _update_controls(self) -> None:
        streaming = self._running and self._info is not None
        is_file = streaming and self._info.is_file
        self.controls.play_button.setText("Pause" if self._playing else "Play")
        self.controls.play_button.setEnabled(streaming)
        self.controls.seek_slider.setEnabled(is_file)
        self.controls.every_spin.setEnabled(self._video_path is not None)
        self.controls.add_button.setEnabled(self._video_path is not None)
        self.controls.grab_button.setEnabled(self._info is not None and self.view.current_frame() is not None
                                    or streaming)
        self.controls.close_button.setEnabled(self._capture is not None)
