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
from typing import Sequence

from engine.resources import resource_path
from engine.types import Detection

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


# Tried in order: the first step that keeps every box within the limit is stored. Biases, norms and
# other 1-D tensors always stay float32 (a few kB). Measured on the demo model: the first backbone
# stages (0.8 MB) move boxes most in float16 (0.017 px), then box regression (0.004 px); the big late
# backbone stages, the FPN and the classification head barely matter (< 0.003 px together).
_EARLY_BACKBONE = tuple(f"backbone.body.{i}." for i in range(11))
HALF_PRECISION_LADDER: tuple[tuple[str, ...], ...] = (
    (), _EARLY_BACKBONE, (*_EARLY_BACKBONE, "head.regression_head."),
    (*_EARLY_BACKBONE, "head.regression_head.", "backbone.fpn."),
)


def export_half_precision(src: str | os.PathLike[str], dst: str | os.PathLike[str], *,
                          check_images: Sequence[str | os.PathLike[str]], score_thresh: float = 0.3,
                          max_box_diff_px: float = 1e-2) -> float:
    """Store checkpoint ``src`` at ``dst`` with most weights in float16 (about half the size), checked.

    A float16 tensor loads back into the usual float32 model (``load_state_dict`` casts). Both models
    run on ``check_images``; every float32 detection scoring at least ``score_thresh`` must reappear
    (same class) with all four corners within ``max_box_diff_px`` pixels. Multi-dimensional weights go
    to float16 except under the prefixes of the first ``HALF_PRECISION_LADDER`` step that passes;
    if none passes, ``ValueError`` and nothing is written. Optimizer and scheduler state are dropped;
    metrics and the training config are kept, plus ``half_precision_max_box_diff_px`` and
    ``half_precision_float32_prefixes`` in the metrics. Returns the largest corner difference (px).
    """
    from engine.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
    from engine.infer import Detector

    ckpt = load_checkpoint(src)
    model = model_from_checkpoint(ckpt)
    images = list(check_images)

    def predict() -> list:
        detector = Detector.from_model(model, ckpt.class_names, image_size=ckpt.image_size, arch=ckpt.arch,
                                       device="cpu")
        return detector.predict(images, score_thresh=0.01)

    reference = predict()
    worst = float("inf")
    for keep in HALF_PRECISION_LADDER:
        state = {k: v.half() if v.is_floating_point() and v.dim() > 1 and not k.startswith(keep)
                 else v for k, v in ckpt.state_dict.items()}
        model.load_state_dict(state)  # float16 values in float32 parameters, as loading the file will give
        worst = _largest_box_change(reference, predict(), score_thresh)
        log.info("float32 kept for %s: boxes move by up to %.5f px", list(keep) or "1-D tensors only", worst)
        if worst <= max_box_diff_px:
            break
    else:
        raise ValueError(f"float16 weights move boxes by up to {worst:.4f} px (limit {max_box_diff_px} px)")
    metrics = {**ckpt.metrics, "half_precision_max_box_diff_px": worst,
               "half_precision_float32_prefixes": list(keep)}
    save_checkpoint(dst, model=model, arch=ckpt.arch, class_names=ckpt.class_names, image_size=ckpt.image_size,
                    alpha=ckpt.alpha, gamma=ckpt.gamma, train_config=ckpt.train_config, metrics=metrics,
                    state_dict=state)  # the mixed precision checked above, not the float32 parameters
    reloaded = Detector.from_checkpoint(dst, device="cpu").predict(images, score_thresh=0.01)
    if _largest_box_change(reference, reloaded, score_thresh) > max_box_diff_px:  # the file itself, to be sure
        Path(dst).unlink(missing_ok=True)
        raise ValueError(f"{dst} does not reproduce the boxes checked before writing it")
    log.info("wrote %s (%.1f MB); boxes within %.5f px of float32", dst, Path(dst).stat().st_size / 1e6, worst)
    return worst


def _largest_box_change(reference: Sequence[Sequence[Detection]], after: Sequence[Sequence[Detection]],
                        score_thresh: float) -> float:
    """Largest corner move (px) from each confident reference detection to its closest same-class match."""
    worst = 0.0
    for ref_per_image, new_per_image in zip(reference, after):
        for ref in ref_per_image:
            if ref.score < score_thresh:
                continue
            diffs = [max(abs(ref.x1 - d.x1), abs(ref.y1 - d.y1), abs(ref.x2 - d.x2), abs(ref.y2 - d.y2))
                     for d in new_per_image if d.label == ref.label]
            worst = max(worst, min(diffs, default=float("inf")))
    return worst
