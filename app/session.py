"""A project reopens as it was left: its model, its last image and its Train settings.

``ProjectSession`` keeps three ``Project.setting`` keys up to date: the model last made ready (a
checkpoint path; torchvision's COCO models are not reloaded on their own, since that may need a
download), the image on screen when the project was closed, and the Train form's options (saved a
moment after each change). The opening worker reads them with the project (``OpenedProject.session``),
so reopening costs no disk work on the GUI thread; a setting that no longer fits (a deleted
checkpoint, a removed image, an option the form cannot show) is ignored and the default used.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Slot

log = logging.getLogger(__name__)

MODEL_SETTING = "session.model"  # json {"kind", "source", "title"}
IMAGE_SETTING = "session.image"  # relative path of the image last shown
TRAIN_SETTING = "session.train_options"  # json of app.training.options.TrainOptions
SESSION_SETTINGS = (MODEL_SETTING, IMAGE_SETTING, TRAIN_SETTING)


def read_session(project: Any) -> dict[str, str]:
    """The session settings of ``project`` (worker thread: part of opening it)."""
    out = {}
    for key in SESSION_SETTINGS:
        value = project.setting(key)
        if value is not None:
            out[key] = value
    return out


class ProjectSession(QObject):
    """Saves and restores how a project was left (see the module docstring)."""

    def __init__(self, projects: Any, navigator: Any, models: Any, file_list: Any,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._projects, self._navigator, self._models, self._file_list = projects, navigator, models, file_list
        self._form: Any = None
        self._restoring = False
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(400)
        self._save_timer.timeout.connect(self._on_save_timer_timeout)
        self._train_options: str | None = None  # of the open project, as stored
        projects.project_opened.connect(self._on_projects_project_opened)
        projects.project_closing.connect(self._on_projects_project_closing)
        models.model_ready.connect(self._on_models_model_ready)

    def attach_train_form(self, form: Any) -> None:
        """Follow the Train form (installed on first use): restore the project's options, save changes."""
        self._form = form
        form.options_changed.connect(self._on_form_options_changed)
        self._restore_train_options()

    # --- opening: restore -------------------------------------------------------------------
    @Slot(object)
    def _on_projects_project_opened(self, opened: Any) -> None:
        session = getattr(opened, "session", {}) or {}
        self._train_options = session.get(TRAIN_SETTING)
        self._restore_train_options()
        path = session.get(IMAGE_SETTING)
        if path:
            image_id = next((r.id for r in opened.records if r.path == path and not r.missing), None)
            if image_id is not None and self._file_list.is_visible_id(image_id):
                self._navigator.show_image(image_id)  # the controller then skips show_first
        spec = _model_spec(session.get(MODEL_SETTING))
        current = getattr(self._models, "requested_spec", None)
        if spec is not None and (current is None or current.source != spec.source):
            self._models.load(spec)

    def _restore_train_options(self) -> None:
        if self._form is None:
            return
        from app.training.options import TrainOptions

        options = TrainOptions()
        if self._train_options:
            try:
                stored = json.loads(self._train_options)
                names = {f.name for f in dataclasses.fields(TrainOptions)}
                options = options.replace(**{k: v for k, v in stored.items() if k in names})
            except (ValueError, TypeError, AttributeError) as exc:
                log.warning("stored Train settings ignored: %s", exc)
        self._restoring = True
        try:
            self._form.set_options(options)
        except (ValueError, TypeError) as exc:
            log.warning("stored Train settings ignored: %s", exc)
            self._form.set_options(TrainOptions())
        finally:
            self._restoring = False

    # --- while open and on closing: save ----------------------------------------------------
    @Slot()
    def _on_form_options_changed(self) -> None:
        if not self._restoring:
            self._save_timer.start()

    @Slot()
    def _on_save_timer_timeout(self) -> None:
        if self._form is not None:
            self._train_options = json.dumps(dataclasses.asdict(self._form.options()), sort_keys=True)
            self._write(self._projects.project, TRAIN_SETTING, self._train_options)

    @Slot(object)
    def _on_models_model_ready(self, info: Any) -> None:
        spec = getattr(self._models, "requested_spec", None)
        if spec is not None and spec.kind == "checkpoint":
            value = json.dumps({"kind": spec.kind, "source": str(Path(spec.source).absolute()), "title": spec.title})
            self._write(self._projects.project, MODEL_SETTING, value)

    @Slot(object)
    def _on_projects_project_closing(self, project: Any) -> None:
        if self._save_timer.isActive():
            self._save_timer.stop()
            self._on_save_timer_timeout()
        image_id = self._navigator.current_id
        if image_id is not None:
            self._write(project, IMAGE_SETTING, self._file_list.model.path(image_id))

    def _write(self, project: Any, key: str, value: str) -> None:
        if project is None or getattr(project, "read_only", False):
            return
        try:
            project.set_setting(key, value)
        except Exception as exc:  # a convenience: never in the way of closing or working
            log.warning("%s not saved: %s", key, exc)


def _model_spec(text: str | None) -> Any:
    if not text:
        return None
    from app.workers.model import ModelSpec

    try:
        data = json.loads(text)
        spec = ModelSpec(data["kind"], str(data["source"]), str(data.get("title", "")))
    except (ValueError, KeyError, TypeError):
        return None
    return spec if spec.kind == "checkpoint" and Path(spec.source).is_file() else None
