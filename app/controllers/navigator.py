"""Which image is current: next/previous/next-unreviewed, mark reviewed, and the image loader.

Every move bumps ``generation``; the loader and the model worker tag their results with it so a
result for an image the user has already left is dropped. A prefetched neighbour comes straight from
the loader's cache (no thread hop); otherwise the request goes to the loader and the image appears
when ``loaded`` arrives. Navigation follows the file list's order on screen (by name, or most
uncertain first) and skips rows its filter hides.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

from app.widgets.file_list import FileListDock
from app.workers.image_loader import Decoded, ImageLoader, LoadedImage

if TYPE_CHECKING:
    from app.document import Document
    from engine.project import Project

log = logging.getLogger(__name__)

PREFETCH_AHEAD = 2
PREFETCH_BEHIND = 1


class Navigator(QObject):
    image_shown = Signal(int)  # image id now in the Document (pixels or placeholder)
    message = Signal(str)

    def __init__(self, document: Document, file_list: FileListDock, loader: ImageLoader,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._document = document
        self._file_list = file_list
        self._loader = loader
        self._project: Project | None = None
        self.current_id: int | None = None
        self.generation = 0
        self.last_show_ms: float | None = None  # request -> Document.set_image, for the bench
        self._requested_at = 0.0
        loader.loaded.connect(self._on_loader_loaded)
        file_list.image_activated.connect(self._on_file_list_image_activated)

    def set_project(self, project: Project | None) -> None:
        self._project = project
        self.current_id = None
        self.generation += 1
        self._loader.forget()

    # --- moves ------------------------------------------------------------------------------
    def show_image(self, image_id: int) -> None:
        if self._project is None:
            return
        self.generation += 1
        self.current_id = image_id
        self._requested_at = time.perf_counter()
        self._file_list.set_current(image_id)
        hit = self._loader.cached(image_id)
        if hit is not None:
            self._present(image_id, hit)
        else:
            self.message.emit(f"Loading {self._file_list.model.path(image_id)}…")
            self._loader.request(image_id, self.generation, self._path(image_id))
        self._loader.prefetch([(i, self._path(i)) for i in self._neighbours(image_id)])

    def show_first(self) -> None:
        ids = self._order()
        if ids:
            self.show_image(ids[0])

    def next(self) -> bool:
        return self._step(+1)

    def previous(self) -> bool:
        return self._step(-1)

    def next_unreviewed(self) -> bool:
        return self._step(+1, wrap=True, unreviewed=True)

    def mark_reviewed_and_next(self) -> None:
        if self._document.record is not None and self._document.record.id == self.current_id:
            self._document.mark_reviewed()
        if not self._step(+1):
            self.message.emit("Last image reviewed")

    # --- helpers ----------------------------------------------------------------------------
    def _order(self) -> list[int]:
        return [i for i in self._file_list.ordered_ids() if self._file_list.is_visible_id(i)]

    def _step(self, direction: int, *, wrap: bool = False, unreviewed: bool = False) -> bool:
        ids = self._file_list.ordered_ids()
        if not ids:
            return False
        start = ids.index(self.current_id) if self.current_id in ids else -1
        n = len(ids)
        for k in range(1, n + 1):
            i = start + direction * k
            if not wrap and not 0 <= i < n:
                return False
            image_id = ids[i % n]
            if image_id == self.current_id:
                continue
            if not self._file_list.is_visible_id(image_id):
                continue
            if unreviewed and self._file_list.model.status(image_id) not in ("new", "predicted"):
                continue
            self.show_image(image_id)
            return True
        if unreviewed:
            self.message.emit("Every image is reviewed")
        return False

    def _neighbours(self, image_id: int) -> list[int]:
        ids = self._order()
        if image_id not in ids:
            return []
        i = ids.index(image_id)
        ahead = ids[i + 1 : i + 1 + PREFETCH_AHEAD]
        behind = ids[max(0, i - PREFETCH_BEHIND) : i][::-1]
        return ahead[:1] + behind + ahead[1:]

    def _path(self, image_id: int) -> Path:
        return self._project.folder / self._file_list.model.path(image_id)

    def _present(self, image_id: int, decoded: Decoded) -> None:
        record = self._project.image(image_id)
        boxes = self._project.boxes(record)
        if isinstance(decoded, LoadedImage):
            self._document.set_image(record, decoded.pixels, boxes, display=decoded.display)
            self._file_list.set_unreadable(image_id, None)
            h, w = decoded.pixels.shape[:2]
            if record.width is None and not self._project.read_only:
                self._project.set_image_size(image_id, w, h)
            self.message.emit(f"{record.path}  {w}×{h}")
        else:
            self._document.set_image(record, None, boxes, error=decoded)
            self._file_list.set_unreadable(image_id, decoded)
            self.message.emit(f"Cannot show {record.path}: {decoded}")
        self.last_show_ms = (time.perf_counter() - self._requested_at) * 1000.0
        self.image_shown.emit(image_id)

    # --- slots ------------------------------------------------------------------------------
    @Slot(int, int, object, str)
    def _on_loader_loaded(self, image_id: int, generation: int, image: LoadedImage | None, error: str) -> None:
        if image_id != self.current_id or generation != self.generation:
            return  # the user has moved on
        self._present(image_id, image if image is not None else error)

    @Slot(int)
    def _on_file_list_image_activated(self, image_id: int) -> None:
        if image_id != self.current_id:
            self.show_image(image_id)

    @Slot(int, str)
    def on_status_changed(self, image_id: int, status: str) -> None:
        self._file_list.set_status(image_id, status)
