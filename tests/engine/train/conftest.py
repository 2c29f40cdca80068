"""Shared tiny data for the training tests: a few 64 px synthetic images, made once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.synth import make_demo_dataset


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """7 synthetic 64 px images (COCO): 5-6 train, 1-2 validation with the default split."""
    root = tmp_path_factory.mktemp("tiny")
    make_demo_dataset(root, num_images=7, seed=2, image_size=64, max_objects=3)
    return root
