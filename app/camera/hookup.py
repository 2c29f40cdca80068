"""Attaching the camera dock to RetinaLab's MainWindow (the shell's window) in one call.

``install_camera_in_main_window(window)`` installs the dock and Camera menu with ``install_camera`` and bridges
its results into the window's project views: a grabbed frame is listed and opened in the labeling
view (with the classes its predictions added), frames added from a video are listed. It reads the
window's parts by their public names (``projects.project``, ``file_list``, ``document``,
``navigator``, ``models.worker``, ``pool``) so the window itself needs only this call; the window's
pool awaits the camera's workers when it closes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QMenu

from app.camera import CameraActions, CameraDock, install_camera

if TYPE_CHECKING:
    from app.controllers.model import ModelController
    from app.controllers.navigator import Navigator
    from app.controllers.project import ProjectController
    from app.document import Document
    from app.widgets.file_list import FileListDock
    from app.workers.base import WorkerPool
    from app.workers.model import Predictor
    from engine.project import Project


class CameraWindow(Protocol):
    """What the camera dock uses of the main window (a ``QMainWindow``) it is attached to."""

    projects: ProjectController
    file_list: FileListDock
    document: Document
    navigator: Navigator
    models: ModelController
    pool: WorkerPool

    def raise_(self) -> None: ...


class MainWindowBridge(QObject):
    """GUI-thread slots that bring camera captures into the main window's file list and canvas."""

    def __init__(self, window: CameraWindow) -> None:
        super().__init__(window)
        self._window = window

    def project(self) -> Project | None:
        return self._window.projects.project

    def detector(self) -> Predictor | None:
        """The loaded detector or None; called on the live-detection thread (a plain attribute read)."""
        return self._window.models.worker.detector

    @Slot(int)
    def open_grabbed(self, image_id: int) -> None:
        window, project = self._window, self.project()
        if project is None:
            return
        window.file_list.set_records(project.images())
        window.document.set_project(project)  # reloads classes the predictions may have added
        window.navigator.show_image(image_id)
        window.raise_()

    def colour(self, label: str) -> QColor:
        return QColor(self._window.document.class_colour(label))

    @Slot(int, int)
    def list_added(self, written: int, added: int) -> None:
        project = self.project()
        if project is not None and added:
            self._window.file_list.set_records(project.images())


def install_camera_in_main_window(window: CameraWindow, menu: QMenu | None = None) -> tuple[CameraDock, CameraActions]:
    """Install the camera dock and menu (into ``menu`` when given) in RetinaLab's MainWindow, its
    workers started through the window's pool."""
    bridge = MainWindowBridge(window)
    dock, actions = install_camera(window, project_provider=bridge.project, detector_provider=bridge.detector,
                                   open_image=bridge.open_grabbed, menu=menu, pool=window.pool)
    dock.panel.frames_added.connect(bridge.list_added)
    dock.panel.view.set_colour_for(bridge.colour)  # the same colours as the canvas and the class list
    return dock, actions
