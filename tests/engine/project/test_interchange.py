"""Import from and export to COCO, VOC and YOLO: round trips keep every box and class; merges are exact."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.errors import ProjectError
from engine.project import Project
from engine.types import Box

RACCOON = Path("/work/shared/datasets/raccoon")


def _labelled_project(folder: Path) -> dict[str, set[tuple]]:
    """Boxes of several classes on most images; one reviewed image without boxes."""
    with Project.open(folder) as p:
        a, b, c = p.images()
        p.add_class("zebra")  # no boxes; a round trip keeps it only if the format lists classes
        p.add_box(a, Box(1, 2, 30, 40, "cat"))
        p.add_box(a, Box(10.5, 12.25, 60, 47, "dog"))
        p.add_box(b, Box(0, 0, 64, 48, "dog"))
        p.add_box(c, Box(3, 4, 13, 14, "bird with space"))
        for img in (a, b, c):
            p.set_status(img, "reviewed")
        return {img.path: {(bx.label, *bx.xyxy) for bx in p.boxes(img)} for img in p.images()}


def _rounded(boxes: dict[str, set[tuple]]) -> dict[str, set[tuple]]:
    """Coordinates to 1/100 pixel: YOLO stores normalised floats."""
    return {k: {(lbl, *(round(v, 2) for v in xyxy)) for lbl, *xyxy in v} for k, v in boxes.items()}


def _fresh_copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".retinalab"))
    return dst


@pytest.mark.parametrize("fmt", ["coco", "voc", "yolo"])
def test_round_trip_keeps_every_box_and_class(image_folder: Path, tmp_path: Path, fmt: str) -> None:
    want = _labelled_project(image_folder)
    with Project.open(image_folder) as p:
        report = p.export(tmp_path / "out", fmt)
        assert (report.num_images, report.num_boxes) == (3, 4)
    target = _fresh_copy(image_folder, tmp_path / "again")
    with Project.open(target) as q:
        imported = q.import_labels(tmp_path / "out", fmt, mark_reviewed=True)
        assert (imported.images_matched, imported.boxes_added, imported.images_unmatched) == (3, 4, 0)
        got = {img.path: {(bx.label, *bx.xyxy) for bx in q.boxes(img)} for img in q.images()}
        assert _rounded(got) == _rounded(want)
        assert set(q.class_names()) >= {"cat", "dog", "bird with space"}
        assert all(img.status == "reviewed" for img in q.images())
        assert all(b.source == "manual" for img in q.images() for b in q.boxes(img))
        again = q.import_labels(tmp_path / "out", fmt)  # merge again: duplicates skipped
        assert (again.boxes_added, again.boxes_skipped) == (0, 4)
        if fmt in ("coco", "yolo"):  # formats with a class list keep unused classes too
            assert "zebra" in q.class_names()


def test_export_reviewed_only_and_refuses_inside_project(image_folder: Path, tmp_path: Path) -> None:
    with Project.open(image_folder) as p:
        a, b, c = p.images()
        p.add_box(a, Box(1, 2, 30, 40, "cat"))
        p.add_box(b, Box(1, 2, 30, 40, "cat"))
        p.set_status(b, "reviewed")
        report = p.export(tmp_path / "rev", "coco", reviewed_only=True)
        assert (report.num_images, report.num_boxes) == (1, 1)
        with pytest.raises(ProjectError, match="project folder"):
            p.export(image_folder / "export", "coco")
        with pytest.raises(ProjectError, match="format"):
            p.export(tmp_path / "x", "pascal")


def test_import_merges_by_file_name_and_adds_classes(image_folder: Path, tmp_path: Path, make_images) -> None:  # type: ignore[no-untyped-def]
    other = tmp_path / "other"
    make_images(other, ["b.jpg", "zzz.png"])
    with Project.open(other) as src:
        src.add_box(src.find_image("b.jpg"), Box(5, 5, 25, 25, "owl"))  # type: ignore[arg-type]
        src.add_box(src.find_image("zzz.png"), Box(5, 5, 25, 25, "owl"))  # type: ignore[arg-type]
        src.export(tmp_path / "ds", "voc")
    with Project.open(image_folder) as p:
        p.add_box(p.find_image("b.jpg"), Box(1, 1, 9, 9, "cat"))  # type: ignore[arg-type]
        report = p.import_labels(tmp_path / "ds", "voc")
        assert report.images_matched == 1 and report.images_unmatched == 1
        assert report.unmatched_paths == ("zzz.png",) and report.classes_added == ("owl",)
        assert sorted(b.label for b in p.boxes(p.find_image("b.jpg"))) == ["cat", "owl"]  # type: ignore[arg-type]


@pytest.mark.skipif(not (RACCOON / "annotations").is_dir(), reason="raccoon dataset not present")
def test_raccoon_voc_imports_fully(tmp_path: Path) -> None:
    folder = tmp_path / "raccoon"
    folder.mkdir()
    for src in (RACCOON / "images").iterdir():  # links, not copies: the dataset stays outside the repo
        (folder / src.name).symlink_to(src)
    with Project.open(folder) as p:
        assert len(p.images()) == 200
        report = p.import_labels(RACCOON, "voc")
        assert (report.images_matched, report.images_unmatched, report.boxes_added) == (200, 0, 217)
        assert p.class_names() == ["raccoon"]
        assert sum(p.box_counts().values()) == 217
        assert len(p.snapshot(reviewed_only=False).images) == 200  # imported labels stay unreviewed


def test_import_skips_near_duplicates_keeps_images_unreviewed_and_replaces_predictions(
        image_folder: Path, tmp_path: Path) -> None:
    """Issue 18: a hand-drawn box is not doubled by a near-identical imported one; imported labels stay to check."""
    with Project.open(image_folder) as src:
        a, b, _ = src.images()
        src.add_box(a, Box(10, 10, 40, 40, "cat"))
        src.add_box(b, Box(5, 5, 30, 30, "cat"))
        src.export(tmp_path / "ds", "coco")
    target = _fresh_copy(image_folder, tmp_path / "target")
    with Project.open(target) as p:
        a, b, _ = p.images()
        p.add_box(a, Box(11, 10, 40, 41, "cat"))  # drawn by hand, nearly the same box
        p.set_predictions(b, [Box(5, 6, 30, 30, "cat", 0.8)])  # a pending prediction where the label goes
        report = p.import_labels(tmp_path / "ds", "coco")
        assert (report.boxes_added, report.boxes_skipped) == (1, 1)
        assert [bx.xyxy for bx in p.boxes(a)] == [(11, 10, 40, 41)]
        assert [(bx.xyxy, bx.source) for bx in p.boxes(b)] == [((5, 5, 30, 30), "manual")]
        assert {img.status for img in p.images()} == {"new", "predicted"}  # nothing marked reviewed


@pytest.mark.skipif(not (RACCOON / "annotations").is_dir(), reason="raccoon dataset not present")
def test_voc_folder_beside_no_images_imports_without_a_warning_per_file(tmp_path: Path) -> None:
    """Issue 18: XMLs whose images sit in the project (not beside them) matched: no 'not found' warnings."""
    folder = tmp_path / "raccoon"
    folder.mkdir()
    for src in sorted((RACCOON / "images").iterdir())[:20]:
        (folder / src.name).symlink_to(src)
    with Project.open(folder) as p:
        report = p.import_labels(RACCOON / "annotations", "auto")  # format recognised from the XMLs
        assert report.images_matched == 20 and report.boxes_added >= 20
        assert not [w for w in report.warnings if "raccoon-1" in w.split(":")[0] or "kept with its boxes" in w
                    and any(n.name in w for n in folder.iterdir())]
        assert report.warnings == (f"{report.images_unmatched} dataset image(s) are not in the project folder "
                                   "and were skipped",)
