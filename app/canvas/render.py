"""Pens, brushes, colours and label-tag pixmaps for the canvas, built once and cached.

Painting parameters live here (labelme v7 keeps rendering apart from shapes) so that the box items
stay small and no paint or update allocates a pen, a font metric or a text layout: pens are cached by
(colour, style, selected), tag pixmaps by (text, colour). Predictions are dashed, confirmed boxes
(manual, accepted, edited) solid; every pen is cosmetic so lines stay 2 px wide at any zoom.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QImage, QPainter, QPen, QPixmap

from engine.types import Box

if TYPE_CHECKING:
    import numpy as np

LINE_WIDTH = 2.0
SELECTED_LINE_WIDTH = 3.0
HANDLE_SIZE = 8.0  # screen pixels
TAG_FONT_POINT_SIZE = 8
TAG_PADDING = 2
PLACEHOLDER_STYLE = "color: #dddddd; font-size: 14px; background: transparent;"
BACKGROUND = QColor("#2b2b2b")


def box_text(box: Box) -> str:
    """The tag text: "class score" for predictions (and accepted boxes that kept a score)."""
    if box.score is not None and box.source in ("predicted", "accepted"):
        return f"{box.label} {box.score:.2f}"
    return box.label


@lru_cache(maxsize=512)
def box_pen(colour: str, predicted: bool, selected: bool) -> QPen:
    pen = QPen(QColor(colour))
    pen.setCosmetic(True)
    pen.setWidthF(SELECTED_LINE_WIDTH if selected else LINE_WIDTH)
    pen.setStyle(Qt.PenStyle.DashLine if predicted else Qt.PenStyle.SolidLine)
    pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
    return pen


@lru_cache(maxsize=256)
def box_brush(colour: str, selected: bool) -> QBrush:
    if not selected:
        return QBrush(Qt.BrushStyle.NoBrush)
    fill = QColor(colour)
    fill.setAlpha(48)
    return QBrush(fill)


@lru_cache(maxsize=64)
def handle_pen(colour: str) -> QPen:
    pen = QPen(QColor(colour))
    pen.setCosmetic(True)
    pen.setWidthF(1.0)
    return pen


@lru_cache(maxsize=1)
def handle_brush() -> QBrush:
    return QBrush(QColor("#ffffff"))


@lru_cache(maxsize=1)
def rubber_band_pen() -> QPen:
    pen = QPen(QColor("#ffffff"))
    pen.setCosmetic(True)
    pen.setWidthF(1.0)
    pen.setStyle(Qt.PenStyle.DashLine)
    return pen


@lru_cache(maxsize=1)
def _tag_font() -> QFont:
    font = QFont()
    font.setPointSize(TAG_FONT_POINT_SIZE)
    return font


def _text_colour(colour: QColor) -> QColor:
    """Black on light class colours, white on dark ones (relative luminance)."""
    lum = 0.299 * colour.red() + 0.587 * colour.green() + 0.114 * colour.blue()
    return QColor("#000000") if lum > 150 else QColor("#ffffff")


@lru_cache(maxsize=8192)
def tag_pixmap(text: str, colour: str) -> QPixmap:
    """A small filled label tag with ``text``; cached, since 5,000 boxes share few distinct texts."""
    font = _tag_font()
    metrics = QFontMetrics(font)
    w = metrics.horizontalAdvance(text) + 2 * TAG_PADDING
    h = metrics.height() + TAG_PADDING
    pixmap = QPixmap(max(w, 1), max(h, 1))
    fill = QColor(colour)
    pixmap.fill(fill)
    painter = QPainter(pixmap)
    painter.setFont(font)
    painter.setPen(_text_colour(fill))
    painter.drawText(QRectF(0, 0, w, h), Qt.AlignmentFlag.AlignCenter, text)
    painter.end()
    return pixmap


def qimage_from_rgb(pixels: np.ndarray) -> QImage:
    """An (H, W, 3) uint8 RGB array as a QImage in the format a QPixmap is made from without another
    conversion (RGB32; copied, so the array may be freed afterwards). QImage is reentrant: the image
    loader calls this on its own thread and hands the result to the canvas with the pixels, so showing
    a 12 MP image costs ~5 ms on the GUI thread instead of ~100 ms."""
    import numpy as np  # not at import time: the window paints before numpy has loaded

    rgb = np.ascontiguousarray(pixels[:, :, :3], dtype=np.uint8)
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return image.convertToFormat(QImage.Format.Format_RGB32)


def pixmap_from_rgb(pixels: np.ndarray) -> QPixmap:
    """A QPixmap of an (H, W, 3) uint8 RGB array, converted here (on the calling thread)."""
    return QPixmap.fromImage(qimage_from_rgb(pixels))
