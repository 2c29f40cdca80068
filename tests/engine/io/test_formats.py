"""Format readers on foreign data: box cleaning, broken files, accepted layouts, class names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import DatasetError
from engine.io import detect_format, read_coco, read_dataset, read_voc, read_yolo, write_dataset
from engine.io.yolo_names import parse_yaml_names
from engine.types import Annotations



def _coco(path: Path, annotations: list[dict], *, categories=None, images=None) -> Path:
    doc = {
        "images": images or [{"id": 7, "file_name": "a.png", "width": 100, "height": 80}],
        "annotations": annotations,
        "categories": categories or [{"id": 42, "name": "dog"}, {"id": 3, "name": "cat"}],
    }
    path.write_text(json.dumps(doc))
    return path


def test_coco_bad_boxes_are_cleaned_and_reported(tmp_path: Path, image_file) -> None:
    image_file(tmp_path / "a.png", 100, 80)
    anns = [
        {"id": 1, "image_id": 7, "category_id": 42, "bbox": [10, 10, 20, 20]},  # fine
        {"id": 2, "image_id": 7, "category_id": 3, "bbox": [90, 70, 30, 30]},  # clipped
        {"id": 3, "image_id": 7, "category_id": 3, "bbox": [50, 50, -20, -10]},  # inverted
        {"id": 4, "image_id": 7, "category_id": 3, "bbox": [float("nan"), 1, 2, 3]},
        {"id": 5, "image_id": 7, "category_id": 3, "bbox": [5, 5, 0.2, 30]},  # degenerate
        {"id": 6, "image_id": 7, "category_id": 3, "bbox": [200, 200, 10, 10]},  # outside
        {"id": 7, "image_id": 7, "category_id": 3, "bbox": [1, 1, 5, 5], "iscrowd": 1},
        {"id": 8, "image_id": 7, "category_id": 99, "bbox": [1, 1, 5, 5]},
        {"id": 9, "image_id": 1234, "category_id": 3, "bbox": [1, 1, 5, 5]},
        {"id": 10, "image_id": 7, "category_id": 3, "bbox": "oops"},
    ]
    ann = read_coco(_coco(tmp_path / "instances.json", anns))
    assert ann.class_names == ("dog", "cat")  # order of the categories list, ids arbitrary
    boxes = {b.xyxy: b.label for b in ann.images[0].boxes}
    assert boxes == {
        (10.0, 10.0, 30.0, 30.0): "dog",
        (90.0, 70.0, 100.0, 80.0): "cat",
        (30.0, 40.0, 50.0, 50.0): "cat",
    }
    text = "\n".join(ann.warnings)
    assert len(ann.warnings) == 9, text
    for needle in ("clipped", "swapped", "non-finite", "degenerate", "outside", "crowd",
                   "unknown category", "unknown image", "no valid bbox"):
        assert needle in text
    assert all("instances.json" in line for line in ann.warnings)


def test_coco_layouts(tmp_path: Path, image_file) -> None:
    image_file(tmp_path / "ds" / "images" / "a.png", 100, 80)
    (tmp_path / "ds" / "annotations").mkdir()
    _coco(tmp_path / "ds" / "annotations" / "train.json", [])
    for path in (tmp_path / "ds", tmp_path / "ds" / "annotations" / "train.json"):
        ann = read_coco(path)
        assert ann.root == tmp_path / "ds" / "images"
        assert [img.path for img in ann.images] == ["a.png"] and ann.warnings == ()
    _coco(tmp_path / "ds" / "annotations" / "val.json", [])
    with pytest.raises(DatasetError, match="several COCO JSON"):
        read_coco(tmp_path / "ds")
    # image entries without a size get it from the file header
    _coco(tmp_path / "ds" / "annotations.json", [], images=[{"id": 1, "file_name": "a.png"}])
    assert read_coco(tmp_path / "ds").images[0].width == 100


def test_malformed_and_missing_datasets_raise_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"images": [ {"id": 1,, }')
    with pytest.raises(DatasetError, match="bad.json.*line 1"):
        read_coco(bad)
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(DatasetError, match="list.json"):
        read_coco(tmp_path / "list.json")
    for fmt in ("coco", "voc", "yolo"):
        with pytest.raises(DatasetError, match="not found"):
            read_dataset(tmp_path / "nope", fmt)
    with pytest.raises(DatasetError, match="unknown dataset format"):
        read_dataset(tmp_path, "kitti")
    (tmp_path / "empty").mkdir()
    for fmt in ("coco", "voc", "yolo"):
        with pytest.raises(DatasetError):
            read_dataset(tmp_path / "empty", fmt)


def _voc_xml(filename: str, objects: str, size: tuple[int, int] = (100, 80)) -> str:
    return (
        f"<annotation><filename>{filename}</filename><size><width>{size[0]}</width>"
        f"<height>{size[1]}</height><depth>3</depth></size>{objects}</annotation>"
    )


def _obj(name: str, xmin, ymin, xmax, ymax) -> str:
    return (f"<object><name>{name}</name><bndbox><xmin>{xmin}</xmin><ymin>{ymin}</ymin>"
            f"<xmax>{xmax}</xmax><ymax>{ymax}</ymax></bndbox></object>")


def test_voc_bad_files_cost_only_themselves(tmp_path: Path, image_file) -> None:
    ds = tmp_path / "voc"
    for name in ("a", "b", "c", "d"):
        image_file(ds / "JPEGImages" / f"{name}.jpg", 100, 80)
    (ds / "Annotations").mkdir(parents=True)
    (ds / "Annotations" / "a.xml").write_text(
        _voc_xml("a.jpg", _obj("dog", 1, 1, 100, 80) + _obj("dog", 60, 10, 20, 30)
                 + _obj("cat", 50, 50, 150, 70) + _obj("cat", "x", 1, 2, 3))
    )
    (ds / "Annotations" / "b.xml").write_text("<annotation><object>")  # malformed
    (ds / "Annotations" / "c.xml").write_text(_voc_xml("c.jpg", ""))  # labelled: no objects
    ann = read_voc(ds)  # d.jpg has no XML at all
    by_path = {img.path: img for img in ann.images}
    assert sorted(by_path) == ["a.jpg", "c.jpg", "d.jpg"]  # b.jpg's XML is broken: left out
    assert {b.xyxy for b in by_path["a.jpg"].boxes} == {
        (0.0, 0.0, 100.0, 80.0), (20.0, 9.0, 59.0, 30.0), (49.0, 49.0, 100.0, 70.0)
    }
    assert by_path["c.jpg"].boxes == () and by_path["d.jpg"].boxes == ()
    text = "\n".join(ann.warnings)
    assert "b.xml: malformed XML" in text and "1 images" in text and "no XML" in text
    assert "swapped" in text and "clipped" in text and "no valid name/bndbox" in text
    assert ann.class_names == ("cat", "dog")  # no classes.txt: alphabetical


def test_voc_xml_next_to_images_and_single_file(tmp_path: Path, image_file) -> None:
    image_file(tmp_path / "sub" / "p.png", 50, 40)
    (tmp_path / "sub" / "p.xml").write_text(_voc_xml("p.png", _obj("x y", 2, 3, 20, 30), (50, 40)))
    for path in (tmp_path, tmp_path / "sub" / "p.xml"):
        ann = read_voc(path)
        assert [(img.path, img.boxes[0].xyxy) for img in ann.images][-1][1] == (1.0, 2.0, 20.0, 30.0)
        assert ann.class_names == ("x y",)


def test_yolo_layouts_names_and_bad_lines(tmp_path: Path, image_file) -> None:
    image_file(tmp_path / "images" / "train" / "a.jpg", 100, 50)
    image_file(tmp_path / "images" / "val" / "b.jpg", 100, 50)
    (tmp_path / "labels" / "train").mkdir(parents=True)
    (tmp_path / "labels" / "train" / "a.txt").write_text(
        "1 0.5 0.5 0.2 0.4\n"
        "0 0.5 0.5 0.2 0.4 0.87\n"  # a score column
        "0 0.1 0.1 0.3 0.1 0.3 0.4\n"  # a polygon -> its bounding box
        "5 0.5 0.5 0.1 0.1\n"  # class index out of range
        "0 0.5 abc 0.1 0.1\n"
        "0 0.95 0.5 0.2 0.2\n"  # clipped at the right border
    )
    (tmp_path / "labels" / "orphan.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    (tmp_path / "data.yaml").write_text("path: .\ntrain: images/train\nnames: ['dog', \"hot dog\"]\n")
    for path in (tmp_path, tmp_path / "data.yaml", tmp_path / "images"):
        ann = read_yolo(path)
        assert ann.class_names == ("dog", "hot dog")
        assert ann.root == tmp_path / "images"
        by_path = {img.path: img for img in ann.images}
        assert sorted(by_path) == ["train/a.jpg", "val/b.jpg"] and by_path["val/b.jpg"].boxes == ()
        got = sorted((b.label, tuple(round(v, 3) for v in b.xyxy), b.score) for b in by_path["train/a.jpg"].boxes)
        assert got == [
            ("dog", (10.0, 5.0, 30.0, 20.0), None),
            ("dog", (40.0, 15.0, 60.0, 35.0), 0.87),
            ("dog", (85.0, 20.0, 100.0, 30.0), None),
            ("hot dog", (40.0, 15.0, 60.0, 35.0), None),
        ]
        text = "\n".join(ann.warnings)
        assert "only 2 classes" in text and "not numbers" in text and "clipped" in text
        assert "1 label files" in text
    (tmp_path / "classes.txt").write_text("first\nsecond class\n")  # classes.txt wins over YAML
    assert read_yolo(tmp_path).class_names == ("first", "second class")


def test_yolo_labels_next_to_images_without_names(tmp_path: Path, image_file) -> None:
    image_file(tmp_path / "a.png", 40, 40)
    (tmp_path / "a.txt").write_text("2 0.5 0.5 0.5 0.5\n")
    ann = read_yolo(tmp_path)
    assert ann.class_names == ("0", "1", "2")
    assert ann.images[0].boxes[0].xyxy == (10.0, 10.0, 30.0, 30.0)
    assert any("named by index" in w for w in ann.warnings)


@pytest.mark.parametrize(
    "text,names",
    [
        ("names: [a, 'b c', \"d\"]  # comment\nnc: 3\n", ["a", "b c", "d"]),
        ("nc: 2\nnames:\n  - cat\n  - 'hot dog'\n", ["cat", "hot dog"]),
        ("names:\n  0: person\n  1: \"traffic light\"\n  3: car\ntrain: x\n", ["person", "traffic light", "2", "car"]),
        ("names: {0: a, 1: 'it''s'}\n", ["a", "it's"]),
        ("names: [a,\n  b,\n  c]\n", ["a", "b", "c"]),
        ("nc: 2\n", ["0", "1"]),
        ("train: images\n", None),
    ],
)
def test_parse_yaml_names(text: str, names: list[str] | None) -> None:
    assert parse_yaml_names(text) == names


_BOMB = "".join(f"a{i + 1}: &a{i + 1} [" + ", ".join([f"*a{i}"] * 9) + "]\n" for i in range(9))


@pytest.mark.parametrize(
    "text,message",
    [
        ("a0: &a0 x\n" + _BOMB + "names: *a9\n", "class name at position 0 is a list, not text"),  # 9**9 if expanded
        ("names: " + "[" * 400_000 + "]" * 400_000, "nest"),
        ("names:\n" + "- " * 400_000 + "x\n", "nest"),
        ("names: [a\n  b: c\n", "not valid YAML"),
        ("names: [a\x00]\n", "not valid YAML"),
        ("names:\n  " + "9" * 5000 + ": x\n", "over the limit of 1,024 characters"),
        ("names: [" + ", ".join(["cat"] * 300_000) + "]\n", "over the 1,000,000-byte limit"),
    ],
)
def test_hostile_yaml_names_are_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_yaml_names(text)
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_yaml_names_keep_the_words_written_and_a_huge_data_yaml_is_not_read(tmp_path: Path, image_file) -> None:
    assert parse_yaml_names("names: [yes, no, null, 1.0]\n") == ["yes", "no", "null", "1.0"]
    image_file(tmp_path / "images" / "a.png", 20, 20)
    (tmp_path / "labels").mkdir()
    (tmp_path / "data.yaml").write_text("names: [cat]\n" + "#" * 2_000_000 + "\n")
    with pytest.raises(DatasetError, match="data.yaml: 2,000,0.. bytes is over the 1,000,000-byte limit"):
        read_yolo(tmp_path)


def test_detect_format(synthetic: Annotations, tmp_path: Path) -> None:
    for fmt in ("coco", "voc", "yolo"):
        write_dataset(synthetic, tmp_path / fmt, fmt)
        assert detect_format(tmp_path / fmt) == fmt
        assert len(read_dataset(tmp_path / fmt, "auto").images) == len(synthetic.images)
