"""``retinalab review``: the shipped demo model finds label errors planted in unseen synthetic images."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.cli import main
from engine.demo import demo_model_path
from engine.synth import make_demo_dataset

SEED = 7  # the demo-model test's seed: never trained on


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """Six unseen images; image 1 loses its first label, image 2 gets a label on empty background."""
    root = tmp_path_factory.mktemp("review")
    make_demo_dataset(root, num_images=6, seed=SEED, image_size=256)
    coco = json.loads((root / "annotations.json").read_text())
    anns = coco["annotations"]
    by_image: dict[int, list[dict]] = {}
    for a in anns:
        by_image.setdefault(a["image_id"], []).append(a)
    with_objects = [i["id"] for i in coco["images"] if by_image.get(i["id"])]
    dropped = by_image[with_objects[0]][0]
    anns.remove(dropped)
    target = next(i for i in coco["images"] if i["id"] == with_objects[1])
    spot = _empty_spot(target, by_image[with_objects[1]])
    anns.append({"id": 10_000, "image_id": target["id"], "category_id": 1, "bbox": spot, "area": spot[2] * spot[3],
                 "iscrowd": 0})
    (root / "annotations.json").write_text(json.dumps(coco))
    names = {i["id"]: i["file_name"] for i in coco["images"]}
    return root, {"dropped": (names[dropped["image_id"]], dropped["bbox"]), "spurious": (names[target["id"]], spot)}


def _empty_spot(image: dict, boxes: list[dict]) -> list[float]:
    size = 28
    for y in range(0, image["height"] - size, 8):
        for x in range(0, image["width"] - size, 8):
            if all(x + size < b[0] or b[0] + b[2] < x or y + size < b[1] or b[1] + b[3] < y
                   for b in (a["bbox"] for a in boxes)):
                return [float(x), float(y), float(size), float(size)]
    raise AssertionError("no empty spot")


def _overlaps(box: list[float], xywh: list[float]) -> bool:
    x, y, w, h = xywh
    ix = min(box[2], x + w) - max(box[0], x)
    iy = min(box[3], y + h) - max(box[1], y)
    inter = max(ix, 0) * max(iy, 0)
    return inter / ((box[2] - box[0]) * (box[3] - box[1]) + w * h - inter) >= 0.5


def test_review_finds_the_planted_missing_and_spurious_labels(planted: tuple[Path, dict], tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    root, truth = planted
    out = tmp_path / "findings.json"
    code = main(["review", str(root / "annotations.json"), "--format", "coco", "--weights", str(demo_model_path()),
                 "--device", "cpu", "--json", str(out)])
    assert code == 0
    findings = json.loads(out.read_text())
    printed = capsys.readouterr().out
    assert f"{len(findings)} findings on 6 images" in printed
    missing = [f for f in findings if f["kind"] == "missing"]
    spurious = [f for f in findings if f["kind"] == "spurious"]
    image, bbox = truth["dropped"]
    assert any(f["image"].endswith(Path(image).name) and _overlaps(f["prediction"]["box"], bbox) for f in missing)
    image, bbox = truth["spurious"]
    hit = [f for f in spurious if f["image"].endswith(Path(image).name) and _overlaps(f["label"]["box"], bbox)]
    assert hit and hit[0]["score"] > 0.9
    # the planted errors are the two most confident findings
    top = {(f["kind"], Path(f["image"]).name) for f in findings[:2]}
    assert top == {("missing", Path(truth["dropped"][0]).name), ("spurious", Path(truth["spurious"][0]).name)}
    assert [f["score"] for f in findings] == sorted((f["score"] for f in findings), reverse=True)
    assert {f["trained_on"] for f in findings} == {None}  # the demo model's training set is not on this machine


def test_review_of_a_project_judges_confirmed_labels_only(planted: tuple[Path, dict], tmp_path: Path) -> None:
    from engine.project import Project
    from engine.types import Box

    src, _ = planted
    folder = tmp_path / "proj"
    shutil.copytree(src / "images", folder)
    coco = json.loads((src / "annotations.json").read_text())
    first = next(a for a in coco["annotations"] if a["id"] != 10_000)
    name = next(Path(i["file_name"]).name for i in coco["images"] if i["id"] == first["image_id"])
    x, y, w, h = first["bbox"]
    cat = {c["id"]: c["name"] for c in coco["categories"]}[first["category_id"]]
    wrong = next(n for n in ("circle", "square", "triangle", "star") if n != cat)
    with Project.open(folder) as project:
        record = project.find_image(name)
        project.add_box(record, Box(x, y, x + w, y + h, wrong, None, "manual"))
        other = next(r for r in project.images() if r.id != record.id)
        project.set_predictions(other, [Box(5, 5, 40, 40, "star", 0.2, "predicted")])  # pending: not a label
    out = tmp_path / "f.json"
    assert main(["review", str(folder), "--format", "project", "--weights", str(demo_model_path()),
                 "--device", "cpu", "--json", str(out)]) == 0
    findings = json.loads(out.read_text())
    assert [(f["kind"], f["image"], f["class"]) for f in findings] == [("wrong_class", name, f"{wrong} → {cat}")]
    assert findings[0]["image_id"] == record.id


def test_review_says_which_findings_are_on_images_the_model_trained_on(planted: tuple[Path, dict], tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    root, truth = planted
    run = tmp_path / "run"
    (run / "data").mkdir(parents=True)
    trained = root / truth["dropped"][0]  # as the Train panel's run folder records its split
    (run / "data" / "train.json").write_text(json.dumps({"images": [{"id": 1, "file_name": str(trained)}]}))
    shutil.copy(demo_model_path(), run / "best.pt")
    out = tmp_path / "f.json"
    assert main(["review", str(root / "annotations.json"), "--weights", str(run / "best.pt"), "--device", "cpu",
                 "--json", str(out)]) == 0
    findings = json.loads(out.read_text())
    assert {f["image"] for f in findings if f["trained_on"]} == {truth["dropped"][0]}
    assert all(f["trained_on"] is False for f in findings if f["image"] != truth["dropped"][0])
    assert "of the findings are on images this model was trained on" in capsys.readouterr().out


def test_review_bad_input_exits_2_with_one_line(planted: tuple[Path, dict], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    root, _ = planted
    assert main(["review", str(root / "annotations.json"), "--weights", str(tmp_path / "none.pt")]) == 2
    assert "checkpoint not found" in capsys.readouterr().err
    assert main(["review", str(tmp_path / "nothing"), "--weights", str(demo_model_path())]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert main(["review", str(root), "--format", "xml", "--weights", str(demo_model_path())]) == 2
    assert main(["review", str(tmp_path), "--format", "project", "--weights", str(demo_model_path())]) == 2
    assert "nothing to review" in capsys.readouterr().err
