"""Issue 18, missing basic: the box count per image in the image list, kept up to date while labelling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from engine.project import Project
from engine.types import Box, Detection
from tests.app.shell.conftest import open_and_wait, write_images

pytestmark = pytest.mark.gui


def _row_text(window: Any, path: str) -> str:
    model = window.file_list.model
    image_id = next(i for i in model.ids() if model.path(i) == path)
    return model.data(model.index_of(image_id), Qt.ItemDataRole.DisplayRole)


def test_the_image_list_shows_how_many_boxes_each_image_has(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    write_images(folder, 3)
    with Project.open(folder) as p:
        second = p.find_image("img_01.jpg")
        p.add_box(second, Box(1, 1, 20, 20, "cat"))
        p.add_box(second, Box(30, 30, 50, 50, "cat"))
    window = make_window()
    open_and_wait(qtbot, window, folder)
    assert _row_text(window, "img_01.jpg") == "img_01.jpg  (2)"
    assert _row_text(window, "img_00.jpg") == "img_00.jpg"
    window.document.add_box(Box(5, 5, 40, 40, "cat"))
    assert _row_text(window, "img_00.jpg") == "img_00.jpg  (1)"
    window.document.undo_stack.undo()
    assert _row_text(window, "img_00.jpg") == "img_00.jpg"
    # predictions are not labels: Detect All's boxes (shown or hidden by the slider) are not counted
    window.document.set_predictions([Detection(50, 50, 70, 70, "cat", 0.9), Detection(2, 2, 9, 9, "cat", 0.06)])
    assert len(window.document.boxes()) == 2
    assert _row_text(window, "img_00.jpg") == "img_00.jpg"
    window.file_list.set_filter("img_01")  # the filter still matches names, not counts
    assert len(window.file_list.visible_ids()) == 1
