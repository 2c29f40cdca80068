"""The scene: the image as a pixmap and one ``BoxItem`` per box, kept in step with a ``Document``.

The scene is a view of the document. It builds all items only when another image becomes current and
otherwise applies the document's incremental signals (``boxes_added`` / ``boxes_removed`` /
``boxes_updated`` with ids, ``selection_changed``, ``score_thresh_changed``) to the affected items
only, through a ``box_id -> BoxItem`` dict. Scene coordinates are image pixels: the pixmap sits at
(0, 0) and the scene rectangle is the image, so moving a box never grows the scene.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QRectF, Qt
from PySide6.QtGui import QPainter, QPixmap
from PySide6.QtWidgets import QGraphicsScene

from app.canvas import render
from app.canvas.box_item import BoxItem
from app.document import Document


class CanvasScene(QGraphicsScene):
    """Image and box items of ``document``'s current image."""

    def __init__(self, document: Document, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self._items: dict[int, BoxItem] = {}
        self._selected: set[int] = set()
        self._tag_scale = 1.0
        self._pixmap = QPixmap()  # drawn as the background (cached by the view), not as an item
        self.boxes_shown = True  # View › Show Boxes (H): off hides every box (and so they cannot be picked)
        self.brightness, self.contrast = 0, 1.0  # View › Brightness / Contrast: the display only, never the file
        document.image_changed.connect(self._on_document_image_changed)
        document.boxes_added.connect(self._on_document_boxes_added)
        document.boxes_removed.connect(self._on_document_boxes_removed)
        document.boxes_updated.connect(self._on_document_boxes_updated)
        document.selection_changed.connect(self._on_document_selection_changed)
        document.score_thresh_changed.connect(self._on_document_score_thresh_changed)
        self._on_document_image_changed()

    # ---- queries used by the view and tools -----------------------------------------------------
    def box_item(self, box_id: int) -> BoxItem | None:
        return self._items.get(box_id)

    def box_items(self) -> list[BoxItem]:
        return list(self._items.values())

    def image_rect(self) -> QRectF:
        return QRectF(self._pixmap.rect()) if not self._pixmap.isNull() else QRectF()

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802 - Qt's name
        """The image at full quality (smooth scaling); the view caches this layer between repaints."""
        painter.fillRect(rect, render.BACKGROUND)
        if not self._pixmap.isNull():
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawPixmap(QRectF(self._pixmap.rect()), self._pixmap, QRectF(self._pixmap.rect()))

    def boxes_at(self, x: float, y: float) -> list[BoxItem]:
        """Visible box items under the image point (x, y), smallest area first."""
        found: dict[int, BoxItem] = {}
        for item in self.items(QRectF(x - 0.5, y - 0.5, 1.0, 1.0)):
            box_item = item if isinstance(item, BoxItem) else item.parentItem()
            if isinstance(box_item, BoxItem) and box_item.isVisible():
                found[box_item.box_id] = box_item
        return sorted(found.values(), key=lambda it: it.rect().width() * it.rect().height())

    def boxes_in(self, x1: float, y1: float, x2: float, y2: float) -> list[int]:
        """Ids of visible boxes entirely inside the rectangle (rubber-band selection)."""
        rect = QRectF(x1, y1, x2 - x1, y2 - y1)
        hits = self.items(rect, Qt.ItemSelectionMode.ContainsItemShape)
        return [it.box_id for it in hits if isinstance(it, BoxItem) and it.isVisible()]

    def set_boxes_shown(self, on: bool) -> None:
        self.boxes_shown = bool(on)
        for item in self._items.values():
            item.setVisible(self._shows(item.box))

    def set_display_adjust(self, brightness: int, contrast: float) -> None:
        """Show the image with ``brightness`` added (-100..100) and ``contrast`` times the spread around
        mid-grey (0.2..3); the decoded pixels and the file are untouched."""
        self.brightness, self.contrast = int(brightness), float(contrast)
        self._set_pixmap()
        self.invalidate(self.sceneRect(), QGraphicsScene.SceneLayer.BackgroundLayer)

    def bring_to_front(self, ids: list[int]) -> None:
        top = max((it.zValue() for it in self._items.values()), default=0.0)
        for box_id in ids:
            item = self._items.get(box_id)
            if item is not None:
                top += 1.0
                item.setZValue(top)

    def _shows(self, box: Any) -> bool:
        return self.boxes_shown and self.document.is_visible(box)

    def _set_pixmap(self) -> None:
        pixels, display = self.document.pixels, self.document.display_image
        if pixels is not None and (self.brightness or self.contrast != 1.0):
            import numpy as np  # not at import: the window paints before numpy is loaded

            lut = np.clip((np.arange(256, dtype=np.float32) - 128.0) * self.contrast + 128.0 + self.brightness,
                          0, 255).astype(np.uint8)
            self._pixmap = render.pixmap_from_rgb(lut[pixels])
        elif display is not None:  # converted by the image loader, off this thread
            self._pixmap = QPixmap.fromImage(display)
        else:
            self._pixmap = render.pixmap_from_rgb(pixels) if pixels is not None else QPixmap()

    def set_tag_scale(self, scale: float) -> None:
        """Tags keep their screen size: the view calls this with 1 / zoom when the zoom changes."""
        if scale != self._tag_scale:
            self._tag_scale = scale
            for item in self._items.values():
                item.set_tag_scale(scale)

    # ---- document signals -------------------------------------------------------------------
    def _on_document_image_changed(self) -> None:
        for item in self._items.values():
            self.removeItem(item)
        self._items = {}
        self._selected = set()
        doc = self.document
        if doc.pixels is not None:
            self._set_pixmap()
            self.setSceneRect(QRectF(self._pixmap.rect()))
        else:
            self._pixmap = QPixmap()
            size = doc.image_size() or (1, 1)
            self.setSceneRect(QRectF(0, 0, size[0], size[1]))
        self._add_items([b.id for b in doc.boxes()])
        self._on_document_selection_changed()

    def _on_document_boxes_added(self, ids: list[int]) -> None:
        self._add_items(ids)
        self._on_document_selection_changed()

    def _on_document_boxes_removed(self, ids: list[int]) -> None:
        for box_id in ids:
            item = self._items.pop(box_id, None)
            self._selected.discard(box_id)
            if item is not None:
                self.removeItem(item)

    def _on_document_boxes_updated(self, ids: list[int]) -> None:
        doc = self.document
        for box_id in ids:
            item = self._items.get(box_id)
            if item is None or not doc.has_box(box_id):
                continue
            box = doc.box(box_id)
            item.set_box(box, doc.class_colour(box.label))
            item.setVisible(self._shows(box))

    def _on_document_selection_changed(self) -> None:
        wanted = set(self.document.selected_ids())
        for box_id in self._selected - wanted:
            item = self._items.get(box_id)
            if item is not None:
                item.set_selected_look(False)
        for box_id in wanted - self._selected:
            item = self._items.get(box_id)
            if item is not None:
                item.set_selected_look(True)
        self._selected = wanted & set(self._items)

    def _on_document_score_thresh_changed(self, _thresh: float) -> None:
        for item in self._items.values():
            if item.box.source == "predicted":
                item.setVisible(self._shows(item.box))

    # ---- internals --------------------------------------------------------------------------
    def _add_items(self, ids: list[int]) -> None:
        doc = self.document
        for box_id in ids:
            if box_id in self._items or not doc.has_box(box_id):
                continue
            box = doc.box(box_id)
            item = BoxItem(box, doc.class_colour(box.label), self._tag_scale)
            item.setVisible(self._shows(box))
            self.addItem(item)
            self._items[box_id] = item
