"""Cameras and video files as a stream of RGB frames, Qt-free.

``CaptureSource`` wraps ``cv2.VideoCapture`` for a camera (device index) or a video file (path) behind
one small interface (open / read / seek / fps / frame_count / close) and turns OpenCV's silent
failures (``isOpened() == False``, ``read() -> (False, None)``) into ``VideoError`` with a one-line
message naming the source. ``probe_cameras`` lists usable cameras quickly without OpenCV's console
noise. Frames are ``(H, W, 3) uint8 RGB`` numpy arrays.
"""

from __future__ import annotations

import contextlib
import logging
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Protocol

import numpy as np

from engine.errors import RetinaLabError

logger = logging.getLogger(__name__)

VIDEO_EXTENSIONS: frozenset[str] = frozenset(
    {".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm", ".mpg", ".mpeg", ".wmv", ".flv"}
)
DEFAULT_FPS = 30.0
# A camera may miss a frame now and then; this many failed reads in a row means it is gone.
_MAX_CAMERA_READ_FAILURES = 5


class VideoError(RetinaLabError):
    """A camera or video file cannot be opened, read, sought or written."""


@dataclass(frozen=True)
class Frame:
    """One decoded frame: ``pixels`` is ``(H, W, 3) uint8 RGB``; ``time_s`` is its presentation time
    (index / fps for files, seconds since open for cameras); ``captured_at`` is ``time.perf_counter()``
    when it was read (for measuring frame-to-box delay)."""

    index: int
    time_s: float
    pixels: np.ndarray
    captured_at: float = 0.0

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


@dataclass(frozen=True)
class CameraInfo:
    """A camera found by ``probe_cameras``: its OpenCV index and the name the OS gives it."""

    index: int
    name: str


class FrameSource(Protocol):
    """What the app's capture worker needs from a source; ``CaptureSource`` is the real one."""

    name: str
    is_file: bool

    def open(self) -> Any: ...
    def read(self) -> Frame | None: ...
    def seek(self, index: int) -> None: ...
    @property
    def fps(self) -> float: ...
    @property
    def frame_count(self) -> int | None: ...
    def close(self) -> None: ...


def is_video_path(path: str | Path) -> bool:
    """True when ``path`` has a video file extension (case-insensitive); the file need not exist."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


@contextlib.contextmanager
def _quiet_opencv() -> Iterator[None]:
    """Silence OpenCV's console warnings (e.g. 'can't open camera by index') for the block."""
    import cv2

    log = getattr(getattr(cv2, "utils", None), "logging", None)
    if log is None:
        yield
        return
    previous = log.getLogLevel()
    log.setLogLevel(log.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        log.setLogLevel(previous)


class CaptureSource:
    """A camera (``int`` device index) or a video file (path) delivering RGB frames.

    Use as a context manager or call ``open()`` / ``close()``. ``read()`` returns the next ``Frame``,
    ``None`` at the end of a file, and raises ``VideoError`` when a camera stops delivering (unplugged).
    """

    def __init__(self, source: int | str | Path, *, name: str | None = None) -> None:
        if isinstance(source, bool) or not isinstance(source, (int, str, Path)):
            raise VideoError(f"not a camera index or video path: {source!r}")
        self.source = source
        self.is_file = not isinstance(source, int)
        self.name = name or (Path(source).name if self.is_file else f"camera {source}")
        self._cap: Any = None
        self._next_index = 0
        self._opened_at = 0.0
        self._fps = DEFAULT_FPS
        self._frame_count: int | None = None

    # -- lifetime -----------------------------------------------------------------------------------
    def open(self) -> CaptureSource:
        """Open the source; raises ``VideoError`` with the reason when it cannot be read."""
        import cv2

        if self._cap is not None:
            return self
        if self.is_file:
            path = Path(self.source)
            if not path.is_file():
                raise VideoError(f"video file not found: {path}")
            with _quiet_opencv():
                cap = cv2.VideoCapture(str(path))
            if not cap.isOpened():
                cap.release()
                raise VideoError(f"cannot open video {path.name}: not a video file or unsupported codec")
        else:
            index = int(self.source)
            if index < 0:
                raise VideoError(f"camera index must be 0 or more, not {index}")
            with _quiet_opencv():
                cap = cv2.VideoCapture(index)
            if not cap.isOpened():
                cap.release()
                raise VideoError(f"cannot open camera {index}: it is not connected or another program uses it")
        self._cap = cap
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self._fps = fps if 1.0 <= fps <= 1000.0 else DEFAULT_FPS
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if self.is_file else 0
        self._frame_count = count if count > 0 else None
        self._next_index = 0
        self._opened_at = time.perf_counter()
        logger.debug("opened %s: %.2f fps, %s frames", self.name, self._fps, self._frame_count)
        return self

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __enter__(self) -> CaptureSource:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.read()) is not None:
            yield frame

    # -- properties ---------------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self._cap is not None

    @property
    def fps(self) -> float:
        """Frames per second the source declares (30 when it declares nothing usable)."""
        return self._fps

    @property
    def frame_count(self) -> int | None:
        """Number of frames of a file as its header says (may be approximate); None for cameras."""
        return self._frame_count

    @property
    def position(self) -> int:
        """Index of the frame the next ``read()`` returns."""
        return self._next_index

    # -- reading ------------------------------------------------------------------------------------
    def read(self) -> Frame | None:
        """The next frame as RGB, or None at the end of a file; ``VideoError`` if a camera is lost."""
        import cv2

        if self._cap is None:
            raise VideoError(f"{self.name} is not open")
        failures = 0
        while True:
            ok, bgr = self._cap.read()
            if ok and bgr is not None:
                break
            if self.is_file:
                return None
            failures += 1
            if failures >= _MAX_CAMERA_READ_FAILURES:
                raise VideoError(f"{self.name} stopped sending frames (unplugged or in use elsewhere)")
        if bgr.ndim == 2:
            rgb = cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
        elif bgr.shape[2] == 4:
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGRA2RGB)
        else:
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        now = time.perf_counter()
        index = self._next_index
        time_s = index / self._fps if self.is_file else now - self._opened_at
        self._next_index += 1
        return Frame(index=index, time_s=time_s, pixels=rgb, captured_at=now)

    def seek(self, index: int) -> None:
        """Make frame ``index`` the next one ``read()`` returns (files only; clamped to the file)."""
        import cv2

        if self._cap is None:
            raise VideoError(f"{self.name} is not open")
        if not self.is_file:
            raise VideoError(f"cannot seek in a live camera ({self.name})")
        index = max(0, int(index))
        if self._frame_count is not None:
            index = min(index, max(0, self._frame_count - 1))
        if not self._cap.set(cv2.CAP_PROP_POS_FRAMES, index):
            raise VideoError(f"cannot seek to frame {index} in {self.name}")
        self._next_index = index


def iter_frames(path: str | Path, *, step: int = 1) -> Iterator[Frame]:
    """Every ``step``-th frame of a video file, in order (decodes all frames; seeking is inexact)."""
    if step < 1:
        raise VideoError(f"frame step must be 1 or more, not {step}")
    with CaptureSource(path) as source:
        for frame in source:
            if frame.index % step == 0:
                yield frame


def probe_cameras(max_index: int = 5) -> list[CameraInfo]:
    """Cameras that open among device indices ``0..max_index``, named as the OS names them.

    On Linux only indices with a ``/dev/videoN`` node are tried (opening an absent index is slow on
    some systems); OpenCV's warnings are silenced. Never raises: a probe failure means no camera.
    """
    import cv2

    found: list[CameraInfo] = []
    linux = platform.system() == "Linux"
    for index in range(max(0, max_index) + 1):
        if linux and not Path(f"/dev/video{index}").exists():
            continue
        try:
            with _quiet_opencv():
                cap = cv2.VideoCapture(index)
                ok = cap.isOpened()
                cap.release()
        except Exception:  # a broken driver must not break the menu
            logger.debug("probing camera %d failed", index, exc_info=True)
            continue
        if ok:
            found.append(CameraInfo(index, _camera_name(index) or f"Camera {index}"))
    return found


def _camera_name(index: int) -> str | None:
    sysfs = Path(f"/sys/class/video4linux/video{index}/name")
    try:
        name = sysfs.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    return f"{name} ({index})" if name else None
