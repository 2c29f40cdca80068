"""Decodes images off the GUI thread and keeps a small LRU cache so next/previous is instant.

The GUI asks for one image at a time (``request``) and names the neighbours to decode ahead
(``prefetch``). Both only record the wish under a lock and wake the loader's thread; the thread
always serves the wanted image first, then the prefetch list. A decoded image (or the reason it is
unreadable) goes into the cache; the GUI reads the cache synchronously (``cached``), which is a dict
lookup, so a prefetched neighbour is shown without waiting for any thread. Results are tagged with
the request's generation so the GUI can drop an image the user has already left. The loader also
converts each image for the screen (``LoadedImage.display``), so the GUI thread never converts pixels.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence, Union

from PySide6.QtCore import QObject, Signal, Slot

from app.workers.base import describe_error

if TYPE_CHECKING:
    import numpy as np
    from PySide6.QtGui import QImage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedImage:
    """A decoded image: ``pixels`` (H, W, 3) uint8 RGB, and ``display``, the same pixels already
    converted on the loader's thread to the QImage a QPixmap is made from (``render.qimage_from_rgb``)."""

    pixels: np.ndarray
    display: QImage


# A loaded image, or the one-line reason the image cannot be shown.
Decoded = Union[LoadedImage, str]
LoadFn = Callable[[Path], "np.ndarray"]


def _default_load(path: Path) -> np.ndarray:
    from engine.io import load_image  # engine.io is light (Pillow + numpy)

    return load_image(path)


def _load_for_display(load: LoadFn, path: Path) -> LoadedImage:
    from app.canvas.render import qimage_from_rgb

    pixels = load(path)
    return LoadedImage(pixels, qimage_from_rgb(pixels))


class ImageLoader(QObject):
    """Long-lived worker: start it with ``WorkerPool.start_service``."""

    loaded = Signal(int, int, object, str)  # image_id, generation, LoadedImage or None, error ("" if none)
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
        """The loaded image or error string if already decoded (marks it recently used), else None."""
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
            if image_id is None:
                self._cache.clear()
            else:
                self._cache.pop(image_id, None)

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
                decoded: Decoded = _load_for_display(self._load, path)
            except Exception as exc:  # an unreadable image is a result, not a crash
                decoded = describe_error(exc)
                log.info("cannot show %s: %s", path, decoded)
            with self._lock:
                self._cache[image_id] = decoded
                self._cache.move_to_end(image_id)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
            if generation is not None:
                self._emit(image_id, generation, decoded)
