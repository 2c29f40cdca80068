"""The scene item of one box: a rectangle, a label tag and, when selected, eight resize handles.

Items are deliberately passive: they paint with Qt's C++ code (no Python ``paint``) and take no mouse
events; the canvas tools hit-test and drive them. This keeps 5,000 boxes cheap to show and lets a drag
move one item without touching the others. Item position is the box's top-left corner in scene
coordinates (= image pixels) and the rectangle starts at (0, 0), so a move is a ``setPos``.
Handles ignore the view's zoom (few exist: only selected boxes have them) so they stay grabbable.
Tags are scaled by 1 / zoom instead of ignoring transformations: Qt keeps every transformation-
ignoring item out of its spatial index and tests each one on every paint and hit test, which with
5,000 tags cost more than everything else together.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPixmapItem, QGraphicsRectItem

from app.canvas import render
from engine.types import Box

# Handle k sits at (fx * width, fy * height); order: clockwise from the top-left corner.
HANDLE_ANCHORS: tuple[tuple[float, float], ...] = (
    (0.0, 0.0), (0.5, 0.0), (1.0, 0.0), (1.0, 0.5), (1.0, 1.0), (0.5, 1.0), (0.0, 1.0), (0.0, 0.5),
)
Z_BOX = 1.0
Z_SELECTED = 2.0
_IGNORE_ZOOM = QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations


class BoxItem(QGraphicsRectItem):
    """One ``engine.types.Box`` on the canvas; ``box_id`` is the store id."""

    def __init__(self, box: Box, colour: str, tag_scale: float = 1.0) -> None:
        # The fast path for building 5,000 items: as few Qt calls as possible per item.
        super().__init__(0.0, 0.0, box.x2 - box.x1, box.y2 - box.y1)
        self.box_id: int = int(box.id)  # type: ignore[arg-type]
        self.box = box
        self._colour = colour
        self._selected = False
        self._handles: list[QGraphicsRectItem] = []
        self.setPos(box.x1, box.y1)
        self.setPen(render.box_pen(colour, box.source == "predicted", False))
        self.setZValue(Z_BOX)
        pixmap = render.tag_pixmap(render.box_text(box), colour)
        self._tag = QGraphicsPixmapItem(pixmap, self)
        self._tag.setOffset(0.0, -float(pixmap.height()))
        if tag_scale != 1.0:
            self._tag.setScale(tag_scale)

    # ---- state from the document ------------------------------------------------------------
    def set_box(self, box: Box, colour: str) -> None:
        """Show ``box`` (geometry, label, provenance) in ``colour``."""
        self.box, self._colour = box, colour
        self.set_geometry(box.x1, box.y1, box.x2, box.y2)
        self._restyle()
        pixmap = render.tag_pixmap(render.box_text(box), colour)
        self._tag.setPixmap(pixmap)
        self._tag.setOffset(0.0, -float(pixmap.height()))

    def set_selected_look(self, selected: bool) -> None:
        """Highlight (thicker pen, light fill, handles) or not."""
        if selected == self._selected:
            return
        self._selected = selected
        self.setZValue(Z_SELECTED if selected else Z_BOX)
        self._restyle()
        if selected:
            self._add_handles()
        else:
            for handle in self._handles:
                handle.setParentItem(None)
                if handle.scene() is not None:
                    handle.scene().removeItem(handle)
            self._handles = []

    def is_selected_look(self) -> bool:
        return self._selected

    # ---- geometry (also used for live previews while dragging) ---------------------------------
    def set_geometry(self, x1: float, y1: float, x2: float, y2: float) -> None:
        """Place the item at the box corners (image pixels); only this item is touched."""
        w, h = x2 - x1, y2 - y1
        self.setPos(x1, y1)
        if self.rect().width() != w or self.rect().height() != h:
            self.setRect(0.0, 0.0, w, h)
            for handle, (fx, fy) in zip(self._handles, HANDLE_ANCHORS):
                handle.setPos(fx * w, fy * h)

    def geometry(self) -> tuple[float, float, float, float]:
        """Current (possibly previewed) corners x1, y1, x2, y2 in image pixels."""
        p, r = self.pos(), self.rect()
        return p.x(), p.y(), p.x() + r.width(), p.y() + r.height()

    def handle_positions(self) -> list[QPointF]:
        """Scene positions of the eight handles, in ``HANDLE_ANCHORS`` order."""
        x1, y1, x2, y2 = self.geometry()
        return [QPointF(x1 + fx * (x2 - x1), y1 + fy * (y2 - y1)) for fx, fy in HANDLE_ANCHORS]

    def tag_item(self) -> QGraphicsPixmapItem:
        return self._tag

    def set_tag_scale(self, scale: float) -> None:
        """Scale the tag by 1 / zoom so it keeps its screen size (see module docstring)."""
        self._tag.setScale(scale)

    # ---- internals --------------------------------------------------------------------------
    def _restyle(self) -> None:
        predicted = self.box.source == "predicted"
        self.setPen(render.box_pen(self._colour, predicted, self._selected))
        self.setBrush(render.box_brush(self._colour, self._selected))
        for handle in self._handles:
            handle.setPen(render.handle_pen(self._colour))

    def _add_handles(self) -> None:
        r = self.rect()
        s = render.HANDLE_SIZE
        for fx, fy in HANDLE_ANCHORS:
            handle = QGraphicsRectItem(QRectF(-s / 2, -s / 2, s, s), self)
            handle.setFlag(_IGNORE_ZOOM, True)
            handle.setPen(render.handle_pen(self._colour))
            handle.setBrush(render.handle_brush())
            handle.setPos(fx * r.width(), fy * r.height())
            self._handles.append(handle)
