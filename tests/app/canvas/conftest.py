"""Fixtures for canvas tests: a real project store with one 100x80 image, a document and a canvas."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from app.canvas import Canvas
from app.document import Document

from canvas_helpers import H, W, open_image


@pytest.fixture
def project(tmp_path: Path):
    from engine.project import Project

    Image.new("RGB", (W, H), (40, 90, 140)).save(tmp_path / "a.png")
    p = Project.open(tmp_path)
    p.add_class("cat")
    p.add_class("dog")
    yield p
    p.close()


@pytest.fixture
def doc(qtbot, project) -> Document:
    d = Document()
    d.set_project(project)
    open_image(d)
    return d


@pytest.fixture
def canvas(qtbot, doc) -> Canvas:
    c = Canvas(doc)
    qtbot.addWidget(c)
    c.resize(400, 320)
    c.show()
    qtbot.waitExposed(c)
    c.fit()
    c.setFocus()
    return c
