"""Spin boxes and combo boxes that the mouse wheel changes only once they have focus.

Scrolling over a form must not edit it: over the Train form the wheel silently turned the learning
rate from 0.01 into 0.004. ``guard_wheel(root)`` makes every spin box and combo box under ``root``
take focus by click or Tab only and ignore the wheel until then.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QWidget


class _WheelGuard(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Wheel and isinstance(watched, QWidget) and not watched.hasFocus():
            event.ignore()
            return True
        return False


def guard_wheel(root: QWidget) -> int:
    """Guard every spin box and combo box under ``root``; returns how many."""
    guard = root.findChild(_WheelGuard, "wheel_guard")
    if guard is None:
        guard = _WheelGuard(root)
        guard.setObjectName("wheel_guard")
    widgets = root.findChildren(QAbstractSpinBox) + root.findChildren(QComboBox)
    for widget in widgets:
        widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        widget.installEventFilter(guard)
    return len(widgets)
