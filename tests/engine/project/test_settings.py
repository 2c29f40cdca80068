"""Per-project view settings: stored in the project, back after reopening, refused when read-only."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import ProjectError
from engine.project import Project


def test_a_setting_survives_reopening_and_can_be_removed(image_folder: Path) -> None:
    with Project.open(image_folder) as project:
        assert project.setting("view.sort") is None and project.setting("view.sort", "name") == "name"
        project.set_setting("view.sort", "uncertainty")
        project.set_setting("view.sort", "uncertainty")  # same value again: no error
    with Project.open(image_folder) as project:
        assert project.setting("view.sort") == "uncertainty"
        assert project.setting("created") is None  # the store's own meta keys are not settings
        project.set_setting("view.sort", None)
        assert project.setting("view.sort") is None


def test_bad_settings_and_read_only_projects_are_refused(image_folder: Path) -> None:
    with Project.open(image_folder) as project:
        project.set_setting("view.sort", "name")
        with pytest.raises(ProjectError):
            project.set_setting("", "x")
        with pytest.raises(ProjectError):
            project.set_setting("view.sort", 3)  # type: ignore[arg-type]
    with Project.open(image_folder, read_only=True) as project:
        assert project.setting("view.sort") == "name"
        with pytest.raises(ProjectError):
            project.set_setting("view.sort", "uncertainty")
