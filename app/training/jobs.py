"""A training run built from the Train panel's choices: what it trains on, its folder, its job.

Runs on the GUI thread when Start is pressed (one SQLite read, no torch). ``split`` takes the project's
training data for the chosen scope, splits off the validation images (a fraction, or the images marked
for it) and checks the result; ``new_run_dir`` names a fresh folder under ``.retinalab/runs``;
``new_job`` and ``resume_job`` build the :class:`TrainJob` the worker runs.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from app.training.options import TrainOptions
from app.training.train_worker import TrainJob
from engine.start import StartChoice
from engine.train.data_check import DataCheck, check_training_data, split_train_val
from engine.types import Annotations

RUNS_DIR = Path(".retinalab") / "runs"


def split(project: Any, options: TrainOptions) -> tuple[Annotations, Annotations, DataCheck]:
    """``(train, val, check)`` for ``options``: the one labelling rule is ``engine.project.labels``."""
    ann = project.training_data(options.scope)
    val_paths = project.validation_marks() if options.val_mode == "marked" else None
    train, val = split_train_val(ann, val_fraction=options.val_fraction, seed=options.seed,
                                 val_paths=val_paths)
    return train, val, check_training_data(train, val)


def new_run_dir(project_folder: Path) -> Path:
    """``<project>/.retinalab/runs/<date-time>``, with ``_1``, ``_2``… when that one exists (not created)."""
    out = Path(project_folder) / RUNS_DIR / time.strftime("%Y%m%d-%H%M%S")
    suffix = 1
    while out.exists():
        out = out.with_name(f"{out.name.split('_')[0]}_{suffix}")
        suffix += 1
    return out


def new_job(options: TrainOptions, train: Annotations, val: Annotations, out: Path, *,
            current_model: str | None, current_coco_arch: str | None,
            best_start: StartChoice | None = None) -> TrainJob:
    """The job for a new run into ``out``, starting from the model on screen when ``options`` say so
    (checkpoint ``current_model``, or torchvision's COCO ``current_coco_arch``), or from ``best_start``
    for "Best available" (``app.training.start_choice``). Raises ``ValueError`` with the reason when
    these options cannot start. Only a start from the current model is measured "before"."""
    config = options.to_config(
        data=str(out / "data" / "train.json"),
        val=str(out / "data" / "val.json"),
        out=str(out),
        init_checkpoint=current_model,
        current_arch=current_coco_arch,
        best_start=best_start,
    )
    from_current = options.start_from == "current" or (
        options.start_from == "auto" and best_start is not None and best_start.kind == "current")
    return TrainJob(config, train, val, evaluate_start=from_current,
                    coco_arch=current_coco_arch if from_current else None)


def resume_job(job: TrainJob) -> TrainJob:
    """``job`` continued from its run folder's ``last.pt`` (the starting model was measured already)."""
    return dataclasses.replace(job, config=dataclasses.replace(job.config, resume=True), evaluate_start=False)
