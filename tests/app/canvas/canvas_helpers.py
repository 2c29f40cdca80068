"""Mouse helpers for canvas tests: send real viewport events at image-pixel positions."""

from __future__ import annotations

import numpy as np

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from app.canvas import Canvas
from app.document import Document
from engine.types import Box

W, H = 100, 80  # the test image


def _send(canvas: Canvas, kind: QEvent.Type, x: float, y: float, button: Qt.MouseButton,
          buttons: Qt.MouseButton, mods: Qt.KeyboardModifier) -> None:
    pos = QPointF(canvas.mapFromScene(QPointF(x, y)))
    glob = QPointF(canvas.viewport().mapToGlobal(pos.toPoint()))
    event = QMouseEvent(kind, pos, glob, button, buttons, mods)
    QApplication.sendEvent(canvas.viewport(), event)


def drag(canvas: Canvas, start: tuple[float, float], end: tuple[float, float], *, steps: int = 5,
         mods: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
         button: Qt.MouseButton = Qt.MouseButton.LeftButton) -> None:
    """Press at ``start``, move in ``steps`` and release at ``end``; points in image pixels."""
    (x0, y0), (x1, y1) = start, end
    _send(canvas, QEvent.Type.MouseButtonPress, x0, y0, button, button, mods)
    for k in range(1, steps + 1):
        t = k / steps
        _send(canvas, QEvent.Type.MouseMove, x0 + t * (x1 - x0), y0 + t * (y1 - y0),
              Qt.MouseButton.NoButton, button, mods)
    _send(canvas, QEvent.Type.MouseButtonRelease, x1, y1, button, Qt.MouseButton.NoButton, mods)


def click(canvas: Canvas, x: float, y: float,
          mods: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    drag(canvas, (x, y), (x, y), steps=0, mods=mods)


def open_image(doc: Document, boxes: tuple[Box, ...] | list[Box] = ()) -> None:
    """Store ``boxes`` on the project's only image and make it current in ``doc``."""
    p = doc.project
    record = p.images()[0]
    for b in boxes:
        p.add_box(record, b)
    doc.set_image(p.image(record.id), np.full((H, W, 3), 120, np.uint8), p.boxes(record))
