"""The project store's everyday contract: images, boxes, classes, status, predictions, reopening."""

from __future__ import annotations

import math
import shutil
import sqlite3
from pathlib import Path

import pytest

from engine.errors import ProjectError
from engine.project import ClassInfo, Project
from engine.types import Box, Detection


def test_open_creates_store_and_lists_images_relative(image_folder: Path) -> None:
    with Project.open(image_folder) as p:
        assert (image_folder / ".retinalab" / "project.db").is_file()
        assert [r.path for r in p.images()] == ["a.png", "b.jpg", "sub/c.png"]
        assert all(r.status == "new" and not r.missing for r in p.images())
        rec = p.images()[2]
        assert p.image_path(rec) == image_folder / "sub" / "c.png"
        assert p.image_size(rec) == (64, 48)
        assert p.image(rec.id).width == 64  # stored once read
    mode = sqlite3.connect(image_folder / ".retinalab" / "project.db").execute("PRAGMA journal_mode").fetchone()
    assert mode[0] == "wal"


def test_boxes_survive_reopen_with_ids_and_fields(image_folder: Path) -> None:
    with Project.open(image_folder) as p:
        img = p.images()[0]
        bid = p.add_box(img, Box(1, 2, 30, 40, "cat"))
        pid = p.add_box(img.id, Box(5, 5, 20, 20, "dog", score=0.75, source="predicted"))
    with Project.open(image_folder) as p:
        assert p.boxes(img) == [Box(1, 2, 30, 40, "cat", None, "manual", bid),
                                Box(5, 5, 20, 20, "dog", 0.75, "predicted", pid)]
        assert p.class_names() == ["cat", "dog"]


def test_update_delete_and_undo_restores_id(image_folder: Path) -> None:
    with Project.open(image_folder) as p:
        img = p.images()[0]
        bid = p.add_box(img, Box(1, 2, 30, 40, "cat"))
        updated = p.update_box(bid, {"x2": 50.0, "label": "dog"})
        assert updated == Box(1, 2, 50, 40, "dog", None, "manual", bid)
        assert p.boxes(img) == [updated]
        p.delete_box(bid)
        assert p.boxes(img) == []
        assert p.add_box(img, updated) == bid  # undo: same id back
        assert p.boxes(img) == [updated]
        other = p.add_box(img, updated)  # id taken now: a fresh one
        assert other != bid and len(p.boxes(img)) == 2
        with pytest.raises(ProjectError, match="no box"):
            p.update_box(99999, {"x1": 0})
        with pytest.raises(ProjectError, match="no box"):
            p.delete_box(99999)


@pytest.mark.parametrize("bad", [Box(math.nan, 0, 10, 10, "cat"), Box(0, 0, math.inf, 10, "cat"),
                                 Box(10, 10, 10.5, 30, "cat"), Box(30, 0, 10, 10, "cat"),
                                 Box(0, 0, 10, 10, ""), Box(0, 0, 10, 10, "cat", source="guess"),  # type: ignore[arg-type]
                                 Box(100, 100, 200, 200, "cat")])  # fully outside the 64x48 image
def test_invalid_boxes_are_refused_and_nothing_stored(image_folder: Path, bad: Box) -> None:
    with Project.open(image_folder) as p:
        img = p.images()[0]
        with pytest.raises(ProjectError):
            p.add_box(img, bad)
        assert p.boxes(img) == []


def test_boxes_are_clipped_to_the_image(image_folder: Path) -> None:
    with Project.open(image_folder) as p:
        img = p.images()[0]
        bid = p.add_box(img, Box(-10, -5, 100, 30, "cat"))
        assert p.box(bid).xyxy == (0.0, 0.0, 64.0, 30.0)
        assert p.update_box(bid, {"y2": 500}).y2 == 48.0


def test_provenance_touched_prediction_becomes_edited(image_folder: Path) -> None:
    with Project.open(image_folder) as p:
        img = p.images()[0]
        pid = p.add_box(img, Box(5, 5, 20, 20, "dog", 0.9, "predicted"))
        assert p.update_box(pid, {"score": 0.5}).source == "predicted"  # score only: untouched
        assert p.update_box(pid, p.box(pid).replace(x1=6)).source == "edited"
        aid = p.add_box(img, Box(30, 5, 50, 20, "dog", 0.8, "predicted"))
        assert p.update_box(aid, {"source": "accepted"}).source == "accepted"
        assert p.update_box(aid, {"label": "cat"}).source == "edited"
        mid = p.add_box(img, Box(1, 1, 9, 9, "cat"))
        assert p.update_box(mid, {"x2": 12}).source == "manual"


def test_set_predictions_replaces_only_untouched(image_folder: Path) -> None:
    with Project.open(image_folder) as p:
        img = p.images()[0]
        manual = p.add_box(img, Box(0, 0, 20, 20, "cat"))
        first = p.set_predictions(img, [Detection(30, 5, 50, 25, "dog", 0.9), Detection(2, 30, 12, 45, "cat", 0.6)])
        assert p.image(img.id).status == "predicted"
        p.update_box(first[0].id, {"source": "accepted"})
        p.reject_box(first[1].id)
        model_id = p.add_model("runs/best.pt", {"AP": 0.5})
        second = p.set_predictions(img, [
            Detection(30, 5, 50, 25, "dog", 0.95),   # duplicates the accepted box: dropped
            Detection(2, 30, 12, 45, "cat", 0.7),    # the rejected one again: dropped
            Detection(0, 0, 20, 21, "cat", 0.8),     # over the manual box: dropped
            Detection(40, 30, 60, 46, "bird", 0.4),  # new
            Detection(1, 1, 1.2, 30, "bird", 0.4),   # degenerate: skipped
        ], model_id=model_id)
        assert [b.label for b in second] == ["bird"]
        assert {b.source for b in p.boxes(img)} == {"manual", "accepted", "predicted"}
        assert len(p.boxes(img)) == 3 and any(b.id == manual for b in p.boxes(img))
        assert [b.id for b in p.rejected_boxes(img)] == [first[1].id]
        third = p.set_predictions(img, [])
        assert third == [] and {b.source for b in p.boxes(img)} == {"manual", "accepted"}
        with pytest.raises(ProjectError, match="delete it instead"):
            p.reject_box(manual)
        p.restore_box(first[1].id)
        assert len(p.boxes(img)) == 3


def test_classes_add_rename_recolour_reorder(image_folder: Path) -> None:
    with Project.open(image_folder) as p:
        assert p.add_class("cat") == ClassInfo("cat", p.classes()[0].colour, 0)
        p.add_class("dog", "#00FF00")
        with pytest.raises(ProjectError, match="already exists"):
            p.add_class(" cat ")
        with pytest.raises(ProjectError, match="#rrggbb"):
            p.set_class_colour("cat", "red")
        img = p.images()[0]
        bid = p.add_box(img, Box(0, 0, 10, 10, "cat"))
        p.rename_class("cat", "kitten")
        assert p.box(bid).label == "kitten"
        with pytest.raises(ProjectError, match="exists"):
            p.rename_class("kitten", "dog")
        p.set_class_colour("kitten", "#123456")
        p.reorder_classes(["dog", "kitten"])
        with pytest.raises(ProjectError):
            p.reorder_classes(["dog"])
    with Project.open(image_folder) as p:
        assert p.classes() == [ClassInfo("dog", "#00ff00", 0), ClassInfo("kitten", "#123456", 1)]
        assert p.class_counts() == {"dog": 0, "kitten": 1}


def test_delete_class_refuses_while_used_unless_told(image_folder: Path) -> None:
    with Project.open(image_folder) as p:
        img = p.images()[0]
        b1 = p.add_box(img, Box(0, 0, 10, 10, "cat"))
        p.add_box(img, Box(10, 10, 20, 20, "dog"))
        with pytest.raises(ProjectError, match="used by 1 box"):
            p.delete_class("cat")
        assert p.class_names() == ["cat", "dog"] and len(p.boxes(img)) == 2
        assert p.delete_class("cat", reassign_to="dog") == 1
        assert p.box(b1).label == "dog" and p.class_names() == ["dog"]
        p.add_class("empty")
        assert p.delete_class("empty") == 0
        assert p.delete_class("dog", delete_boxes=True) == 2
        assert p.boxes(img) == [] and p.class_names() == []


def test_status_and_uncertainty_order(image_folder: Path) -> None:
    with Project.open(image_folder) as p:
        a, b, c = p.images()
        p.set_status(b, "reviewed")
        p.set_uncertainty(c, 0.9)
        p.set_uncertainty(a, 0.1)
        with pytest.raises(ProjectError):
            p.set_status(a, "done")
        with pytest.raises(ProjectError):
            p.set_uncertainty(a, math.nan)
    with Project.open(image_folder) as p:
        assert [r.path for r in p.images(status="reviewed")] == ["b.jpg"]
        assert [r.path for r in p.images(order="uncertainty")] == ["sub/c.png", "a.png", "b.jpg"]


def test_moved_folder_opens_and_rescan_tracks_files(image_folder: Path, tmp_path: Path, make_images) -> None:
    with Project.open(image_folder) as p:
        bid = p.add_box(p.images()[0], Box(0, 0, 10, 10, "cat"))
    moved = tmp_path / "elsewhere" / "photos"
    shutil.move(str(image_folder), moved)
    make_images(moved, ["d.png"])
    (moved / "a.png").rename(tmp_path / "a.png")  # a.png disappears, its box must stay
    with Project.open(moved) as p:
        recs = {r.path: r for r in p.images()}
        assert set(recs) == {"a.png", "b.jpg", "sub/c.png", "d.png"}
        assert recs["a.png"].missing and not recs["d.png"].missing
        assert p.box(bid).label == "cat"
        shutil.move(str(tmp_path / "a.png"), moved / "a.png")
        make_images(moved, ["e.png", "f.png"])
        assert p.rescan() == (2, 0)
        assert not p.find_image("a.png").missing  # type: ignore[union-attr]
        assert [b.id for b in p.boxes(recs["a.png"])] == [bid]


def test_snapshot_reviewed_only_and_models(image_folder: Path) -> None:
    with Project.open(image_folder) as p:
        a, b, c = p.images()
        p.add_box(a, Box(0, 0, 10, 10, "cat"))
        pid = p.add_box(b, Box(5, 5, 30, 30, "dog", 0.9, "predicted"))
        p.add_box(b, Box(1, 1, 4, 4, "cat"))
        p.reject_box(pid)
        p.set_status(b, "reviewed")
        p.set_status(c, "reviewed")
        snap = p.snapshot()
        assert snap.root == image_folder and snap.class_names == ("cat", "dog")
        assert [(i.path, i.width, i.height, len(i.boxes)) for i in snap.images] == [("b.jpg", 64, 48, 1),
                                                                                    ("sub/c.png", 64, 48, 0)]
        assert len(p.snapshot(reviewed_only=False).images) == 3
        mid = p.add_model(image_folder / "runs" / "best.pt", {"AP": 0.42, "bad": math.nan})
        rec = p.models()[0]
        assert rec.id == mid and rec.path == image_folder / "runs" / "best.pt"
        assert rec.metrics == {"AP": 0.42, "bad": None} and rec.created > 0


def test_unknown_image_and_bad_folder_are_clear_errors(image_folder: Path, tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="not found"):
        Project.open(tmp_path / "nope")
    with Project.open(image_folder) as p:
        with pytest.raises(ProjectError, match="no image"):
            p.boxes(12345)
        with pytest.raises(ProjectError, match="no image"):
            p.add_box(12345, Box(0, 0, 10, 10, "cat"))
    with pytest.raises(ProjectError, match="closed"):
        p.images()


def test_transaction_groups_edits_all_or_nothing(image_folder: Path) -> None:
    with Project.open(image_folder) as p:
        img = p.images()[0]
        keep = p.add_box(img, Box(0, 0, 10, 10, "cat"))
        with pytest.raises(ProjectError):
            with p.transaction():
                p.delete_box(keep)
                p.add_box(img, Box(5, 5, 20, 20, "dog"))
                p.add_box(img, Box(math.nan, 0, 1, 1, "dog"))  # refused: the whole group rolls back
        assert [b.id for b in p.boxes(img)] == [keep] and p.class_names() == ["cat"]
        with p.transaction():
            p.delete_box(keep)
            p.add_box(img, Box(5, 5, 20, 20, "dog"))
    with Project.open(image_folder) as p:
        assert [b.label for b in p.boxes(p.images()[0])] == ["dog"]


def test_fill_sizes_reads_headers_once(image_folder: Path, make_images) -> None:  # type: ignore[no-untyped-def]
    make_images(image_folder, ["big.png"], size=(120, 90))
    (image_folder / "broken.png").write_bytes(b"not a png")
    with Project.open(image_folder) as p:
        assert all(r.width is None for r in p.images())
        assert p.fill_sizes(batch=2) == 4  # broken.png stays unknown
        sizes = {r.path: (r.width, r.height) for r in p.images()}
        assert sizes["big.png"] == (120, 90) and sizes["a.png"] == (64, 48)
        assert sizes["broken.png"] == (None, None)
        assert p.fill_sizes() == 0
