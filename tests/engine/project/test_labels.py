"""One rule for labels: confirmed boxes only, in snapshots, training data, review, export and the CLI."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from engine.errors import ProjectError
from engine.project import Project
from engine.types import Box, Detection

VISIBLE = Detection(2, 2, 30, 30, "cat", 0.8)
HIDDEN = Detection(34, 10, 60, 40, "cat", 0.1)


def _predicted_image(p: Project):
    """Image a.png holds one hand-drawn box, one prediction above 0.3 and one below it."""
    a = p.images()[0]
    p.add_box(a, Box(40, 30, 60, 46, "dog"))
    p.set_predictions(a, [VISIBLE, HIDDEN])
    return a


def test_reviewing_trains_on_exactly_the_shown_prediction(image_folder: Path) -> None:
    with Project.open(image_folder) as p:
        a = _predicted_image(p)
        change = p.mark_reviewed(a, score_thresh=0.3)
        assert p.image(a.id).status == "reviewed"
        (trained,) = [img for img in p.training_data("reviewed").images if img.path == a.path]
        assert sorted((b.label, b.xyxy, b.source) for b in trained.boxes) == [
            ("cat", (2.0, 2.0, 30.0, 30.0), "accepted"), ("dog", (40.0, 30.0, 60.0, 46.0), "manual")]
        assert [b.xyxy for b in p.boxes(a)] == [(40.0, 30.0, 60.0, 46.0), (2.0, 2.0, 30.0, 30.0)]
        assert p.rejected_boxes(a) == []  # hidden ones are gone, not turned into the user's rejections
        assert len(change.accepted_ids) == 1 and len(change.removed) == 1


def test_undo_review_restores_the_image_exactly(image_folder: Path) -> None:
    with Project.open(image_folder) as p:
        a = _predicted_image(p)
        before = p.boxes(a)
        change = p.mark_reviewed(a, score_thresh=0.3)
        p.undo_review(change)
        assert p.boxes(a) == before  # same ids, geometry, scores, sources
        assert p.image(a.id).status == "predicted"
        again = p.mark_reviewed(a, score_thresh=0.3)  # redo: the same step again
        assert again.accepted_ids == change.accepted_ids
        assert [r.box for r in again.removed] == [r.box for r in change.removed]


def test_pending_predictions_are_never_labels(image_folder: Path, tmp_path: Path) -> None:
    with Project.open(image_folder) as p:
        a = _predicted_image(p)
        p.set_status(a, "reviewed")  # reviewed the old way: predictions still pending
        snap = p.snapshot()
        assert [[b.source for b in img.boxes] for img in snap.images] == [["manual"]]
        data = p.training_data("reviewed")
        assert data.images == ()  # neither labels nor vouched background under the predictions
        assert any("pending predictions" in w for w in data.warnings)
        assert p.boxes(a)[1].source == "predicted"  # opening or reading changes nothing shown


def test_export_writes_exactly_the_confirmed_boxes(image_folder: Path, tmp_path: Path) -> None:
    with Project.open(image_folder) as p:
        a = _predicted_image(p)
        b = p.images()[1]
        (acc,) = p.set_predictions(b, [Detection(1, 1, 20, 20, "cat", 0.9)])
        p.update_box(acc.id, {"source": "accepted"})
        report = p.export(tmp_path / "labels", "coco")
        coco = json.loads(next((tmp_path / "labels").rglob("*.json")).read_text())
        got = sorted(ann["bbox"] for ann in coco["annotations"])
        assert got == [[1.0, 1.0, 19.0, 19.0], [40.0, 30.0, 20.0, 16.0]]
        assert not any("score" in ann for ann in coco["annotations"])  # labels, not detections
        assert report.num_boxes == 2 and report.num_predictions == 0
        assert any("pending predictions" in w for w in report.warnings)

        asked = p.export(tmp_path / "with_preds", "coco", include_predictions=0.3)
        coco = json.loads(next((tmp_path / "with_preds").rglob("*.json")).read_text())
        scored = [ann for ann in coco["annotations"] if "score" in ann]
        assert [(ann["bbox"], ann["score"]) for ann in scored] == [([2.0, 2.0, 28.0, 28.0], 0.8)]
        assert (asked.num_boxes, asked.num_predictions) == (2, 1)
        with pytest.raises(ProjectError, match="score"):
            p.export(tmp_path / "voc", "voc", include_predictions=0.3)
        assert p.boxes(a)  # export changes nothing


def test_confirmed_scope_needs_labels_and_nothing_pending(image_folder: Path) -> None:
    with Project.open(image_folder) as p:
        a, b, c = p.images()
        p.add_box(a, Box(1, 1, 20, 20, "cat"))  # unreviewed, labelled: confirmed scope only
        p.set_predictions(b, [VISIBLE])  # unreviewed, only a prediction: never
        p.set_status(c, "reviewed")  # reviewed, empty: a true negative
        assert [i.path for i in p.training_data("reviewed").images] == ["sub/c.png"]
        assert [i.path for i in p.training_data("confirmed").images] == ["a.png", "sub/c.png"]
        with pytest.raises(ProjectError, match="scope"):
            p.training_data("everything")  # type: ignore[arg-type]


def test_validation_marks_live_in_the_store_and_the_old_sidecar_is_imported(image_folder: Path) -> None:
    with Project.open(image_folder) as p:
        pass
    db = image_folder / ".retinalab" / "project.db"
    sidecar = image_folder / ".retinalab" / "validation.json"
    sidecar.write_text(json.dumps({"images": ["b.jpg", "gone.png"]}))
    with Project.open(image_folder) as p:
        assert p.validation_marks() == {"b.jpg"}
        p.set_validation(p.find_image("a.png"), True)
    assert not sidecar.exists()
    with Project.open(image_folder) as p:
        assert p.validation_marks() == {"a.png", "b.jpg"}
        p.set_validation(p.find_image("b.jpg"), False)
        assert p.validation_marks() == {"a.png"}
    assert sqlite3.connect(db).execute("SELECT path FROM images WHERE validation = 1").fetchall() == [("a.png",)]


def test_an_old_schema_is_migrated_without_losing_boxes(image_folder: Path) -> None:
    with Project.open(image_folder) as p:
        p.add_box(p.images()[0], Box(1, 1, 20, 20, "cat"))
    db = image_folder / ".retinalab" / "project.db"
    conn = sqlite3.connect(db)
    conn.execute("ALTER TABLE images DROP COLUMN validation")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with Project.open(image_folder) as p:
        assert [b.xyxy for b in p.boxes(p.images()[0])] == [(1.0, 1.0, 20.0, 20.0)]
        assert p.validation_marks() == set()


def test_cli_project_format_trains_on_labels_only(image_folder: Path) -> None:
    from engine.dataset import load_annotations

    with Project.open(image_folder) as p:
        a = _predicted_image(p)
        p.mark_reviewed(a, score_thresh=0.5)
    ann = load_annotations(image_folder, "project")
    assert [(img.path, sorted(b.source for b in img.boxes)) for img in ann.images] == [
        ("a.png", ["accepted", "manual"])]
