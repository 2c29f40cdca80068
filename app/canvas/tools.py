"""Mouse tools of the canvas: select / move / resize / rubber-band, and create.

Tools receive image coordinates (floats, already mapped from the viewport by the view, which is the
only place that converts ``QPoint``/``QPointF``) and a hit tolerance in image pixels. While a drag is
under way a tool only moves the affected items (a live preview); the document, and through it the
store and the undo stack, is changed once, on release: one command per gesture.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, QRectF, Signal
from PySide6.QtWidgets import QGraphicsRectItem

from app.canvas import render
from app.canvas.box_item import HANDLE_ANCHORS, BoxItem
from app.canvas.scene import CanvasScene
from app.document import Document
from engine.types import Box

Corners = tuple[float, float, float, float]


@dataclass
class _Drag:
    kind: str  # "move" | "resize" | "band"
    x0: float
    y0: float
    items: list[BoxItem]
    start: list[Corners]  # the items' corners when the drag began
    handle: int = -1


class Tool(QObject):
    """Base class: the view forwards left-button presses, moves and releases in image pixels."""

    finished = Signal()  # the tool is done (create mode returns to select mode)

    def __init__(self, scene: CanvasScene, document: Document) -> None:
        super().__init__(scene)
        self.scene = scene
        self.document = document

    def press(self, x: float, y: float, *, additive: bool, tolerance: float) -> None: ...
    def move(self, x: float, y: float) -> None: ...
    def release(self, x: float, y: float) -> None: ...

    def cancel(self) -> bool:
        """Abandon a gesture under way; True if there was one."""
        return False

    def _clamp(self, x: float, y: float) -> tuple[float, float]:
        size = self.document.image_size()
        if size is None:
            return x, y
        return min(max(x, 0.0), float(size[0])), min(max(y, 0.0), float(size[1]))


def _band_item(scene: CanvasScene) -> QGraphicsRectItem:
    item = QGraphicsRectItem()
    item.setPen(render.rubber_band_pen())
    item.setZValue(10.0)
    scene.addItem(item)
    return item


class SelectTool(Tool):
    """Click selects (Ctrl adds/toggles), drag moves the selection, handles resize, empty drag bands."""

    def __init__(self, scene: CanvasScene, document: Document) -> None:
        super().__init__(scene, document)
        self._drag: _Drag | None = None
        self._band: QGraphicsRectItem | None = None
        self._additive = False

    def handle_at(self, x: float, y: float, tolerance: float) -> tuple[BoxItem, int] | None:
        """The selected item and handle index within ``tolerance`` image pixels of (x, y)."""
        for box_id in self.document.selected_ids():
            item = self.scene.box_item(box_id)
            if item is None:
                continue
            for k, p in enumerate(item.handle_positions()):
                if abs(p.x() - x) <= tolerance and abs(p.y() - y) <= tolerance:
                    return item, k
        return None

    def press(self, x: float, y: float, *, additive: bool, tolerance: float) -> None:
        doc = self.document
        self._additive = additive
        hit = None if additive else self.handle_at(x, y, tolerance)
        if hit is not None:
            item, k = hit
            self._drag = _Drag("resize", x, y, [item], [item.geometry()], handle=k)
            return
        under = self.scene.boxes_at(x, y)
        if not under:
            if not additive:
                doc.select([])
            self._band = _band_item(self.scene)
            self._drag = _Drag("band", x, y, [], [])
            return
        selected = doc.selected_ids()
        target = next((it for it in under if it.box_id in selected), under[0])
        if additive and target.box_id in selected:
            doc.select([i for i in selected if i != target.box_id])
            return
        if additive or target.box_id not in selected:
            doc.select([target.box_id], additive=additive)
        items = [it for it in map(self.scene.box_item, doc.selected_ids()) if it is not None]
        self._drag = _Drag("move", x, y, items, [it.geometry() for it in items])

    def move(self, x: float, y: float) -> None:
        drag = self._drag
        if drag is None:
            return
        if drag.kind == "move":
            dx, dy = self._move_delta(x - drag.x0, y - drag.y0)
            for item, (x1, y1, x2, y2) in zip(drag.items, drag.start):
                item.set_geometry(x1 + dx, y1 + dy, x2 + dx, y2 + dy)
        elif drag.kind == "resize":
            drag.items[0].set_geometry(*self._resized(x, y, drag))
        elif self._band is not None:
            self._band.setRect(QRectF(min(drag.x0, x), min(drag.y0, y), abs(x - drag.x0),
                                      abs(y - drag.y0)))

    def release(self, x: float, y: float) -> None:
        drag, self._drag = self._drag, None
        if drag is None:
            return
        doc = self.document
        if drag.kind == "move":
            dx, dy = self._move_delta(x - drag.x0, y - drag.y0)
            if dx or dy:
                doc.move_boxes([it.box_id for it in drag.items], dx, dy)
            self._restore(drag)
        elif drag.kind == "resize":
            doc.set_box_geometry(drag.items[0].box_id, *self._resized(x, y, drag))
            self._restore(drag)
        else:
            self._remove_band()
            if abs(x - drag.x0) > 1 or abs(y - drag.y0) > 1:
                ids = self.scene.boxes_in(min(drag.x0, x), min(drag.y0, y), max(drag.x0, x),
                                          max(drag.y0, y))
                doc.select(ids, additive=self._additive)

    def cancel(self) -> bool:
        drag, self._drag = self._drag, None
        if drag is None:
            return False
        self._remove_band()
        self._restore(drag)
        return True

    def _move_delta(self, dx: float, dy: float) -> tuple[float, float]:
        """The drag offset, limited so every dragged box stays inside the image."""
        size = self.document.image_size()
        drag = self._drag
        if size is None or drag is None or not drag.start:
            return dx, dy
        dx = min(max(dx, -min(s[0] for s in drag.start)), size[0] - max(s[2] for s in drag.start))
        dy = min(max(dy, -min(s[1] for s in drag.start)), size[1] - max(s[3] for s in drag.start))
        return dx, dy

    def _resized(self, x: float, y: float, drag: _Drag) -> Corners:
        x, y = self._clamp(x, y)
        x1, y1, x2, y2 = drag.start[0]
        fx, fy = HANDLE_ANCHORS[drag.handle]
        if fx == 0.0:
            x1 = x
        elif fx == 1.0:
            x2 = x
        if fy == 0.0:
            y1 = y
        elif fy == 1.0:
            y2 = y
        return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)

    def _restore(self, drag: _Drag) -> None:
        """Put items back to the document's boxes (after a refused or cancelled drag)."""
        for item in drag.items:
            if self.document.has_box(item.box_id):
                b = self.document.box(item.box_id)
                item.set_geometry(b.x1, b.y1, b.x2, b.y2)

    def _remove_band(self) -> None:
        if self._band is not None:
            self.scene.removeItem(self._band)
            self._band = None


class CreateTool(Tool):
    """Drag out a new box with the document's current label; Escape cancels."""

    def __init__(self, scene: CanvasScene, document: Document) -> None:
        super().__init__(scene, document)
        self._start: tuple[float, float] | None = None
        self._preview: QGraphicsRectItem | None = None

    def press(self, x: float, y: float, *, additive: bool, tolerance: float) -> None:
        self._start = self._clamp(x, y)
        self._preview = _band_item(self.scene)
        self.move(x, y)

    def move(self, x: float, y: float) -> None:
        if self._start is None or self._preview is None:
            return
        (x0, y0), (x, y) = self._start, self._clamp(x, y)
        self._preview.setRect(QRectF(min(x0, x), min(y0, y), abs(x - x0), abs(y - y0)))

    def release(self, x: float, y: float) -> None:
        start = self._start
        self.cancel()
        if start is None:
            return
        doc = self.document
        corners = doc.normalized(start[0], start[1], x, y)
        if corners is None:  # under MIN_BOX_SIZE: a click, not a box; stay in create mode
            return
        doc.add_box(Box(*corners, label=doc.label_for_new_box(), source="manual"))
        self.finished.emit()

    def cancel(self) -> bool:
        had = self._start is not None
        self._start = None
        if self._preview is not None:
            self.scene.removeItem(self._preview)
            self._preview = None
        return had
