"""The capture thread: reads a camera or video file and hands every frame to the GUI as a QImage.

``CaptureWorker`` is a :class:`~app.workers.base.Worker` started with ``WorkerPool.start``; its loop
runs until ``abort``. It reads the ``engine.video`` source, paces file playback at the file's fps (a
camera paces itself), and emits each frame with ``frame_captured``; it never drops frames for display.
Control calls (``pause``, ``resume``, ``seek``, ``abort``) come from the GUI thread and only set state
under a condition variable, so they act at once even while the loop waits for the next frame time. An optional
frame sink (the live detector's mailbox) receives every frame on the capture thread itself, so detection
never waits for the GUI. Open failures and lost cameras arrive as ``errored`` with one line.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import Signal
from PySide6.QtGui import QImage

from app.workers.base import Worker
from engine.errors import RetinaLabError
from engine.video import Frame, FrameSource

logger = logging.getLogger(__name__)

SourceFactory = Callable[[], FrameSource]
FrameSink = Callable[[Frame], None]


@dataclass(frozen=True)
class SourceInfo:
    """What the GUI needs to know about an opened source."""

    name: str
    is_file: bool
    fps: float
    frame_count: int | None


def frame_to_qimage(frame: Frame) -> QImage:
    """A QImage that owns a copy of ``frame.pixels`` ``(H, W, 3) uint8 RGB``."""
    pixels = frame.pixels
    h, w = pixels.shape[:2]
    if not pixels.flags["C_CONTIGUOUS"]:
        pixels = pixels.copy()
    return QImage(pixels.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class CaptureWorker(Worker):
    """Reads frames from a source built by ``source_factory`` (called on the capture thread)."""

    opened = Signal(object)  # SourceInfo
    frame_captured = Signal(QImage, object)  # display image, engine.video.Frame
    playing_changed = Signal(bool)
    end_reached = Signal()  # a file played to its end (the worker pauses; seek or resume replays)

    def __init__(self, source_factory: SourceFactory, *, start_paused: bool = False) -> None:
        super().__init__("capture")
        self._factory = source_factory
        self._cond = threading.Condition()
        self._paused = start_paused
        self._seek_to: int | None = None
        self._sink: FrameSink | None = None
        self._at_end = False

    # -- control (any thread) -------------------------------------------------------------------------
    def set_frame_sink(self, sink: FrameSink | None) -> None:
        """Every frame is passed to ``sink`` on the capture thread (it must be quick and thread-safe)."""
        self._sink = sink

    def pause(self) -> None:
        self._set_paused(True)

    def resume(self) -> None:
        self._set_paused(False)

    def seek(self, index: int) -> None:
        """Show frame ``index`` next (files only); a paused source shows that one frame and stays paused."""
        with self._cond:
            self._seek_to = max(0, int(index))
            self._cond.notify_all()

    def abort(self) -> None:
        """End the loop (it closes the source); safe from any thread."""
        super().abort()
        with self._cond:
            self._cond.notify_all()

    @property
    def is_paused(self) -> bool:
        return self._paused

    def _set_paused(self, paused: bool) -> None:
        with self._cond:
            if self._paused == paused:
                return
            self._paused = paused
            if not paused and self._at_end:
                self._seek_to = 0  # resume after the end replays from the start
            self._cond.notify_all()
        self.playing_changed.emit(not paused)

    # -- the loop (capture thread) --------------------------------------------------------------------
    def work(self) -> None:
        source: FrameSource | None = None
        try:
            source = self._factory()
            source.open()
            self.opened.emit(SourceInfo(source.name, source.is_file, source.fps, source.frame_count))
            self.playing_changed.emit(not self._paused)
            self._loop(source)
        except RetinaLabError:
            raise  # its message is the line shown
        except Exception as exc:  # a driver or codec bug: said in one line, never takes the app down
            logger.exception("capture failed")
            raise RetinaLabError(f"capture failed: {exc}") from exc
        finally:
            if source is not None:
                try:
                    source.close()
                except Exception:
                    logger.debug("closing the source failed", exc_info=True)

    def _loop(self, source: FrameSource) -> None:
        period = 1.0 / source.fps if source.is_file and source.fps > 0 else 0.0
        next_due = time.perf_counter()
        while True:
            with self._cond:
                while True:
                    if self.should_stop():
                        return
                    if self._seek_to is not None:
                        break
                    if not self._paused:
                        wait = next_due - time.perf_counter() if period else 0.0
                        if wait <= 0:
                            break
                        self._cond.wait(wait)
                    else:
                        self._cond.wait()
                        next_due = time.perf_counter()  # after a pause, play on from now
                seek_to, self._seek_to = self._seek_to, None
            if seek_to is not None:
                source.seek(seek_to)
                next_due = time.perf_counter()
            frame = source.read()
            if frame is None:
                with self._cond:
                    self._at_end = True
                self.end_reached.emit()
                self._set_paused(True)
                continue
            self._at_end = False
            self.frame_captured.emit(frame_to_qimage(frame), frame)
            sink = self._sink
            if sink is not None:
                sink(frame)
            if period:
                next_due += period
                # far behind (a slow decode, a suspended laptop): restart the clock rather than race
                if time.perf_counter() - next_due > 0.5:
                    next_due = time.perf_counter()
