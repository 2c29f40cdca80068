"""Image decoding and dataset formats: everything that turns files on disk into engine data.

``image`` decodes images into upright RGB arrays (EXIF applied) and lists image folders;
``coco``, ``voc`` and ``yolo`` read and write the three dataset formats as
:class:`engine.types.Annotations`; ``formats`` detects layouts and dispatches by format name.
"""

from __future__ import annotations

from engine.io.coco import read_coco, write_coco
from engine.io.formats import check_format, detect_format, read_dataset, write_dataset
from engine.io.image import (
    IMAGE_EXTENSIONS,
    MAX_IMAGE_PIXELS,
    list_images,
    load_image,
    read_image_size,
)
from engine.io.voc import read_voc, write_voc
from engine.io.yolo import read_yolo, write_yolo

__all__ = [
    "IMAGE_EXTENSIONS",
    "MAX_IMAGE_PIXELS",
    "check_format",
    "detect_format",
    "list_images",
    "load_image",
    "read_coco",
    "read_dataset",
    "read_image_size",
    "read_voc",
    "read_yolo",
    "write_coco",
    "write_dataset",
    "write_voc",
    "write_yolo",
]
