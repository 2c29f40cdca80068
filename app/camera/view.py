"""CameraView: paints the live frames, the newest detections over them, and fps readouts.

A plain QWidget (no scene graph: one image and a few rectangles per frame is cheapest painted directly).
``show_frame`` stores the newest frame and schedules a repaint; ``show_detections`` stores the newest
detections, drawn over whatever frame is current (they lag the picture by the detector's delay, by
design). The view measures what the user sees: display fps counts frames actually painted, detector fps
counts detection results, and the box delay is the time from a frame's capture to the first paint of
its boxes. It also shows a placeholder or an error message in place of the picture.
"""

from __future__ import annotations

import collections
import time
from typing import Callable

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QKeyEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.camera.live_detect import LiveDetections
from engine.types import Detection
from engine.video import Frame, label_colour

ColourFor = Callable[[str], QColor]


def clock_text(seconds: float) -> str:
    """``mm:ss.ss`` for a time readout."""
    minutes, secs = divmod(max(0.0, seconds), 60.0)
    return f"{int(minutes):02d}:{secs:05.2f}"


def _default_colour(label: str) -> QColor:
    return QColor(*label_colour(label))


class _RateMeter:
    """Events per second over the last ``window_s`` seconds."""

    def __init__(self, window_s: float = 1.0) -> None:
        self.window_s = window_s
        self._times: collections.deque[float] = collections.deque()

    def tick(self, now: float) -> None:
        self._times.append(now)
        while self._times and now - self._times[0] > self.window_s:
            self._times.popleft()

    def rate(self, now: float | None = None) -> float:
        now = time.perf_counter() if now is None else now
        while self._times and now - self._times[0] > max(self.window_s, 2.0):
            self._times.popleft()
        if len(self._times) < 2:
            return 0.0
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0


class CameraView(QWidget):
    """Live picture with detection overlay; drive it with ``show_frame`` / ``show_detections``."""

    frame_painted = Signal(int)  # index of a frame painted for the first time (for measurements)
    grab_requested = Signal()  # G pressed in the view
    play_pause_requested = Signal()  # Space pressed in the view

    def __init__(self, parent: QWidget | None = None, *, colour_for: ColourFor | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cameraView")
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._colour_for = colour_for or _default_colour
        self._image: QImage | None = None
        self._frame: Frame | None = None
        self._painted_frame_index: int | None = None
        self._result: LiveDetections | None = None
        self._result_painted = True
        self._message = "No camera or video open"
        self._display = _RateMeter()
        self._detector = _RateMeter(window_s=3.0)
        self.frames_shown = 0  # distinct frames painted since the last reset_stats()
        self.box_delays_s: collections.deque[float] = collections.deque(maxlen=500)
        self.show_stats = True

    # -- inputs ----------------------------------------------------------------------------------------
    def show_frame(self, image: QImage, frame: Frame) -> None:
        self._image, self._frame = image, frame
        self._message = ""
        self.update()

    def show_detections(self, result: LiveDetections) -> None:
        self._result = result
        self._result_painted = False
        self._detector.tick(time.perf_counter())
        self.update()

    def clear_detections(self) -> None:
        self._result = None
        self.update()

    def show_message(self, text: str) -> None:
        """Text drawn over the picture (an error, or why nothing is shown); empty to clear."""
        self._message = text
        self.update()

    def clear(self, message: str = "No camera or video open") -> None:
        self._image = self._frame = self._result = None
        self._painted_frame_index = None
        self._message = message
        self.update()

    def reset_stats(self) -> None:
        self._display = _RateMeter()
        self._detector = _RateMeter(window_s=3.0)
        self.frames_shown = 0
        self.box_delays_s.clear()

    # -- readouts --------------------------------------------------------------------------------------
    def current_frame(self) -> Frame | None:
        return self._frame

    def current_detections(self) -> LiveDetections | None:
        return self._result

    def message(self) -> str:
        return self._message

    def display_fps(self) -> float:
        return self._display.rate()

    def detector_fps(self) -> float:
        return self._detector.rate()

    def box_delay_s(self) -> float | None:
        """Median delay from a frame's capture to the first paint of its boxes (recent results)."""
        if not self.box_delays_s:
            return None
        ordered = sorted(self.box_delays_s)
        return ordered[len(ordered) // 2]

    def stats_text(self) -> str:
        delay = self.box_delay_s()
        text = f"display {self.display_fps():.1f} fps"
        if self._result is not None:
            text += f" · detector {self.detector_fps():.1f} fps"
            if delay is not None:
                text += f" · boxes {delay * 1000:.0f} ms behind"
        return text

    def set_colour_for(self, colour_for: ColourFor) -> None:
        """Colour the live boxes with ``colour_for(label)`` (the window: the class list's colours)."""
        self._colour_for = colour_for
        self.update()

    def colour_of(self, label: str) -> QColor:
        return QColor(self._colour_for(label))

    # -- keys: while the view has focus, G and Space are the camera's, not the window's shortcuts ----------
    _KEYS = {Qt.Key.Key_G: "grab_requested", Qt.Key.Key_Space: "play_pause_requested"}

    def event(self, event: QEvent) -> bool:
        if (event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent)
                and event.key() in self._KEYS and event.modifiers() == Qt.KeyboardModifier.NoModifier):
            event.accept()  # claim the key so the window's Space (mark reviewed) does not fire here
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt name)
        name = self._KEYS.get(Qt.Key(event.key())) if event.modifiers() == Qt.KeyboardModifier.NoModifier else None
        if name is None or event.isAutoRepeat():
            super().keyPressEvent(event)
            return
        getattr(self, name).emit()

    def mousePressEvent(self, event: object) -> None:  # noqa: N802 (Qt name)
        self.setFocus(Qt.FocusReason.MouseFocusReason)

    # -- painting --------------------------------------------------------------------------------------
    def image_rect(self) -> QRectF:
        """Where the frame is drawn in widget coordinates (fitted, aspect kept, centred)."""
        if self._image is None or self._image.isNull():
            return QRectF()
        iw, ih = self._image.width(), self._image.height()
        scale = min(self.width() / iw, self.height() / ih)
        w, h = iw * scale, ih * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt name)
        now = time.perf_counter()
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(24, 24, 24))
        if self._image is not None and self._frame is not None:
            target = self.image_rect()
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, target.width() < self._image.width())
            painter.drawImage(target, self._image)
            if self._frame.index != self._painted_frame_index or self._painted_frame_index is None:
                self._painted_frame_index = self._frame.index
                self.frames_shown += 1
                self._display.tick(now)
                self.frame_painted.emit(self._frame.index)
            if self._result is not None:
                self._paint_detections(painter, target, self._result.detections)
                if not self._result_painted:
                    self._result_painted = True
                    self.box_delays_s.append(now - self._result.captured_at)
        if self.show_stats and self._image is not None:
            self._paint_text(painter, QPointF(6, 4), self.stats_text(), Qt.AlignmentFlag.AlignLeft)
        if self._message:
            self._paint_message(painter)
        painter.end()

    def _paint_detections(self, painter: QPainter, target: QRectF, detections: tuple[Detection, ...]) -> None:
        sx = target.width() / self._image.width()
        sy = target.height() / self._image.height()
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        painter.setFont(font)
        for det in detections:
            colour = self._colour_for(det.label)
            rect = QRectF(target.x() + det.x1 * sx, target.y() + det.y1 * sy,
                          (det.x2 - det.x1) * sx, (det.y2 - det.y1) * sy)
            painter.setPen(QPen(colour, 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(rect)
            label = f"{det.label} {det.score:.2f}"
            metrics = painter.fontMetrics()
            tag = QRectF(rect.x(), rect.y() - metrics.height(), metrics.horizontalAdvance(label) + 6,
                         metrics.height())
            if tag.y() < target.y():
                tag.moveTop(rect.y())
            painter.fillRect(tag, colour)
            painter.setPen(QColor(0, 0, 0) if colour.lightness() > 110 else QColor(255, 255, 255))
            painter.drawText(tag, Qt.AlignmentFlag.AlignCenter, label)

    def _paint_text(self, painter: QPainter, at: QPointF, text: str, align: Qt.AlignmentFlag) -> None:
        metrics = painter.fontMetrics()
        box = QRectF(at.x(), at.y(), metrics.horizontalAdvance(text) + 10, metrics.height() + 4)
        painter.fillRect(box, QColor(0, 0, 0, 160))
        painter.setPen(QColor(235, 235, 235))
        painter.drawText(box, align | Qt.AlignmentFlag.AlignVCenter, " " + text)

    def _paint_message(self, painter: QPainter) -> None:
        painter.setFont(self.font())
        flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
        area = QRectF(self.rect()).adjusted(12, 12, -12, -12)
        text_rect = painter.boundingRect(area, flags, self._message)
        if self._image is not None:  # readable over the last frame (e.g. "camera unplugged")
            painter.fillRect(text_rect.adjusted(-10, -6, 10, 6), QColor(0, 0, 0, 190))
        painter.setPen(QColor(240, 240, 240))
        painter.drawText(area, flags, self._message)
