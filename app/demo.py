"""``retinalab gui --demo``: open the demo project with the shipped demo model.

``DemoOpener.start()`` asks the model controller for the demo checkpoint (loaded in the model worker)
and, in parallel, gets the demo project folder: opened at once when it exists, otherwise created
first by ``engine.demo.ensure_demo_project`` in a one-shot worker (about a second of image
generation that must not freeze the window). Whichever of model and first image arrives last
triggers the detection on that image (the model controller's auto-detect). Failures go to the
status bar and to ``failed`` (the screenshot job listens).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal, Slot

from app.workers.base import FunctionWorker
from app.workers.model import ModelSpec
from engine.demo import demo_model_path, demo_project_dir, ensure_demo_project

log = logging.getLogger(__name__)

DEMO_MODEL_TITLE = "demo model (synthetic shapes)"


class DemoOpener(QObject):
    """Loads the demo model and opens (creating on first use) the demo project in ``window``."""

    failed = Signal(str)  # either of the two below
    model_failed = Signal(str)  # the demo model is missing; the project still opens
    project_failed = Signal(str)  # the demo project could not be created

    def __init__(self, window: Any, folder: Path | None = None, model: Path | None = None, *,
                 load_model: bool = True) -> None:
        super().__init__(window)
        self.load_model = load_model
        self._window = window
        self.folder = folder if folder is not None else demo_project_dir()
        self.model = model if model is not None else demo_model_path()

    def start(self) -> None:
        window = self._window
        if self.load_model and self.model.is_file():
            window.models.load(ModelSpec("checkpoint", str(self.model), DEMO_MODEL_TITLE))
        elif self.load_model:
            text = f"The demo model is missing ({self.model}); open a model from the Model menu"
            self._report(text)
            self.model_failed.emit(text)
        if self.folder.is_dir():
            window.projects.open_folder(self.folder)
            return
        window.status.show_message(f"Creating the demo project in {self.folder}…")
        folder = self.folder
        create: Callable[..., Path] = lambda _report, _should_stop: ensure_demo_project(folder)  # noqa: E731
        worker = FunctionWorker(create, name="demo project")
        worker.returned.connect(self._on_created)
        worker.errored.connect(self._on_create_errored)
        window.pool.start(worker)

    @Slot(object)
    def _on_created(self, folder: Path) -> None:
        self._window.projects.open_folder(folder)

    @Slot(str)
    def _on_create_errored(self, message: str) -> None:
        text = f"Could not create the demo project in {self.folder}: {message}"
        self._report(text)
        self.project_failed.emit(text)

    def _report(self, text: str) -> None:
        log.warning("%s", text)
        self._window.status.show_message(text)
        self.failed.emit(text)
