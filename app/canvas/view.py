"""The canvas widget: a ``QGraphicsView`` of a document's image with zoom, pan, keys and mouse tools.

This is the canvas edge: the only place that maps viewport ``QPoint``s to image pixels (floats) for
the tools. It owns the interaction state (mode, pan, the active tool) and turns keys into document
edits; it never edits items directly. Keys handled here while the canvas has focus: W create mode,
Escape cancel, Delete/Backspace delete (reject predictions), arrows nudge (Shift: 10 px), 1-9 label
as the n-th class, Enter accept selected predictions, Shift+Enter accept all above the threshold,
Ctrl+A select all, Ctrl+= / Ctrl+- zoom, Ctrl+0 / F fit. Space is tap-or-hold: held, a left drag
pans (so does a middle drag); tapped without a drag, the canvas emits ``space_tapped`` (the shell
marks the image reviewed and moves on). The canvas claims Space from window shortcuts while it has
focus (``ShortcutOverride``) so the hold can be seen at all. Undo/redo keys belong to the shell's
actions (``Document.undo_stack``).
"""

from __future__ import annotations

from typing import Literal

from PySide6.QtCore import QEvent, QPoint, Qt, Signal, Slot
from PySide6.QtGui import QFocusEvent, QKeyEvent, QMouseEvent, QPainter, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QFrame, QGraphicsView, QLabel, QWidget

from app.canvas import render
from app.canvas.scene import CanvasScene
from app.canvas.tools import CreateTool, SelectTool, Tool
from app.document import Document

Mode = Literal["select", "create"]
ZOOM_STEP = 1.25
MIN_ZOOM, MAX_ZOOM = 0.01, 64.0
NUDGE_PX, NUDGE_FAST_PX = 1.0, 10.0
HANDLE_GRAB_PX = render.HANDLE_SIZE / 2 + 3  # screen pixels around a handle that grab it

_ARROWS = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, -1),
           Qt.Key.Key_Down: (0, 1)}
_DIGITS = {getattr(Qt.Key, f"Key_{k}"): k for k in range(1, 10)}


class Canvas(QGraphicsView):
    """The labeling canvas for ``document`` (objectName ``canvas``)."""

    mode_changed = Signal(str)  # "select" | "create"
    zoom_changed = Signal(float)  # screen pixels per image pixel
    box_created = Signal(int)  # id of a box the user just drew (e.g. to open a label dialog)
    space_tapped = Signal()  # Space pressed and released without panning or drawing in between

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("canvas")
        self.document = document
        self._scene = CanvasScene(document, self)
        self.setScene(self._scene)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)  # a drag repaints boxes only
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self._select_tool = SelectTool(self._scene, document)
        self._create_tool = CreateTool(self._scene, document)
        self._create_tool.finished.connect(self._on_create_tool_finished)
        self._tool: Tool = self._select_tool
        self._mode: Mode = "select"
        self._pan_last: QPoint | None = None
        self._space_down = False
        self._space_used = False  # a mouse press while Space was held: the release is no tap
        self._auto_fit = True  # refit on resize until the user zooms
        self._placeholder = QLabel(self)
        self._placeholder.setObjectName("canvasPlaceholder")
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setWordWrap(True)
        self._placeholder.setStyleSheet(render.PLACEHOLDER_STYLE)
        self._placeholder.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        document.image_changed.connect(self._on_document_image_changed)
        self._on_document_image_changed()

    # ---- public API ---------------------------------------------------------------------------
    def canvas_scene(self) -> CanvasScene:
        return self._scene

    def mode(self) -> Mode:
        return self._mode

    @Slot(str)
    def set_mode(self, mode: Mode) -> None:
        """"select" or "create" (draw one box, then back to select)."""
        if mode == self._mode:
            return
        self._tool.cancel()
        self._mode = mode
        self._tool = self._create_tool if mode == "create" else self._select_tool
        self.viewport().setCursor(Qt.CursorShape.CrossCursor if mode == "create"
                                  else Qt.CursorShape.ArrowCursor)
        self.mode_changed.emit(mode)

    def zoom(self) -> float:
        return float(self.transform().m11())

    @Slot()
    def zoom_in(self) -> None:
        self._zoom_by(ZOOM_STEP)

    @Slot()
    def zoom_out(self) -> None:
        self._zoom_by(1.0 / ZOOM_STEP)

    @Slot()
    def fit(self) -> None:
        """Fit the whole image in the window (and keep fitting on resize until the next zoom)."""
        self._auto_fit = True
        rect = self._scene.sceneRect()
        if rect.width() > 0 and rect.height() > 0:
            self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
            self._on_zoom_changed()

    def visible_box_ids(self) -> list[int]:
        """Ids of boxes drawn now (predictions under the score threshold are hidden)."""
        return [it.box_id for it in self._scene.box_items() if it.isVisible()]

    def placeholder_text(self) -> str | None:
        """The message shown instead of an image, or None when an image is shown."""
        return None if self._placeholder.isHidden() else self._placeholder.text()

    # ---- document signals -------------------------------------------------------------------
    def _on_document_image_changed(self) -> None:
        self.resetCachedContent()
        self._tool.cancel()
        self.set_mode("select")
        doc = self.document
        if doc.pixels is not None:
            self._placeholder.hide()
        else:
            text = (f"Cannot show this image\n{doc.error}" if doc.error
                    else "No image" if doc.record is None else "Loading…")
            self._placeholder.setText(text)
            self._placeholder.show()
        self.fit()

    def _on_create_tool_finished(self) -> None:
        self.set_mode("select")
        ids = self.document.selected_ids()
        if len(ids) == 1:
            self.box_created.emit(ids[0])

    # ---- Qt events: the canvas edge -------------------------------------------------------------
    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and _is_plain_space(event):  # type: ignore[arg-type]
            event.accept()  # Space is ours (tap or hold), not the window's "mark reviewed" shortcut
            return True
        return super().event(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802
        self._space_down = False  # the release will go elsewhere: never a tap
        super().focusOutEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._placeholder.setGeometry(self.viewport().geometry())
        if self._auto_fit:
            self.fit()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        steps = event.angleDelta().y() / 120.0
        if steps:
            self._zoom_by(ZOOM_STEP ** steps)
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        button = event.button()
        if self._space_down:
            self._space_used = True
        if button == Qt.MouseButton.MiddleButton or (
                button == Qt.MouseButton.LeftButton and self._space_down):
            self._pan_last = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
        elif button == Qt.MouseButton.LeftButton and self.document.pixels is not None:
            x, y = self._image_xy(event)
            additive = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
            self._tool.press(x, y, additive=additive, tolerance=HANDLE_GRAB_PX / self.zoom())
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._pan_last is not None:
            pos = event.position().toPoint()
            delta, self._pan_last = pos - self._pan_last, pos
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
        elif event.buttons() & Qt.MouseButton.LeftButton:
            self._tool.move(*self._image_xy(event))
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._pan_last is not None and event.button() in (Qt.MouseButton.MiddleButton,
                                                             Qt.MouseButton.LeftButton):
            self._pan_last = None
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor if self._space_down else
                                      Qt.CursorShape.CrossCursor if self._mode == "create"
                                      else Qt.CursorShape.ArrowCursor)
        elif event.button() == Qt.MouseButton.LeftButton:
            self._tool.release(*self._image_xy(event))
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if not self._handle_key(event):
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                tapped = self._space_down and not self._space_used and self._pan_last is None
                self._space_down = False
                if self._pan_last is None:
                    self.viewport().setCursor(Qt.CursorShape.CrossCursor if self._mode == "create"
                                              else Qt.CursorShape.ArrowCursor)
                if tapped:
                    self.space_tapped.emit()
            event.accept()
            return
        super().keyReleaseEvent(event)

    # ---- internals --------------------------------------------------------------------------
    def _image_xy(self, event: QMouseEvent) -> tuple[float, float]:
        p = self.mapToScene(event.position().toPoint())
        return float(p.x()), float(p.y())

    def _zoom_by(self, factor: float) -> None:
        target = min(max(self.zoom() * factor, MIN_ZOOM), MAX_ZOOM)
        if target != self.zoom():
            self._auto_fit = False
            f = target / self.zoom()
            self.scale(f, f)
            self._on_zoom_changed()

    def _on_zoom_changed(self) -> None:
        self._scene.set_tag_scale(1.0 / self.zoom())
        self.zoom_changed.emit(self.zoom())

    def _handle_key(self, event: QKeyEvent) -> bool:
        """Apply a canvas key; False when the key is not ours."""
        key, mods = event.key(), event.modifiers()
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        shift = bool(mods & Qt.KeyboardModifier.ShiftModifier)
        doc = self.document
        selected = doc.selected_ids()
        if key == Qt.Key.Key_Space:
            if not event.isAutoRepeat():  # held keys repeat: only the first press starts the hold
                self._space_down = True
                self._space_used = bool(QApplication.mouseButtons())  # mid-drag: not a tap
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
        elif ctrl and key in (Qt.Key.Key_Equal, Qt.Key.Key_Plus):
            self.zoom_in()
        elif ctrl and key == Qt.Key.Key_Minus:
            self.zoom_out()
        elif (ctrl and key == Qt.Key.Key_0) or (key == Qt.Key.Key_F and not ctrl):
            self.fit()
        elif ctrl and key == Qt.Key.Key_A:
            doc.select([b.id for b in doc.visible_boxes()])
        elif ctrl:
            return False
        elif key == Qt.Key.Key_W:
            self.set_mode("create")
        elif key == Qt.Key.Key_Escape:
            if not self._tool.cancel():
                if self._mode == "create":
                    self.set_mode("select")
                else:
                    doc.select([])
            elif self._mode == "create":
                self.set_mode("select")
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            doc.delete_boxes(selected)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if shift:
                doc.accept_all_above()
            else:
                doc.accept(selected)
        elif key in _ARROWS and selected:
            step = NUDGE_FAST_PX if shift else NUDGE_PX
            ax, ay = _ARROWS[key]
            doc.move_boxes(selected, ax * step, ay * step, merge=True)
        elif key in _DIGITS:
            names = doc.class_names()
            k = _DIGITS[key] - 1
            if k < len(names):
                if selected:
                    doc.relabel(selected, names[k])
                else:
                    doc.set_current_label(names[k])
        else:
            return False
        event.accept()
        return True


def _is_plain_space(event: QKeyEvent) -> bool:
    mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
    return event.key() == Qt.Key.Key_Space and mods == Qt.KeyboardModifier.NoModifier
