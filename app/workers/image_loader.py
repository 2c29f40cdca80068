"""Decodes images off the GUI thread and keeps a small LRU cache so next/previous is instant.

The GUI asks for one image at a time (``request``) and names the neighbours to decode ahead
(``prefetch``). Both only record the wish under a lock and wake the loader's thread; the thread
always serves the wanted image first, then the prefetch list. A decoded image (or the reason it is
unreadable) goes into the cache; the GUI reads the cache synchronously (``cached``), which is a dict
lookup, so a prefetched neighbour is shown without waiting for any thread. Results are tagged with
the request's generation so the GUI can drop an image the user has already left.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence, Union

from PySide6.QtCore import QObject, Signal, Slot

from app.workers.base import describe_error

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

# (H, W, 3) uint8 RGB pixels, or the one-line reason the image cannot be shown.
Decoded = Union["np.ndarray", str]
LoadFn = Callable[[Path], "np.ndarray"]


def _default_load(path: Path) -> np.ndarray:
    from engine.io import load_image  # engine.io is light (Pillow + numpy)

    return load_image(path)


def _prepare_display_image(pixels: np.ndarray) -> None:
    """Convert to the QImage format a QPixmap uses (RGB32) here, off the GUI thread (QImage is
    reentrant); the canvas picks it up by the array's identity (``render.PREPARED_IMAGES``)."""
    from PySide6.QtGui import QImage

    from app.canvas.render import PREPARED_IMAGES

    import numpy as np  # on the loader thread, after the window has painted

    rgb = np.ascontiguousarray(pixels[:, :, :3], dtype=np.uint8)
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    PREPARED_IMAGES[id(pixels)] = (pixels, image.convertToFormat(QImage.Format.Format_RGB32))


def _forget_display_image(decoded: "Decoded") -> None:
    from app.canvas.render import PREPARED_IMAGES

    if not isinstance(decoded, str):
        PREPARED_IMAGES.pop(id(decoded), None)


class ImageLoader(QObject):
    """Long-lived worker: start it with ``WorkerPool.start_service``."""

    loaded = Signal(int, int, object, str)  # image_id, generation, pixels or None, error ("" if none)
    _woken = Signal()

    def __init__(self, load_fn: LoadFn | None = None, cache_size: int = 6) -> None:
        super().__init__()
        self.name = "ImageLoader"
        self._load = load_fn or _default_load
        self._cache_size = max(1, cache_size)
        self._lock = threading.Lock()
        self._cache: OrderedDict[int, Decoded] = OrderedDict()
        self._wanted: tuple[int, int, Path] | None = None
        self._prefetch: list[tuple[int, Path]] = []
        self._stop = threading.Event()
        self._woken.connect(self._on_woken)

    # --- GUI thread -------------------------------------------------------------------------
    def cached(self, image_id: int) -> Decoded | None:
        """Pixels or error string if already decoded (marks it recently used), else None."""
        with self._lock:
            hit = self._cache.get(image_id)
            if hit is not None:
                self._cache.move_to_end(image_id)
            return hit

    def request(self, image_id: int, generation: int, path: Path) -> None:
        """Decode ``path`` as soon as possible and emit ``loaded``; replaces any earlier wish."""
        with self._lock:
            self._wanted = (image_id, generation, Path(path))
        self._woken.emit()

    def prefetch(self, items: Sequence[tuple[int, Path]]) -> None:
        """Decode these (in order) when idle; replaces the previous prefetch list."""
        with self._lock:
            self._prefetch = [(i, Path(p)) for i, p in items if i not in self._cache]
        self._woken.emit()

    def forget(self, image_id: int | None = None) -> None:
        """Drop one cached image (or all), e.g. after the project changed."""
        with self._lock:
            dropped = list(self._cache.values()) if image_id is None else [self._cache.get(image_id)]
            if image_id is None:
                self._cache.clear()
            else:
                self._cache.pop(image_id, None)
        for decoded in dropped:
            _forget_display_image(decoded)

    def abort(self) -> None:
        self._stop.set()

    # --- loader thread ----------------------------------------------------------------------
    def _next_job(self) -> tuple[int, Path, int | None] | None:
        with self._lock:
            if self._wanted is not None:
                image_id, generation, path = self._wanted
                self._wanted = None
                hit = self._cache.get(image_id)
                if hit is None:
                    return image_id, path, generation
                self._emit(image_id, generation, hit)
            while self._prefetch:
                image_id, path = self._prefetch.pop(0)
                if image_id not in self._cache:
                    return image_id, path, None
        return None

    def _emit(self, image_id: int, generation: int, decoded: Decoded) -> None:
        if isinstance(decoded, str):
            self.loaded.emit(image_id, generation, None, decoded)
        else:
            self.loaded.emit(image_id, generation, decoded, "")

    @Slot()
    def _on_woken(self) -> None:
        while not self._stop.is_set():
            job = self._next_job()
            if job is None:
                return
            image_id, path, generation = job
            try:
                decoded: Decoded = self._load(path)
                _prepare_display_image(decoded)
            except Exception as exc:  # an unreadable image is a result, not a crash
                decoded = describe_error(exc)
                log.info("cannot show %s: %s", path, decoded)
            evicted = []
            with self._lock:
                self._cache[image_id] = decoded
                self._cache.move_to_end(image_id)
                while len(self._cache) > self._cache_size:
                    evicted.append(self._cache.popitem(last=False)[1])
            for old in evicted:
                _forget_display_image(old)
            if generation is not None:
                self._emit(image_id, generation, decoded)
