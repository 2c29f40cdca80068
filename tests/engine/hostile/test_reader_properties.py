"""Property tests (hypothesis): any mutated COCO, VOC or YOLO file reads into valid boxes, or the
reader raises its own ``DatasetError`` with one line. Never another exception, never a box that is
not finite, not at least 1 px, outside its image or of an unlisted class.

Example counts are kept modest (``max_examples`` below) so the whole file runs in seconds on 2 cores.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from engine.errors import DatasetError
from engine.io import read_coco, read_voc, read_yolo
from engine.types import Annotations

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# values a hostile or broken file may hold where a number, an id or a name belongs
HOSTILE = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.lists(st.integers(min_value=-3, max_value=3), max_size=4),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from(["9" * 5000, "Infinity", "-1e999", "", " ", "1e308", "0x10", "١٢"]),
)
_SPECIAL_NUMBERS = st.sampled_from(["nan", "inf", "-inf", "1e999", "9" * 400, "", "12abc", "-0", "1_000", "NaN"])
NUMBER_TEXT = st.one_of(
    _SPECIAL_NUMBERS, st.integers(0, 40).map(str), _SPECIAL_NUMBERS,
    st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers(-10**25, 10**25).map(str),
    st.text(alphabet="0123456789.-+eE naif", max_size=8),
)


def _image(folder: Path, name: str = "a.png", size: tuple[int, int] = (30, 20)) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((size[1], size[0], 3), np.uint8)).save(folder / name)


def _assert_valid(ann: Annotations) -> None:
    assert isinstance(ann, Annotations)
    assert len(ann.class_names) <= 10_000 and all(isinstance(n, str) for n in ann.class_names)
    for img in ann.images:
        assert isinstance(img.path, str) and img.width >= 0 and img.height >= 0
        for box in img.boxes:
            assert box.is_finite() and box.width >= 1 and box.height >= 1, box
            assert box.label in ann.class_names and box.label.strip()
            if img.width and img.height:
                assert 0 <= box.x1 < box.x2 <= img.width and 0 <= box.y1 < box.y2 <= img.height, (box, img)


def _read(reader, path: Path) -> None:  # noqa: ANN001
    try:
        ann = reader(path)
    except DatasetError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    _assert_valid(ann)


def _mutate_bytes(data: bytes, cuts: list[tuple[int, int, bytes]]) -> bytes:
    for start, length, insert in cuts:
        start = start % (len(data) + 1)
        data = data[:start] + insert + data[start + length:]
    return data


BYTE_CUTS = st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 40), st.binary(max_size=8)), max_size=4)


# COCO ----------------------------------------------------------------------------------------
def _maybe(good: object) -> st.SearchStrategy:
    return st.one_of(st.just(good), st.just(good), HOSTILE)


coco_images = st.lists(st.fixed_dictionaries({
    "id": _maybe(1), "file_name": st.one_of(st.just("a.png"), st.just("gone.png"), HOSTILE),
    "width": _maybe(30), "height": _maybe(20)}), min_size=0, max_size=3)
coco_annotations = st.lists(st.fixed_dictionaries({
    "id": _maybe(1), "image_id": _maybe(1), "category_id": _maybe(1), "iscrowd": _maybe(0),
    "bbox": st.one_of(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                                         st.integers(-10**20, 10**20)), min_size=0, max_size=5), HOSTILE)}),
    max_size=4)
coco_categories = st.lists(st.fixed_dictionaries({"id": _maybe(1), "name": st.one_of(st.just("cat"), HOSTILE)}),
                           max_size=3)


@SETTINGS
@given(images=st.one_of(coco_images, HOSTILE), annotations=st.one_of(coco_annotations, HOSTILE),
       categories=st.one_of(coco_categories, HOSTILE))
def test_mutated_coco_json_reads_or_says_one_line(images, annotations, categories) -> None:  # noqa: ANN001
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _image(root)
        doc = {"images": images, "annotations": annotations, "categories": categories}
        (root / "annotations.json").write_text(json.dumps(doc, allow_nan=True))
        _read(read_coco, root)


@SETTINGS
@given(cuts=BYTE_CUTS)
def test_coco_json_with_bytes_cut_and_inserted(cuts) -> None:  # noqa: ANN001
    doc = {"images": [{"id": 1, "file_name": "a.png", "width": 30, "height": 20}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 3, 10, 12], "iscrowd": 0}],
           "categories": [{"id": 1, "name": "cat"}]}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _image(root)
        (root / "annotations.json").write_bytes(_mutate_bytes(json.dumps(doc).encode(), cuts))
        _read(read_coco, root)


# VOC -----------------------------------------------------------------------------------------
def _xml_text(text: str) -> str:
    text = "".join(c for c in text if c in "\t\n\r" or (ord(c) >= 0x20 and not 0xD800 <= ord(c) <= 0xDFFF
                                                         and c not in "\ufffe\uffff"))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@SETTINGS
@given(size=st.tuples(NUMBER_TEXT, NUMBER_TEXT),
       objects=st.lists(st.tuples(st.text(max_size=8), NUMBER_TEXT, NUMBER_TEXT, NUMBER_TEXT, NUMBER_TEXT),
                        max_size=4),
       root_tag=st.sampled_from(["annotation", "annotation", "annotations", "Annotation"]),
       cuts=st.one_of(st.just([]), BYTE_CUTS))
def test_mutated_voc_xml_reads_or_says_one_line(size, objects, root_tag, cuts) -> None:  # noqa: ANN001
    body = "".join(
        f"<object><name>{_xml_text(name)}</name><bndbox><xmin>{_xml_text(a)}</xmin><ymin>{_xml_text(b)}</ymin>"
        f"<xmax>{_xml_text(c)}</xmax><ymax>{_xml_text(d)}</ymax></bndbox></object>"
        for name, a, b, c, d in objects)
    xml = (f"<{root_tag}><filename>a.png</filename><size><width>{_xml_text(size[0])}</width>"
           f"<height>{_xml_text(size[1])}</height></size>{body}</{root_tag}>")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _image(root / "JPEGImages")
        _image(root / "JPEGImages", "b.png")
        (root / "Annotations").mkdir()
        (root / "Annotations" / "a.xml").write_bytes(_mutate_bytes(xml.encode(), cuts))
        _read(read_voc, root)


# YOLO ----------------------------------------------------------------------------------------
TOKEN = st.one_of(NUMBER_TEXT, st.sampled_from(["0", "1", "2", "50000000", "0.5", "0.25", "#", "-1"]),
                  st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6))
LABEL_LINES = st.lists(st.lists(TOKEN, min_size=0, max_size=8).map(" ".join), max_size=6).map("\n".join)
YAML_NAMES = st.one_of(
    st.none(),
    st.lists(st.tuples(st.integers(-5, 10**12), st.text(max_size=6)), max_size=4).map(
        lambda pairs: "names: {" + ", ".join(f"{k}: {json.dumps(v)}" for k, v in pairs) + "}\n"),
    st.integers(-5, 10**15).map(lambda n: f"nc: {n}\n"),
    st.lists(st.text(max_size=6), max_size=4).map(lambda names: "names:\n" + "".join(f"  - {json.dumps(n)}\n"
                                                                                    for n in names)),
    st.text(max_size=60),
)


@SETTINGS
@given(labels=LABEL_LINES, yaml=YAML_NAMES,
       classes=st.one_of(st.none(), st.lists(st.text(max_size=6), max_size=4).map("\n".join)))
def test_mutated_yolo_labels_and_names_read_or_say_one_line(labels, yaml, classes) -> None:  # noqa: ANN001
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _image(root / "images")
        (root / "labels").mkdir()
        (root / "labels" / "a.txt").write_text(labels)
        if yaml is not None:
            (root / "data.yaml").write_text(yaml)
        if classes is not None:
            (root / "classes.txt").write_text(classes)
        _read(read_yolo, root)
