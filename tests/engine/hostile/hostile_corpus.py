"""A generated bad-input corpus: images and COCO / VOC / YOLO datasets a hostile user could hand over.

Everything is made by code at test time (no committed binaries): broken, exotic and adversarial image
files next to good ones, and one dataset per format whose annotation files hold every kind of bad
value the readers have met (non-numbers, overflowing numbers, ids of the wrong type, huge class
indices, wrong roots, entity bombs, files that are not files). ``build(root)`` writes it all and
returns what it made; ``BAD_IMAGES`` names the image files that must be reported as skipped.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

# image file -> what is wrong with it (each must be named once as skipped by `detect`)
BAD_IMAGES = {
    "empty.jpg": "0 bytes",
    "text.png": "text, not an image",
    "noise.webp": "random bytes",
    "header_only.jpg": "a JPEG cut inside its header",
    "bomb.png": "a 33-byte PNG header claiming 20000 x 20000 pixels",
    "zero_size.png": "a PNG header claiming 0 x 0 pixels",
    "thin.png": "1 x 700 pixels",
    "strip.png": "3000 x 4 pixels",
    "fifo.jpg": "a named pipe (reading it blocks for ever)",
    "zero.png": "a symlink to /dev/zero (reading it never ends)",
    "loop_a.jpg": "a symlink loop",
    "loop_b.jpg": "a symlink loop",
    "dangling.jpg": "a symlink to nothing",
}
GOOD_IMAGES = ("good.jpg", "grey16.png", "cut.jpg", "rgba.png")
# also there: ``folder.jpg/``, a folder named like an image (searched as a folder, it holds none)


@dataclass(frozen=True)
class Corpus:
    images: Path  # a folder of good and bad image files
    datasets: dict[str, tuple[str, Path]]  # name -> (format, path)


def _png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))


def _save(path: Path, array: np.ndarray, **kwargs: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **kwargs)
    return path


def build_images(folder: Path) -> Path:
    rng = np.random.default_rng(13)
    folder.mkdir(parents=True, exist_ok=True)
    _save(folder / "good.jpg", rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    _save(folder / "grey16.png", (rng.integers(0, 65535, (40, 40), dtype=np.uint16)))
    _save(folder / "rgba.png", rng.integers(0, 256, (40, 50, 4), dtype=np.uint8))
    whole = _save(folder / "whole.tmp.jpg", rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    (folder / "cut.jpg").write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])  # decodes, with a warning
    (folder / "header_only.jpg").write_bytes(whole.read_bytes()[:100])
    whole.unlink()
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "text.png").write_text("hello, I am not an image\n")
    (folder / "noise.webp").write_bytes(rng.integers(0, 256, 3000, dtype=np.uint8).tobytes())
    (folder / "bomb.png").write_bytes(_png_header(20_000, 20_000))
    (folder / "zero_size.png").write_bytes(_png_header(0, 0))
    _save(folder / "thin.png", rng.integers(0, 256, (1, 700, 3), dtype=np.uint8))
    _save(folder / "strip.png", rng.integers(0, 256, (3000, 4, 3), dtype=np.uint8))
    (folder / "folder.jpg").mkdir()
    os.mkfifo(folder / "fifo.jpg")
    (folder / "zero.png").symlink_to("/dev/zero")
    (folder / "loop_a.jpg").symlink_to("loop_b.jpg")
    (folder / "loop_b.jpg").symlink_to("loop_a.jpg")
    (folder / "dangling.jpg").symlink_to("nowhere.jpg")
    return folder


def _coco(root: Path, images: Path) -> Path:
    names = sorted(p.name for p in images.iterdir())
    entries = [{"id": i + 1, "file_name": n, "width": 64, "height": 48} for i, n in enumerate(names)]
    entries += [
        {"id": [1], "file_name": "good.jpg"}, {"id": {"a": 1}, "file_name": "good.jpg"},
        {"id": 900, "file_name": ["good.jpg"]}, {"id": 901, "file_name": "good.jpg", "width": "Infinity"},
        {"id": 902, "file_name": "../../../../etc/passwd"}, {"id": 903, "file_name": "nul\u0000byte.jpg"},
        "not an object", None,
    ]
    anns = [{"id": k, "image_id": 1 + k % len(names), "category_id": 1 + k % 3, "bbox": [2, 2, 20, 20], "iscrowd": 0}
            for k in range(len(names))]
    anns += [
        {"id": 100, "image_id": 1, "category_id": 1, "bbox": ["1e999", 0, 5, 5]},
        {"id": 101, "image_id": [1], "category_id": 1, "bbox": [0, 0, 5, 5]},
        {"id": 102, "image_id": 1, "category_id": {"x": 1}, "bbox": [0, 0, 5, 5]},
        {"id": 103, "image_id": 1, "category_id": 1, "bbox": "0 0 5 5"},
        {"id": 104, "image_id": 1, "category_id": 1, "bbox": [0, 0, -5, float("nan")]},
        {"id": 105, "image_id": 1, "category_id": 1, "bbox": [1e308, 1e308, 1e308, 1e308]},
        [1, 2, 3],
    ]
    cats = [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog\nbaby"}, {"id": 3, "name": ""}, {"id": [4], "name": "x"},
            {"name": "no id"}, {"id": 5, "name": {"not": "a name"}}]
    root.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"images": entries, "annotations": anns, "categories": cats})
    (root / "annotations.json").write_text(text.replace('"Infinity"', "Infinity"))
    (root / "images").symlink_to(images)
    return root


def _voc(root: Path, images: Path) -> Path:
    xml = root / "Annotations"
    xml.mkdir(parents=True)
    (root / "JPEGImages").symlink_to(images)
    obj = ("<object><name>{name}</name><bndbox><xmin>{x1}</xmin><ymin>2</ymin><xmax>{x2}</xmax><ymax>20</ymax>"
           "</bndbox></object>")
    files = {
        "good.xml": f"<annotation><filename>good.jpg</filename><size><width>64</width><height>48</height></size>"
                    f"{obj.format(name='cat', x1=2, x2=30)}{obj.format(name='dog', x1='nan', x2=30)}</annotation>",
        "grey16.xml": "<annotation><filename>grey16.png</filename><size><width>1e999</width><height>nan</height>"
                      f"</size>{obj.format(name='cat', x1='-inf', x2='1e999')}{obj.format(name='', x1=1, x2=9)}"
                      "</annotation>",
        "rgba.xml": "<annotations><filename>rgba.png</filename></annotations>",  # not a VOC root
        "cut.xml": "<annotation><filename>cut.jpg</filename><object><name>cat</name>",  # malformed
        "thin.xml": f"<annotation><filename>thin.png</filename>{obj.format(name='cat', x1=1, x2=600)}</annotation>",
        "bomb.xml": '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "aaaaaaaaaa">'
                    + "".join(f'<!ENTITY {c} "{("&" + p + ";") * 10}">' for p, c in zip("abcdefgh", "bcdefghi"))
                    + "]><annotation><filename>&i;</filename></annotation>",
        "binary.xml": None,
    }
    for name, text in files.items():
        if text is None:
            (xml / name).write_bytes(bytes(range(256)) * 4)
        else:
            (xml / name).write_text(text)
    os.mkfifo(xml / "pipe.xml")
    (root / "classes.txt").write_text("cat\n\n  dog  \n")
    return root


def _yolo(root: Path, images: Path) -> Path:
    (root / "labels").mkdir(parents=True)
    (root / "images").symlink_to(images)
    lines = {
        "good.txt": "0 0.5 0.5 0.2 0.2\n1 0.5 0.5 0.4 0.4 0.9\n2 0.1 0.1 0.3 0.1 0.3 0.3\n",
        "grey16.txt": "nan 0.5 0.5 0.2 0.2\n1e999 0.5 0.5 0.2 0.2\n50000000 0.5 0.5 0.2 0.2\n-1 0 0 1 1\n",
        "rgba.txt": "0 nan 0.5 0.2 0.2\n0 0.5 0.5 1e999 0.2\n0 0.5\nhello world\n0 0.5 0.5 -0.2 -0.2\n",
        "cut.txt": "1.5 0.5 0.5 0.2 0.2\n" + "9" * 5000 + " 0.5 0.5 0.2 0.2\n0 1 2 3 4 5 6\n",
        "thin.txt": "0 0.5 0.5 0.5 1.0\n",
        "orphan.txt": "0 0.5 0.5 0.2 0.2\n",
    }
    for name, text in lines.items():
        (root / "labels" / name).write_text(text)
    (root / "labels" / "binary.txt").write_bytes(b"\xff\xfe\x00" * 100)
    os.mkfifo(root / "labels" / "empty.txt")  # the label file of empty.jpg is a pipe
    (root / "classes.txt").write_text("cat\ndog\nbird\n")
    (root / "data.yaml").write_text("nc: 50000000\nnames: {0: cat, 50000000: x}\n")  # classes.txt wins
    return root


def build(root: Path) -> Corpus:
    images = build_images(root / "images")
    datasets = {
        "coco": ("coco", _coco(root / "coco", images)),
        "voc": ("voc", _voc(root / "voc", images)),
        "yolo": ("yolo", _yolo(root / "yolo", images)),
    }
    yaml_only = root / "yolo_yaml"
    (yaml_only / "labels").mkdir(parents=True)
    (yaml_only / "images").symlink_to(images)
    (yaml_only / "labels" / "good.txt").write_text("3 0.5 0.5 0.2 0.2\n")
    (yaml_only / "data.yaml").write_text("names:\n  0: cat\n  " + "9" * 5000 + ": x\n")
    datasets["yolo_yaml"] = ("yolo", yaml_only)
    bad_json = root / "coco_json"
    bad_json.mkdir()
    (bad_json / "annotations.json").write_text('{"images": ' + "[" * 100_000 + "]" * 100_000 + "}")
    datasets["coco_deep"] = ("coco", bad_json)
    return Corpus(images, datasets)
