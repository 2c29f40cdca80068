"""The out-of-the-box demo: where its project lives, how it is created, and which model it ships with.

``retinalab gui --demo`` (and ``make run``) opens a project of synthetic shapes in the user's data
directory (``$XDG_DATA_HOME/retinalab/demo``, else ``~/.local/share/retinalab/demo``) with the
compact RetinaNet trained on ``retinalab demo-data`` and committed under ``resources/models/``.
The project is generated once, with a seed the model never saw in training (``DEMO_SEED``), into a
temporary sibling folder that is renamed into place only when complete, so an interrupted first
start never leaves a half-made demo behind. Its ground truth is kept next to the images as
``annotations.json`` (COCO) for ``retinalab eval``; the project itself starts unlabelled, so what
the user sees are the model's predictions. Qt-free: the app calls ``ensure_demo_project`` from a
worker thread.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from engine.resources import resource_path

log = logging.getLogger(__name__)

DEMO_MODEL_NAME = "retinanet_mobilenet_v3_shapes.pt"
DEMO_SEED = 2025  # not the model's training seed (1) nor the tests' (7); its first image shows all four classes
DEMO_NUM_IMAGES = 20
DEMO_IMAGE_SIZE = 256
# One colour per synthetic class, in engine.synth.CLASS_NAMES order (readable on busy backgrounds).
DEMO_CLASS_COLOURS: dict[str, str] = {
    "circle": "#ff3b30", "square": "#00c7ff", "triangle": "#ffcc00", "star": "#ff2dff",
}


def demo_model_path() -> Path:
    """The shipped demo checkpoint, ``resources/models/retinanet_mobilenet_v3_shapes.pt``."""
    return resource_path("models", DEMO_MODEL_NAME)


def user_data_dir() -> Path:
    """RetinaLab's folder in the user's data directory (XDG base directory rules)."""
    base = os.environ.get("XDG_DATA_HOME", "").strip()
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "share"
    return root / "retinalab"


def demo_project_dir() -> Path:
    """Where the demo project lives (it may not exist yet)."""
    return user_data_dir() / "demo"


def ensure_demo_project(folder: str | os.PathLike[str] | None = None, *, num_images: int = DEMO_NUM_IMAGES,
                        seed: int = DEMO_SEED, image_size: int = DEMO_IMAGE_SIZE) -> Path:
    """Return the demo project folder, creating it first if it does not exist.

    An existing folder is returned untouched (the user's labels in it are kept across runs). A new
    one gets ``num_images`` synthetic images (``images/NNNNNN.jpg``, longer side ``image_size``
    pixels), their ground truth as ``annotations.json`` and a project store with the four demo
    classes, all written to a temporary sibling and renamed into place. Raises ``OSError`` when the
    data directory cannot be written.
    """
    from engine.project import Project
    from engine.synth import CLASS_NAMES, make_demo_dataset

    target = Path(folder) if folder is not None else demo_project_dir()
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        make_demo_dataset(staging, num_images=num_images, seed=seed, image_size=image_size)
        with Project.open(staging) as project:
            for name in CLASS_NAMES:
                project.add_class(name, DEMO_CLASS_COLOURS.get(name))
        try:
            staging.rename(target)
        except OSError:
            if not target.is_dir():  # not another process creating it at the same moment
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    log.info("created the demo project in %s (%d images, seed %d) in %.1f s",
             target, num_images, seed, time.perf_counter() - started)
    return target
