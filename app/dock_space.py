"""Panels give the image its space back: opening the Camera or Train panel takes a bounded share of
the window, and closing it returns the right column to the width it had before.

Qt keeps a dock column as wide as the widest dock that was in it: opening a video shrank the image
area from about 720 to 340 px, and closing the Camera and Train panels did not give it back until a
restart. ``DockSpace`` watches every dock of the window (also those installed later) and, after a
panel beyond the basic ones (Images, Classes, Boxes) is shown or hidden, resizes the right column.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Slot
from PySide6.QtWidgets import QDockWidget, QMainWindow

MAX_PANEL_SHARE = 0.4  # of the window's width, for a panel that is shown (Camera, Train)


class DockSpace(QObject):
    def __init__(self, window: QMainWindow, basic_docks: list[QDockWidget]) -> None:
        super().__init__(window)
        self._window = window
        self._basic = list(basic_docks)
        self._watched: set[int] = set()
        self.column_width: int | None = None  # the right column's width with only basic docks showing
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.rebalance)
        for dock in window.findChildren(QDockWidget):
            self._watch(dock)
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.ChildAdded and isinstance(event.child(), QDockWidget):
            self._watch(event.child())
        elif event.type() == QEvent.Type.Show and self.column_width is None:
            self._timer.start()
        return False

    def _watch(self, dock: QDockWidget) -> None:
        if id(dock) not in self._watched:
            self._watched.add(id(dock))
            dock.visibilityChanged.connect(self._on_dock_visibility_changed)

    @Slot(bool)
    def _on_dock_visibility_changed(self, _visible: bool) -> None:
        self._timer.start()

    def _right_docks(self) -> list[QDockWidget]:
        window = self._window
        return [d for d in window.findChildren(QDockWidget) if d.isVisible() and not d.isFloating()
                and window.dockWidgetArea(d) == Qt.DockWidgetArea.RightDockWidgetArea]

    @Slot()
    def rebalance(self) -> None:
        docks = self._right_docks()
        if not docks:
            return
        extras = [d for d in docks if d not in self._basic and d.objectName() != "review_dock"]
        window_width = max(self._window.width(), 1)
        if not extras:
            if self.column_width is None:
                self.column_width = max(d.width() for d in docks)
            else:
                self._window.resizeDocks(docks, [self.column_width] * len(docks), Qt.Orientation.Horizontal)
            return
        cap = int(window_width * MAX_PANEL_SHARE)
        if max(d.width() for d in docks) > cap:
            self._window.resizeDocks(docks, [cap] * len(docks), Qt.Orientation.Horizontal)

    def right_column_width(self) -> int:
        docks = self._right_docks()
        return max((d.width() for d in docks), default=0)


def install(window: Any) -> DockSpace:
    return DockSpace(window, [window.file_list, window.class_list, window.box_list])
