"""Export / import, label, class list and download dialogs, driven through their public methods."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.types import Box
from tests.app.shell.conftest import open_and_wait, write_images

pytestmark = pytest.mark.gui


def test_export_then_import_round_trip_through_the_dialogs(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    folder = tmp_path / "a"
    write_images(folder, 3)
    window = make_window()
    open_and_wait(qtbot, window, folder)
    window.document.add_box(Box(5, 6, 50, 40, "cat"))
    window.navigator.mark_reviewed_and_next()
    qtbot.waitUntil(lambda: window.document.record.path == "img_01.jpg")
    window.document.add_box(Box(1, 1, 30, 30, "dog"))  # not reviewed: left out below

    dialog = window.show_export_dialog()
    dialog.set_format("coco")
    dialog.set_destination(str(tmp_path / "out"))
    dialog.set_reviewed_only(True)
    with qtbot.waitSignal(window.projects.task_finished, timeout=10_000):
        assert dialog.start()
    assert dialog.result_text.startswith("Exported 1 image and 1 label")
    json_files = list((tmp_path / "out").rglob("*.json"))
    assert len(json_files) == 1
    coco = json.loads(json_files[0].read_text())
    assert [c["name"] for c in coco["categories"]] == ["cat", "dog"]  # every class of the project
    assert len(coco["annotations"]) == 1

    # a second project imports those labels
    other = tmp_path / "b"
    write_images(other, 3)
    window2 = make_window()
    open_and_wait(qtbot, window2, other)
    importer = window2.show_import_dialog()
    importer.set_format("coco")
    importer.set_source(str(json_files[0]))
    with qtbot.waitSignal(window2.projects.task_finished, timeout=10_000):
        assert importer.start()
    assert "Imported 1 box on 1 image" in importer.result_text
    qtbot.waitUntil(lambda: window2.document.record is not None and len(window2.document.boxes()) == 1)
    assert window2.document.boxes()[0].label == "cat"
    assert "cat" in window2.class_list.names()


def test_export_without_destination_and_import_of_garbage_report_clearly(qtbot: Any, make_window: Any,
                                                                         image_folder: Path, tmp_path: Path) -> None:
    window = make_window()
    open_and_wait(qtbot, window, image_folder)
    dialog = window.show_export_dialog()
    assert not dialog.start()
    assert dialog.result_text == "Choose a path first."
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    importer = window.show_import_dialog()
    importer.set_format("coco")
    importer.set_source(str(bad))
    with qtbot.waitSignal(window.projects.task_failed, timeout=10_000):
        importer.start()
    assert importer.result_text.startswith("Failed: ")
    assert "\n" not in importer.result_text
    assert window.isVisible()


def test_label_dialog_filters_and_picks(qtbot: Any) -> None:
    from app.widgets.label_dialog import LabelDialog

    dialog = LabelDialog(["cat", "dog", "raccoon", "car"], current="dog")
    qtbot.addWidget(dialog)
    assert dialog.chosen_label() == "dog"
    dialog.set_search("ca")
    assert dialog.visible_labels() == ["cat", "car"]
    assert dialog.chosen_label() == "cat"
    dialog.set_search("zebra")
    assert dialog.visible_labels() == []
    assert dialog.chosen_label() == "zebra"  # a new class


def test_class_list_add_rename_recolour_reorder(qtbot: Any, make_window: Any, image_folder: Path) -> None:
    window = make_window()
    open_and_wait(qtbot, window, image_folder)
    classes = window.class_list
    classes.add_class("cat")
    classes.add_class("dog")
    assert classes.names() == ["cat", "dog"]
    classes.select_name("cat")
    classes.rename_selected("kitten")
    classes.recolour_selected("#112233")
    classes.move_selected(+1)
    assert classes.names() == ["dog", "kitten"]
    project = window.projects.project
    assert [(c.name, c.colour) for c in project.classes()] == [("dog", project.classes()[0].colour),
                                                               ("kitten", "#112233")]


def test_box_list_shows_boxes_and_click_selects(qtbot: Any, make_window: Any, image_folder: Path) -> None:
    window = make_window()
    open_and_wait(qtbot, window, image_folder)
    first = window.document.add_box(Box(5, 5, 40, 40, "cat"))
    second = window.document.add_box(Box(50, 10, 90, 60, "dog"))
    assert sorted(window.box_list.box_ids()) == sorted([first, second])
    row = window.box_list.box_ids().index(second)
    window.box_list.select_rows([row])
    assert window.document.selected_ids() == [second]


@pytest.mark.slow  # engine.weights imports torch(vision) to find the URL and cache folder
def test_download_dialog_offline_shows_a_clear_message(qtbot: Any, make_window: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("RETINALAB_OFFLINE", "1")
    window = make_window()
    dialog = window.show_download_dialog("retinanet_resnet50_fpn", "COCO RetinaNet R50-FPN v1")
    if dialog.isVisible() and dialog.error is None:
        with qtbot.waitSignal(dialog.failed, timeout=60_000):
            pass
    text = dialog.status_label.text()
    if dialog.error is None:  # the weights happen to be cached on this machine: they load instead
        pytest.skip("COCO weights are cached here")
    assert text.startswith("Cannot get the weights: ")
    assert "not cached" in text and ".pth" in text + dialog.detail_label.text()
    qtbot.waitUntil(lambda: dialog.button.text() == "Close", timeout=5_000)  # set on the worker's `finished`


def test_export_writes_labels_and_predictions_only_when_asked(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    from engine.types import Detection

    folder = tmp_path / "p"
    write_images(folder, 2)
    window = make_window()
    open_and_wait(qtbot, window, folder)
    window.document.add_box(Box(5, 6, 50, 40, "cat"))
    window.document.set_predictions([Detection(10, 10, 30, 30, "cat", 0.8), Detection(0, 0, 20, 20, "cat", 0.1)])

    def export(dst: Path, fmt: str, with_predictions: bool) -> tuple[list[dict], str]:
        dialog = window.show_export_dialog()
        dialog.set_format(fmt)
        dialog.set_destination(str(dst))
        dialog.set_with_predictions(with_predictions)
        with qtbot.waitSignal(window.projects.task_finished, timeout=10_000):
            assert dialog.start()
        return json.loads(next(dst.rglob("*.json")).read_text())["annotations"], dialog.result_text

    labels, _ = export(tmp_path / "labels", "coco", False)
    assert [(a["bbox"], "score" in a) for a in labels] == [([5.0, 6.0, 45.0, 34.0], False)]
    both, said = export(tmp_path / "both", "coco", True)  # the slider's default 0.3: the 0.1 one stays out
    assert sorted((a["bbox"], a.get("score")) for a in both) == [([5.0, 6.0, 45.0, 34.0], None),
                                                                ([10.0, 10.0, 20.0, 20.0], 0.8)]
    assert "1 label and 1 prediction with scores" in said
