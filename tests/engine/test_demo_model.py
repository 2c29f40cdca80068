"""The shipped demo model and the demo project: loads safely, detects on images it never saw, stays small.

The AP50 check uses freshly generated images with a seed that neither training (seed 1), the model
card's evaluation (seed 3) nor the demo project (seed 2025) uses, and compares with the card's figure.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.checkpoint import export_half_precision
from engine.demo import DEMO_NUM_IMAGES, DEMO_SEED, demo_model_path, demo_project_dir, ensure_demo_project
from engine.resources import resource_path
from engine.types import Box

CARD = resource_path("models", "MODEL_CARD.md")
TEST_SEED = 7
TEST_IMAGES = 32
AP50_MARGIN = 0.1  # 32 images: AP50 varies by several points between seeds


def _card_figure(name: str) -> float:
    """A number from the card's results table row ``| <name> | <value> |``."""
    match = re.search(rf"^\|\s*{name}\s*\|\s*([0-9.]+)\s*\|", CARD.read_text(), re.MULTILINE)
    assert match, f"{CARD} has no '| {name} | ... |' row"
    return float(match.group(1))


def test_shipped_model_is_small_and_loads_safely_as_float32() -> None:
    import torch

    from engine.checkpoint import load_checkpoint
    from engine.infer import Detector

    path = demo_model_path()
    assert path.is_file() and path.stat().st_size <= 20 * 1024 * 1024
    raw = torch.load(path, map_location="cpu", weights_only=True)
    assert raw["arch"] == "retinanet_mobilenet_v3_fpn"
    ckpt = load_checkpoint(path)
    assert ckpt.class_names == ("circle", "square", "triangle", "star")
    assert ckpt.metrics["half_precision_max_box_diff_px"] <= 1e-2  # measured by export_half_precision
    detector = Detector.from_checkpoint(path, device="cpu", backend="torch")
    params = list(detector.model.parameters())
    assert params and all(p.dtype == torch.float32 for p in params)


@pytest.mark.slow
def test_shipped_model_ap50_on_unseen_synthetic_images(tmp_path: Path) -> None:
    from engine.evaluate import evaluate
    from engine.infer import Detector
    from engine.io import read_dataset
    from engine.synth import make_demo_dataset

    make_demo_dataset(tmp_path, num_images=TEST_IMAGES, seed=TEST_SEED, image_size=256)
    ann = read_dataset(tmp_path / "annotations.json", "coco")
    metrics = evaluate(Detector.from_checkpoint(demo_model_path(), device="cpu"), ann)
    assert metrics["AP50"] >= _card_figure("AP50") - AP50_MARGIN, metrics


@pytest.mark.slow
def test_half_precision_export_reloads_with_the_same_boxes(tmp_path: Path) -> None:
    """Re-exporting the shipped model goes through the whole check (float16 file, float32 reload)."""
    import torch

    from engine.checkpoint import load_checkpoint
    from engine.synth import make_demo_dataset

    make_demo_dataset(tmp_path / "check", num_images=2, seed=TEST_SEED, image_size=256)
    images = sorted((tmp_path / "check" / "images").glob("*.jpg"))
    worst = export_half_precision(demo_model_path(), tmp_path / "half.pt", check_images=images)
    assert worst <= 1e-2
    ckpt = load_checkpoint(tmp_path / "half.pt")
    kept = tuple(ckpt.metrics["half_precision_float32_prefixes"])
    weights = {k: v for k, v in ckpt.state_dict.items() if v.is_floating_point() and v.dim() > 1}
    assert all(v.dtype == torch.float16 for k, v in weights.items() if not k.startswith(kept))
    assert all(v.dtype == torch.float32 for k, v in ckpt.state_dict.items() if v.is_floating_point() and v.dim() == 1)


def test_demo_project_is_created_once_in_the_xdg_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.project import Project

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    folder = demo_project_dir()
    assert folder == tmp_path / "xdg" / "retinalab" / "demo"
    assert ensure_demo_project(num_images=3) == folder
    with Project.open(folder) as project:
        assert len(project.images()) == 3
        assert project.class_names() == ["circle", "square", "triangle", "star"]
        project.add_box(project.images()[0], Box(10, 10, 40, 40, "circle", None, "manual"))
    # a second start keeps the user's work: nothing regenerated, the box is still there
    assert ensure_demo_project(num_images=3) == folder
    with Project.open(folder) as project:
        assert len(project.boxes(project.images()[0])) == 1
    assert [p.name for p in folder.parent.iterdir()] == ["demo"]  # no staging folder left behind


def test_demo_images_are_not_the_training_images(tmp_path: Path) -> None:
    from engine.synth import make_demo_dataset

    make_demo_dataset(tmp_path / "train", num_images=2, seed=1, image_size=64)
    ensure_demo_project(tmp_path / "demo", num_images=2, image_size=64)
    assert DEMO_SEED not in (1, TEST_SEED) and DEMO_NUM_IMAGES == 20
    for name in ("000000.jpg", "000001.jpg"):
        assert (tmp_path / "train" / "images" / name).read_bytes() != (tmp_path / "demo" / "images" / name).read_bytes()


def test_a_failed_creation_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.synth

    def broken(*args: object, **kwargs: object) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(engine.synth, "make_demo_dataset", broken)
    with pytest.raises(OSError, match="No space"):
        ensure_demo_project(tmp_path / "demo", num_images=2)
    assert list(tmp_path.iterdir()) == []
