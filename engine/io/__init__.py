"""Image decoding and dataset formats: everything that turns files on disk into engine data.

``engine.io.image`` decodes images into upright RGB arrays (EXIF applied) and lists image folders;
``coco``, ``voc`` and ``yolo`` read and write the three dataset formats as
:class:`engine.types.Annotations`; ``formats`` detects layouts and dispatches by format name.
"""

from __future__ import annotations

from engine.io.image import (
    IMAGE_EXTENSIONS,
    MAX_IMAGE_PIXELS,
    list_images,
    load_image,
    read_image_size,
)

__all__ = [
    "IMAGE_EXTENSIONS",
    "MAX_IMAGE_PIXELS",
    "list_images",
    "load_image",
    "read_image_size",
]
