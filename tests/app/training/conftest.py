"""A tiny labelled project for the Train panel tests: synthetic shapes, every image reviewed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.types import Box


def make_project(folder: Path, *, num_images: int = 8, image_size: int = 96, reviewed: int | None = None):
    """A project of ``num_images`` synthetic images with their true boxes; the first ``reviewed``
    (default all) are marked reviewed. Returns the open Project (close it yourself)."""
    from engine.project import Project
    from engine.synth import make_demo_dataset

    data = folder.parent / f"{folder.name}_synth"
    coco = json.loads(make_demo_dataset(data, num_images=num_images, seed=1, image_size=image_size).read_text())
    folder.mkdir(parents=True, exist_ok=True)
    for img in coco["images"]:
        shutil.copy(data / img["file_name"], folder / Path(img["file_name"]).name)
    names = {c["id"]: c["name"] for c in coco["categories"]}
    project = Project.open(folder)
    project.rescan()
    for name in names.values():
        if name not in project.class_names():
            project.add_class(name)
    by_path = {rec.path: rec for rec in project.images()}
    for index, img in enumerate(coco["images"]):
        rec = by_path[Path(img["file_name"]).name]
        for ann in coco["annotations"]:
            if ann["image_id"] == img["id"]:
                x, y, w, h = ann["bbox"]
                project.add_box(rec, Box(x, y, x + w, y + h, names[ann["category_id"]]))
        if reviewed is None or index < reviewed:
            project.set_status(rec, "reviewed")
    return project


@pytest.fixture
def tiny_project(tmp_path: Path):
    project = make_project(tmp_path / "project")
    yield project
    project.close()


@pytest.fixture
def project_factory(tmp_path: Path):
    """``project_factory(name, **kwargs)``: more projects like ``tiny_project`` (closed afterwards)."""
    opened = []

    def factory(name: str, **kwargs):
        project = make_project(tmp_path / name, **kwargs)
        opened.append(project)
        return project

    yield factory
    for project in opened:
        project.close()
