"""File › Open Recent: the last folders opened, kept in the user's settings (not in any project).

The list lives in ``recent.json`` under the app's config folder (``RETINALAB_CONFIG_DIR`` when set,
which the tests use; otherwise Qt's per-user config location). A folder that no longer exists is
left out of the menu.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QStandardPaths, Slot
from PySide6.QtWidgets import QMenu

log = logging.getLogger(__name__)

MAX_RECENT = 8
CONFIG_ENV = "RETINALAB_CONFIG_DIR"


def config_dir() -> Path:
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericConfigLocation)
    return Path(location or Path.home() / ".config") / "retinalab"


class RecentFolders(QObject):
    def __init__(self, window: Any, file_menu: QMenu, before: Any) -> None:
        super().__init__(window)
        self._window = window
        self.menu = QMenu("Open &Recent", file_menu)
        self.menu.setObjectName("recent_menu")
        file_menu.insertMenu(before, self.menu)
        self.menu.aboutToShow.connect(self._on_menu_about_to_show)
        window.projects.project_opened.connect(self._on_projects_project_opened)

    def folders(self) -> list[str]:
        try:
            data = json.loads((config_dir() / "recent.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        return [str(f) for f in data if isinstance(f, str)][:MAX_RECENT] if isinstance(data, list) else []

    def add(self, folder: str | Path) -> None:
        folder = str(Path(folder))
        folders = [folder] + [f for f in self.folders() if f != folder]
        path = config_dir() / "recent.json"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(folders[:MAX_RECENT], indent=1), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:  # a convenience: never in the way
            log.warning("recent folders not saved: %s", exc)

    @Slot(object)
    def _on_projects_project_opened(self, opened: Any) -> None:
        self.add(opened.project.folder)

    @Slot()
    def _on_menu_about_to_show(self) -> None:
        self.menu.clear()
        folders = [f for f in self.folders() if Path(f).is_dir()]
        for n, folder in enumerate(folders, 1):
            action = self.menu.addAction(f"&{n} {folder}" if n < 10 else folder)
            action.setData(folder)
            action.triggered.connect(self._on_action_triggered)
        if not folders:
            self.menu.addAction("(none yet)").setEnabled(False)

    @Slot()
    def _on_action_triggered(self) -> None:
        action = self.sender()
        if action is not None:
            self._window.projects.open_folder(action.data())
