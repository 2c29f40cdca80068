"""Start the app: the QApplication, the main window, then the folder, model and screenshot asked for.

``main(args)`` is what ``retinalab gui`` and ``python -m app`` call (``args.folder``, ``args.demo``,
``args.weights``, ``args.screenshot``). Without a usable display it prints one line and returns 2
before Qt starts (``app.display``). The window is shown before anything slow starts; opening the
folder and loading the model happen in workers. With ``--screenshot`` a ``ScreenshotJob`` waits until
the first image (and its detections, when a model was given; for ``--demo`` after the demo project
is created) is on screen, saves the window with ``QWidget.grab`` and quits; past the time limit it
says what did not appear, saves the window as it is and exits 1.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtWidgets import QApplication

from app.display import display_problem
from app.main_window import MainWindow

log = logging.getLogger(__name__)

SCREENSHOT_TIMEOUT_S = float(os.environ.get("RETINALAB_SCREENSHOT_TIMEOUT", "180"))


class ScreenshotJob(QObject):
    """Saves ``window`` as PNG once it shows what was asked for, closes it and emits ``finished``
    with the exit status (``main`` quits the application on it)."""

    finished = Signal(int)

    def __init__(self, window: MainWindow, path: Path, *, wants_image: bool, wants_model: bool,
                 timeout_s: float = SCREENSHOT_TIMEOUT_S) -> None:
        super().__init__(window)
        self._window = window
        self.path = path
        self._wants_image = wants_image
        self._wants_model = wants_model
        self.exit_code = 0
        self._done = False
        window.navigator.image_shown.connect(self._on_image_shown)
        window.projects.project_opened.connect(self._on_project_opened)
        window.projects.open_failed.connect(self.on_project_failed)
        window.models.detections_shown.connect(self._on_detections_shown)
        window.models.detection_failed.connect(self.on_model_failed)
        window.models.model_failed.connect(self.on_model_failed)
        window.models.model_ready.connect(self._on_model_ready)
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self._on_timeout)
        self._timer.start(int(timeout_s * 1000))
        if not wants_image and not wants_model:
            QTimer.singleShot(0, self._check)

    def _ready(self) -> bool:
        doc = self._window.document
        if self._wants_image and doc.record is None:
            return False
        if self._wants_model:
            models = self._window.models
            if models.info is None:
                return False
            if doc.record is not None and doc.pixels is not None and doc.record.status == "new":
                return False  # its detections are on the way
        return True

    @Slot()
    def _check(self) -> None:
        if not self._done and self._ready():
            self._finish()

    @Slot(object)
    def _on_project_opened(self, opened: Any) -> None:
        if not opened.records:
            self._wants_image = False
        self._check()

    @Slot(int)
    def _on_image_shown(self, _image_id: int) -> None:
        self._check()

    @Slot(object)
    def _on_model_ready(self, _info: Any) -> None:
        self._check()

    @Slot(int, int)
    def _on_detections_shown(self, _image_id: int, _count: int) -> None:
        self._check()

    @Slot(str)
    def on_model_failed(self, message: str) -> None:
        """The model or its detections will not come; the image still will (a demo project being
        created, a folder being opened), so keep waiting for it."""
        self.fail(message, 1)

    @Slot(str)
    def on_project_failed(self, message: str) -> None:
        self.fail(message, 1, image=True)

    def fail(self, message: str, code: int, *, image: bool = False) -> None:
        """The model's boxes (and with ``image`` the image too) will not appear: stop waiting for them
        and exit with ``code``."""
        log.warning("screenshot: %s", message)
        self.exit_code = max(self.exit_code, code)
        self._wants_model = False
        if image:
            self._wants_image = False
        self._check()

    def missing(self) -> str:
        """What the window does not show yet, in words."""
        doc = self._window.document
        if self._wants_image and doc.record is None:
            return "the first image" + (" with the model's boxes" if self._wants_model else "")
        if self._wants_model and self._window.models.info is None:
            return "a loaded model"
        return "the model's boxes on the first image"

    @Slot()
    def _on_timeout(self) -> None:
        if not self._done:
            print(f"error: screenshot: {self.missing()} did not appear within "
                  f"{self._timer.interval() / 1000:g} s (RETINALAB_SCREENSHOT_TIMEOUT sets the limit); "
                  f"saving the window as it is", file=sys.stderr)
            self.exit_code = 1
            self._finish()

    def _finish(self) -> None:
        self._done = True
        self._timer.stop()
        QTimer.singleShot(150, self._save)  # let the last updates paint

    @Slot()
    def _save(self) -> None:
        QApplication.processEvents()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self._window.grab().save(str(self.path), "PNG"):
            print(f"error: could not write {self.path}", file=sys.stderr)
            self.exit_code = 1
        else:
            print(f"saved {self.path}")
        self._window.close()
        self.finished.emit(self.exit_code)


def open_demo(window: MainWindow, job: ScreenshotJob | None = None, *, load_model: bool = True) -> bool:
    """Open the demo project (created on first use, in a worker) with the shipped demo model (unless
    ``load_model`` is False: ``--weights`` given); see ``app.demo``. False when the model is missing."""
    from app.demo import DemoOpener

    opener = DemoOpener(window, load_model=load_model)
    if job is not None:
        opener.model_failed.connect(job.on_model_failed)
        opener.project_failed.connect(job.on_project_failed)
    opener.start()
    return opener.model.is_file()


def main(args: argparse.Namespace) -> int:
    """Run the GUI until the window closes; returns the process exit status (2: no usable display)."""
    app = QApplication.instance()
    if app is None:
        problem = display_problem()  # Qt would abort the process instead of saying this
        if problem is not None:
            print(f"error: {problem}", file=sys.stderr)
            return 2
        app = QApplication(sys.argv[:1])
    app.setApplicationName("RetinaLab")
    window = MainWindow()
    window.show()
    folder = getattr(args, "folder", None)
    weights = getattr(args, "weights", None)
    screenshot = getattr(args, "screenshot", None)
    job = None
    if screenshot:
        demo = bool(getattr(args, "demo", False)) and not folder
        job = ScreenshotJob(window, Path(screenshot), wants_image=bool(folder) or demo,
                            wants_model=bool(weights) or demo)
        job.finished.connect(app.exit)
    if weights:
        window.models.load_checkpoint(weights)
    if folder:
        if not Path(folder).is_dir():
            window.status.show_message(f"Not a folder: {folder}")
            if job is not None:
                job.fail(f"not a folder: {folder}", 2, image=True)
        else:
            window.projects.open_folder(folder)
    elif getattr(args, "demo", False):
        open_demo(window, job, load_model=not weights)
    code = app.exec()
    window.shutdown()
    return int(job.exit_code if job is not None else code)
