"""The Review dock: where the model disagrees with the labels, and one key to fix each finding.

``install_review(window)`` adds the dock (right side, tabbed with the box list), a Model › Review
Labels entry (Ctrl+Shift+L) that brings it to the front, and the X shortcut that applies the selected finding's fix. The finder
itself is ``engine.review``; ``controller`` runs it off the GUI thread and applies fixes as
ordinary undoable edits; ``dock`` is the view.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from app.review.controller import ReviewController, ReviewWindow
from app.review.dock import ReviewDock


SHOW_SHORTCUT = "Ctrl+Shift+L"


def install_review(window: ReviewWindow, model_menu: QMenu) -> ReviewController:
    dock = ReviewDock(window)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.tabifyDockWidget(window.box_list, dock)
    window.box_list.raise_()
    controller = ReviewController(window, dock)
    controller.message.connect(window.status.show_message)
    show = QAction("&Review Labels (find label errors)", window)
    show.setObjectName("review_dock_action")
    show.setShortcut(QKeySequence(SHOW_SHORTCUT))
    window.addAction(show)
    show.triggered.connect(dock.show)
    show.triggered.connect(dock.raise_)  # in front of the box list it is tabbed with
    model_menu.addSeparator()
    model_menu.addAction(show)
    model_menu.addAction(controller.fix_action)
    return controller
