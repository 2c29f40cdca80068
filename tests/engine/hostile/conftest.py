"""Shared pieces for the hostile-input tests: a tiny model, tiny data, a CLI runner and a watchdog.

Every test here feeds RetinaLab something a careless or hostile user could give it and checks that
it answers with one clear line (or a clean skip), never a traceback, a hang or runaway memory.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engine.checkpoint import save_checkpoint
from engine.cli import main
from engine.models import build_model
from engine.synth import make_demo_dataset

ARCH = "retinanet_mobilenet_v3_fpn"
CLASSES = ("circle", "square")
TINY_TRAIN = ["--epochs", "1", "--batch-size", "2", "--image-size", "64", "--threads", "1", "--warmup-steps", "1"]


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture()
def cli(capsys: pytest.CaptureFixture[str]):
    """Run ``retinalab ARGS`` in this process; an escaping exception fails the test (a traceback)."""

    def run(*args: str | Path) -> CliResult:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture()
def watchdog() -> Iterator[None]:
    """Fail (instead of hanging for ever) when the test body takes more than 60 s."""

    def on_alarm(signum, frame):  # noqa: ANN001
        raise TimeoutError("hung for 60 s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(60)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def save_image(path: Path, height: int, width: int, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture(scope="session")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-class MobileNet RetinaNet checkpoint at image size 64."""
    torch.manual_seed(0)
    model = build_model(ARCH, len(CLASSES), image_size=64)
    path = tmp_path_factory.mktemp("w") / "model.pt"
    save_checkpoint(path, model=model, arch=ARCH, class_names=CLASSES, image_size=64, alpha=0.25, gamma=2.0)
    return path


@pytest.fixture(scope="session")
def tiny_coco(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 synthetic 64 px images with boxes (COCO)."""
    root = tmp_path_factory.mktemp("tiny")
    make_demo_dataset(root, num_images=6, seed=3, image_size=64, max_objects=2)
    return root


def coco_with(root: Path, *, images: list[dict], annotations: list[dict], categories: list[dict]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "annotations.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return path


@pytest.fixture()
def make():
    """The file makers above as a fixture (test folders are not packages: no cross-imports)."""

    class Make:
        image = staticmethod(save_image)
        coco = staticmethod(coco_with)

    return Make
