"""The labeling canvas: a zoomable, pannable view of the current image's boxes (see ``view.Canvas``).

``Canvas(document, parent=None)`` is a ``QGraphicsView`` (objectName ``canvas``) built from an
``app.document.Document``; the scene, items, tools and painting live in the sibling modules.
"""

from app.canvas.view import Canvas

__all__ = ["Canvas"]
