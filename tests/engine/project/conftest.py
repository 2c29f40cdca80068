"""Fixtures for the project store tests: tiny image folders made on the fly."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image


def _make_images(folder: Path, names: list[str], size: tuple[int, int] = (64, 48)) -> list[Path]:
    paths = []
    for i, name in enumerate(names):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", size, (i * 40 % 256, 80, 120)).save(path)
        paths.append(path)
    return paths


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    _make_images(folder, ["a.png", "b.jpg", "sub/c.png"])
    return folder


@pytest.fixture
def make_images():  # type: ignore[no-untyped-def]
    """``make_images(folder, names, size=(64, 48))`` writes small solid-colour images."""
    return _make_images
