"""bench/loop_sim.py: the simulated annotator's choices, the store edits they make, and the summary line."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from loop_annotator import CostModel, apply_corrections, count_actions, plan_corrections  # noqa: E402

from engine.types import Box, Detection  # noqa: E402


def _actions(corrections) -> list[tuple[str, str | None, str | None]]:
    return [(c.action, c.box.label if c.box else None, c.truth.label if c.truth else None) for c in corrections]


def test_each_proposal_gets_the_action_a_careful_person_would_take() -> None:
    truth = [Box(0, 0, 100, 100, "cat"), Box(200, 0, 300, 100, "cat"), Box(0, 200, 100, 300, "dog"),
             Box(200, 200, 300, 300, "dog"), Box(400, 400, 450, 450, "cat")]
    proposals = [
        Box(2, 2, 100, 100, "cat", 0.9, "predicted", 1),       # IoU 0.96, right class: accept
        Box(200, 0, 300, 160, "cat", 0.8, "predicted", 2),     # IoU 0.63: adjust
        Box(0, 200, 100, 298, "cat", 0.7, "predicted", 3),     # IoU 0.98, wrong class: relabel
        Box(200, 200, 300, 370, "cat", 0.6, "predicted", 4),   # IoU 0.59, wrong class: relabel + adjust
        Box(600, 600, 650, 650, "dog", 0.5, "predicted", 5),   # nothing there: reject
        Box(1, 1, 99, 99, "cat", 0.4, "predicted", 6),         # a duplicate of a matched box: reject
    ]
    plan = plan_corrections(proposals, truth)
    assert _actions(plan) == [("accept", "cat", "cat"), ("adjust", "cat", "cat"), ("relabel", "cat", "dog"),
                              ("relabel", "cat", "dog"), ("adjust", "cat", "dog"), ("reject", "dog", None),
                              ("reject", "cat", None), ("draw", None, "cat")]
    counts = count_actions(plan)
    assert (counts["accept"], counts["adjust"], counts["relabel"], counts["reject"], counts["draw"]) == (1, 2, 2, 2, 1)
    assert counts["proposals_fixed"] == 3  # the relabelled-and-adjusted box is looked at once
    costs = CostModel()
    # 6 proposals verified, 2 adjusted, 2 relabelled, 2 deleted, 1 drawn
    assert costs.seconds(counts) == pytest.approx(6 * 1.6 + 2 * 7.0 + 2 * 3.0 + 2 * 1.0 + 7.0)
    assert costs.manual_seconds(len(truth)) == pytest.approx(35.0)


def test_corrections_become_store_edits_with_provenance_and_the_reviewed_image_holds_the_truth(tmp_path) -> None:
    from PIL import Image

    from engine.project import Project

    Image.new("RGB", (320, 320), "gray").save(tmp_path / "a.jpg")
    truth = [Box(0, 0, 100, 100, "cat"), Box(200, 0, 300, 100, "cat"), Box(0, 200, 100, 300, "dog"),
             Box(120, 120, 180, 180, "dog")]
    with Project.open(tmp_path) as project:
        image = project.images()[0]
        project.set_predictions(image, [Detection(2, 2, 100, 100, "cat", 0.9), Detection(200, 0, 300, 160, "cat", 0.8),
                                        Detection(0, 200, 100, 298, "cat", 0.7), Detection(250, 250, 300, 300, "dog", 0.6),
                                        Detection(150, 150, 170, 170, "cat", 0.1)])  # hidden below the slider
        shown = [b for b in project.boxes(image) if b.score >= 0.3]
        apply_corrections(project, image, plan_corrections(shown, truth))
        project.mark_reviewed(image, score_thresh=0.3)
        boxes = sorted(project.boxes(image), key=lambda b: b.xyxy)
        assert [(b.xyxy, b.label, b.source) for b in boxes] == [
            ((0.0, 200.0, 100.0, 298.0), "dog", "edited"),     # relabelled
            ((2.0, 2.0, 100.0, 100.0), "cat", "accepted"),
            ((120.0, 120.0, 180.0, 180.0), "dog", "manual"),   # missed: drawn
            ((200.0, 0.0, 300.0, 100.0), "cat", "edited"),     # adjusted
        ]
        assert [b.xyxy for b in project.rejected_boxes(image)] == [(250.0, 250.0, 300.0, 300.0)]
        assert project.image(image.id).status == "reviewed"
        trained = project.training_data().images[0]
        assert len(trained.boxes) == 4 and len(trained.rejected) == 1  # the hidden prediction is gone


def test_a_short_run_on_synthetic_shapes_prints_what_it_is_and_the_summary_line(tmp_path, capsys) -> None:
    from loop_sim import main

    from engine.synth import make_demo_dataset

    make_demo_dataset(tmp_path / "data", num_images=10, seed=11, image_size=64)
    result = main(["--data", str(tmp_path / "data"), "--format", "coco", "--round-size", "6", "--image-size", "64",
                   "--round-budget-s", "600", "--max-rounds", "1", "--seed", "3", "--device", "cpu",
                   "--init", "scratch"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("loop_sim: ") and "8 pool / 2 test images" in lines[0]
    assert "hard negatives off" in lines[0] and "first round's model scratch" in lines[0]
    # no model knows the classes in round 1: every box is drawn, so the loop saved nothing yet
    assert re.fullmatch(r"effort_ratio=1\.00 final_AP50=\d\.\d\d\d images=6 rounds=1", lines[-1])
    assert result["actions"]["draw"] == result["actions"]["boxes"] > 0
    assert sum(result["actions"][a] for a in ("accept", "adjust", "relabel", "reject")) == 0
    assert any(line.split()[:2] == ["1", "6"] for line in lines)  # the round's row: round 1, 6 images


def test_uncertainty_order_labels_the_most_uncertain_unreviewed_images_first(tmp_path) -> None:
    from loop_sim import next_round

    from engine.project import Project
    from engine.types import Detection

    from PIL import Image

    for i in range(5):
        Image.new("RGB", (40 + 10 * i, 30)).save(tmp_path / f"img_{i}.png")

    class WidthDetector:  # one box whose score depends on the image's width
        def predict(self, images, score_thresh=0.05):
            from engine.io import load_image

            scores = {40: 0.95, 50: 0.35, 60: 0.99, 70: 0.3, 80: 0.6}
            return [[Detection(1, 1, 20, 20, "thing", scores[load_image(p).shape[1]])] for p in images]

    with Project.open(tmp_path) as project:
        records = project.images(order="path")
        project.set_status(records[3], "reviewed")  # img_3 (the most uncertain) is done already
        assert [r.path for r in next_round(project, records, 0, 2, "path", WidthDetector(),
                                           detect_thresh=0.05, view_thresh=0.3)] == ["img_0.png", "img_1.png"]
        batch = next_round(project, records, 0, 2, "uncertainty", WidthDetector(), detect_thresh=0.05,
                           view_thresh=0.3)
        assert [r.path for r in batch] == ["img_1.png", "img_4.png"]  # scores nearest the 0.3 slider
        assert project.image(records[0].id).uncertainty is not None  # Detect All stored every unreviewed one
        assert project.image(records[3].id).uncertainty is None  # reviewed images are not re-detected
