"""One-shot background jobs: open a project, export, import labels, export a model to ONNX.

Each is a plain function ``fn(report, should_stop) -> result`` wrapped in a ``FunctionWorker`` by
the ``*_worker`` factories, so the GUI thread never scans a folder, reads an annotation file or
writes a dataset. Results are frozen dataclasses the GUI can show as they are.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.workers.base import FunctionWorker, ProgressFn, StopFn

log = logging.getLogger(__name__)

SORT_SETTING = "view.sort"  # Project.setting key of the file list's order


@dataclass(frozen=True)
class OpenedProject:
    """A project opened by ``open_project_worker``: the store and its images, ready to list."""

    project: Any  # engine.project.Project
    records: tuple[Any, ...]  # ImageRecord, in the store's order
    read_only_reason: str | None
    sort_order: str = "name"  # the file list's order when the project was last used
    session: dict[str, str] = dataclasses.field(default_factory=dict)  # app.session: how it was left
    box_counts: dict[int, int] = dataclasses.field(default_factory=dict)  # boxes per image id, for the list


def open_project(folder: Path) -> OpenedProject:
    from engine.errors import ProjectError
    from engine.project import Project

    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise ProjectError(f"not a folder: {folder}")
    if not (folder / ".retinalab").exists():
        from engine.project.scan import list_relative

        if not list_relative(folder):  # nothing to label: leave the folder as it was, no .retinalab/ in it
            raise ProjectError(f"no images in {folder} (looked for .jpg, .png, .bmp, .tif, .webp in it and "
                               "its subfolders); nothing was written there")
    try:
        project = Project.open(folder)
    except ProjectError:
        if os.access(folder, os.W_OK):
            raise
        project = Project.open(folder, read_only=True)
    reason = project.read_only_reason if getattr(project, "read_only", False) else None
    if getattr(project, "read_only", False) and not reason:
        reason = "the folder is read-only"
    sort_order = project.setting(SORT_SETTING, "name") if hasattr(project, "setting") else "name"
    from app.session import read_session

    session = read_session(project) if hasattr(project, "setting") else {}
    counts = project.box_counts() if hasattr(project, "box_counts") else {}
    return OpenedProject(project, tuple(project.images()), reason, sort_order or "name", session, counts)


def open_project_worker(folder: Path) -> FunctionWorker:
    def job(report: ProgressFn, should_stop: StopFn) -> OpenedProject:
        return open_project(folder)

    return FunctionWorker(job, name=f"open {Path(folder).name}")


def export_worker(project: Any, dst: Path, fmt: str, *, reviewed_only: bool,
                  include_predictions: float | None = None) -> FunctionWorker:
    def job(report: ProgressFn, should_stop: StopFn) -> Any:
        return project.export(Path(dst), fmt, reviewed_only=reviewed_only, include_predictions=include_predictions)

    return FunctionWorker(job, name=f"export {fmt}")


def onnx_export_worker(src: Path, dst: Path) -> FunctionWorker:
    """Export checkpoint ``src`` to the ONNX file ``dst``; returns ``dst``."""
    def job(report: ProgressFn, should_stop: StopFn) -> Path:
        from engine.onnx_export import export_checkpoint  # imports torch: worker thread only

        return export_checkpoint(src, dst)

    return FunctionWorker(job, name="export onnx")


def import_worker(project: Any, src: Path, fmt: str, *, mark_reviewed: bool = False) -> FunctionWorker:
    def job(report: ProgressFn, should_stop: StopFn) -> Any:
        return project.import_labels(Path(src), fmt, mark_reviewed=mark_reviewed)

    return FunctionWorker(job, name=f"import {fmt}")
