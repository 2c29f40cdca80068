"""The Train and Camera docks, installed on first use so the window paints before their imports.

Importing the Train panel (charts, options, the data check) and the camera (``engine.video``, numpy,
OpenCV on first capture) cost about as much as the rest of the window together. ``LazyDocks`` puts
their entries in the menus at once, cheaply: the window's Model › Train… action (Ctrl+T, from
``app.actions``), which the Train panel adopts when it is installed, and an empty Camera menu that the
camera fills just before it is first shown. The first use (the action, the menu, or reading
``training_panel()`` / ``camera()``) imports and installs the real dock; nothing else changes for the
user. Their workers run in the window's ``WorkerPool``, which awaits them when the window closes.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMenu

from app.workers.base import WorkerPool


class LazyDocks(QObject):
    """Owns the not-yet-installed docks of ``window``; see the module docstring."""

    training_panel_installed = Signal(object)  # the TrainingPanel, just installed

    def __init__(self, window: QMainWindow, document: Any, models: Any, pool: WorkerPool,
                 train_action: QAction, model_menu: QMenu) -> None:
        super().__init__(window)
        self._window, self._document, self._models, self._pool = window, document, models, pool
        self._panel: Any = None
        self._camera: tuple[Any, Any] | None = None
        self.train_action = train_action
        model_menu.addSeparator()
        model_menu.addAction(train_action)  # last, after the Review entries
        self.train_action.triggered.connect(self._on_train_action_triggered)
        self.camera_menu = window.menuBar().addMenu("&Camera")
        self.camera_menu.aboutToShow.connect(self._on_camera_menu_about_to_show)

    def training_panel(self) -> Any:
        """The Train panel, installed now if it was not yet."""
        if self._panel is None:
            from app.training.install import install_training

            self._panel = install_training(self._window, self.train_action, self._document, self._models,
                                           pool=self._pool)
            self.training_panel_installed.emit(self._panel)
        return self._panel

    def camera(self) -> tuple[Any, Any]:
        """``(CameraDock, CameraActions)``, installed into the Camera menu now if they were not yet."""
        if self._camera is None:
            from app.camera.hookup import install_camera_in_main_window

            self._camera = install_camera_in_main_window(self._window, menu=self.camera_menu)
        return self._camera

    @Slot(bool)
    def _on_train_action_triggered(self, checked: bool) -> None:
        self.train_action.triggered.disconnect(self._on_train_action_triggered)  # the panel owns it now
        panel = self.training_panel()
        if checked:
            panel.integration.show_panel()
        else:
            panel.setVisible(False)

    @Slot()
    def _on_camera_menu_about_to_show(self) -> None:
        self.camera_menu.aboutToShow.disconnect(self._on_camera_menu_about_to_show)
        self.camera()
