"""Issue 18, defects 1-2: File › Import Labels on a project that already holds the images and a hand-drawn box."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.project import Project
from engine.types import Box
from tests.app.shell.conftest import open_and_wait

RACCOON = Path("/work/shared/datasets/raccoon")
pytestmark = [pytest.mark.gui,
              pytest.mark.skipif(not (RACCOON / "annotations").is_dir(), reason="raccoon dataset not present")]


def test_import_of_a_voc_folder_is_quiet_skips_duplicates_and_leaves_images_to_review(
        qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    folder = tmp_path / "raccoon"
    folder.mkdir()
    names = sorted(p.name for p in (RACCOON / "images").iterdir())[:12]
    for name in names:
        (folder / name).symlink_to(RACCOON / "images" / name)
    window = make_window()
    open_and_wait(qtbot, window, folder)
    first = window.document.record
    from engine.io import read_dataset

    truth = next(img for img in read_dataset(RACCOON / "annotations", "voc").images
                 if Path(img.path).name == Path(first.path).name)
    drawn = truth.boxes[0]
    window.document.add_box(Box(drawn.x1 + 1, drawn.y1, drawn.x2, drawn.y2 - 1, drawn.label))  # by hand, nearly the same

    window.actions.file.import_labels.trigger()
    dialog = window.findChild(type(window.show_import_dialog()), "import_dialog")
    assert dialog.format() == "auto"  # a folder of XMLs is recognised without being told
    dialog.set_source(str(RACCOON / "annotations"))
    with qtbot.waitSignal(window.projects.task_finished, timeout=20_000):
        assert dialog.start()
    assert "not found" not in dialog.result_text  # no warning for every file that was imported
    assert "unreviewed" in dialog.result_text
    qtbot.waitUntil(lambda: len(window.document.boxes()) == len(truth.boxes))  # no duplicate of the drawn box
    window.file_list.set_filter(status="unreviewed")
    assert len(window.file_list.visible_ids()) == len(names)  # imported labels can still be checked
    window.shutdown()
    with Project.open(folder, read_only=True) as p:
        assert not p.images("reviewed")
