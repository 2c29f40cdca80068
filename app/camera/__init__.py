"""Live camera and video: a dock with the live view, detection overlay and grab-into-project controls.

``install_camera(window, project_provider=..., detector_provider=...)`` adds the ``CameraDock`` and a
Camera menu to a QMainWindow in one call; everything else (capture worker, live detection worker,
grab jobs, all started through a ``WorkerPool``) lives inside the dock's ``CameraPanel``.
``detector_provider`` is called on the detection thread and should return the app's current
``engine.infer.Detector`` (or None).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QDialog, QDockWidget, QMainWindow, QMenu, QWidget

from app.camera.dialog import CameraPickerDialog, ask_video_file
from app.camera.live_detect import DetectorProvider
from app.camera.panel import CameraPanel, ProjectProvider
from app.camera.view import CameraView
from app.workers.base import WorkerPool

__all__ = ["CameraActions", "CameraDock", "CameraPanel", "CameraView", "install_camera"]


class CameraDock(QDockWidget):
    """A dock holding one CameraPanel; closing the dock stops the stream."""

    def __init__(self, project_provider: ProjectProvider, detector_provider: DetectorProvider,
                 parent: QWidget | None = None, *, pool: WorkerPool | None = None) -> None:
        super().__init__("Camera", parent)
        self.setObjectName("cameraDock")
        self.panel = CameraPanel(project_provider, detector_provider, self, pool=pool)
        self.setWidget(self.panel)

    @Slot()
    def open_camera_dialog(self) -> None:
        dialog = CameraPickerDialog(self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        video, camera = dialog.selected_video(), dialog.selected_camera()
        if video is not None:
            self.open_video(video)
        elif camera is not None:
            self._reveal()
            self.panel.open_camera(camera)

    @Slot()
    def open_video_dialog(self) -> None:
        path = ask_video_file(self)
        if path is not None:
            self.open_video(path)

    def open_video(self, path: object) -> None:
        self._reveal()
        self.panel.open_video(path)  # type: ignore[arg-type]

    def _reveal(self) -> None:
        first = self.isHidden()
        self.show()
        self.raise_()
        window = self.parentWidget()
        if first and isinstance(window, QMainWindow) and not self.isFloating():
            # a live view squeezed under other docks is useless: give it most of the column's height
            window.resizeDocks([self], [int(window.height() * 0.6)], Qt.Orientation.Vertical)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt name)
        self.panel.close_source()
        super().closeEvent(event)


@dataclass(frozen=True)
class CameraActions:
    """The Camera menu and its actions, for a window that wants to place them elsewhere too."""

    menu: QMenu
    open_camera: QAction
    open_video: QAction
    play_pause: QAction
    grab: QAction
    close: QAction
    collect: QAction | None = None  # Collect Uncertain Frames (checkable)


def install_camera(
    window: QMainWindow,
    *,
    project_provider: ProjectProvider,
    detector_provider: DetectorProvider,
    open_image: Callable[[int], None] | None = None,
    menu: QMenu | None = None,
    pool: WorkerPool | None = None,
) -> tuple[CameraDock, CameraActions]:
    """Add the camera dock (hidden until a source is opened) and a Camera menu to ``window``.

    ``open_image(image_id)`` is called after Grab Frame saved a frame into the project, to open it in
    the labeling view. ``menu`` is an existing (empty) Camera menu to fill instead of adding one.
    ``pool`` is the window's ``WorkerPool`` (it then awaits the camera's workers when the window
    closes); without one the panel keeps its own. Camera errors also go to the window's status bar.
    The dock's workers are stopped when the application quits.
    """
    dock = CameraDock(project_provider, detector_provider, window, pool=pool)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    dock.hide()
    panel = dock.panel
    if menu is None:
        menu = window.menuBar().addMenu("&Camera")
    open_camera = menu.addAction("Open &Camera…", dock.open_camera_dialog)
    open_video = menu.addAction("Open &Video File…", dock.open_video_dialog)
    menu.addSeparator()
    play_pause = menu.addAction("&Play / Pause", panel.toggle_playing)
    grab = menu.addAction("&Grab Frame", panel.grab_frame)
    grab.setShortcut(QKeySequence("G"))  # shown in the menu; works whatever has focus
    window.addAction(grab)
    grab.setToolTip("Save the current frame into the project with its detections (G)")
    close = menu.addAction("C&lose Camera / Video", dock.close)
    collect = menu.addAction("Collect &Uncertain Frames")
    collect.setCheckable(True)
    collect.setToolTip("While live detection runs, save the frames the model is unsure about into the project")
    collect.toggled.connect(panel.collector.set_enabled)
    panel.collector.check.toggled.connect(collect.setChecked)
    menu.addSeparator()
    menu.addAction(dock.toggleViewAction())
    if open_image is not None:
        panel.frame_grabbed.connect(lambda image_id, _path: open_image(image_id))
    panel.error_reported.connect(lambda message: window.statusBar().showMessage(message, 10_000))
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(panel.shutdown)
    return dock, CameraActions(menu, open_camera, open_video, play_pause, grab, close, collect)
