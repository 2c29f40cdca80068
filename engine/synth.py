"""The synthetic demo dataset: coloured shapes on cluttered, textured backgrounds, written as COCO.

Four classes (``circle``, ``square``, ``triangle``, ``star``) of varied size, colour, rotation and
aspect are painted onto backgrounds made of gradients, stripes, checkers, noise and line clutter;
later shapes may occlude earlier ones, and an object's box is the tight box of its *visible* pixels
(objects left less than 40 % visible are erased from the labels). About one image in ten has no
objects. Every image is drawn from its own generator seeded by ``(seed, index)``, so a dataset is
deterministic for a seed and its first N images do not depend on how many are asked for. The
output is ``DST/images/NNNNNN.jpg`` plus ``DST/annotations.json`` (COCO, boxes ``[x, y, w, h]`` in
pixels, category ids 1..4 in the order of ``CLASS_NAMES``). ``style="pretrain"`` writes the procedural
pretraining images of ``engine.synth_pretrain`` instead (eight object families, natural-looking fields).
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from engine.fsutil import write_text_atomic
from engine.synth_pretrain import PRETRAIN_CLASS_NAMES, render_pretrain_image, visible_boxes

logger = logging.getLogger(__name__)

CLASS_NAMES: tuple[str, ...] = ("circle", "square", "triangle", "star")
ANNOTATIONS_FILE = "annotations.json"
IMAGES_DIR = "images"
_EMPTY_FRACTION = 0.1
STYLES: tuple[str, ...] = ("shapes", "pretrain")


def make_demo_dataset(
    dst: str | os.PathLike[str],
    *,
    num_images: int,
    seed: int = 0,
    image_size: int = 256,
    max_objects: int | None = None,
    workers: int = 1,
    style: str = "shapes",
) -> Path:
    """Write ``num_images`` synthetic images and their COCO annotations under ``dst``.

    ``image_size`` is the longer side in pixels (the shorter one varies between 75 % and 100 % of it).
    ``workers`` > 1 renders images in that many processes; every image has its own seed, so the
    output is byte for byte the same as with one worker. ``style`` is ``"shapes"`` (the demo's four
    classes, at most 5 objects an image unless ``max_objects`` says) or ``"pretrain"``
    (``PRETRAIN_CLASS_NAMES``, at most 8). Returns the path of
    ``dst/annotations.json``. Raises ``ValueError`` for a non-positive count, an image size under
    32 pixels or an unknown style.
    """
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; choose one of: {', '.join(STYLES)}")
    if num_images < 1:
        raise ValueError(f"--images must be at least 1, got {num_images}")
    if image_size < 32:
        raise ValueError(f"image size must be at least 32 pixels, got {image_size}")
    root = Path(dst)
    (root / IMAGES_DIR).mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    names = CLASS_NAMES if style == "shapes" else PRETRAIN_CLASS_NAMES
    if max_objects is None:
        max_objects = 5 if style == "shapes" else 8
    job = functools.partial(_write_image, root, seed, image_size, max_objects, style)
    if workers > 1 and num_images > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(job, range(num_images), chunksize=max(1, num_images // (8 * workers))))
    else:
        results = [job(index) for index in range(num_images)]
    for index, (file_name, width, height, boxes) in enumerate(results):
        images.append({"id": index + 1, "file_name": file_name, "width": width, "height": height})
        for label, (x1, y1, x2, y2) in boxes:
            annotations.append({
                "id": len(annotations) + 1,
                "image_id": index + 1,
                "category_id": names.index(label) + 1,
                "bbox": [x1, y1, x2 - x1, y2 - y1],
                "area": (x2 - x1) * (y2 - y1),
                "iscrowd": 0,
            })
    coco = {
        "info": {"description": f"RetinaLab synthetic {style}, seed {seed}"},
        "images": images,
        "annotations": annotations,
        "categories": [{"id": i + 1, "name": n, "supercategory": "shape"} for i, n in enumerate(names)],
    }
    path = root / ANNOTATIONS_FILE
    write_text_atomic(path, json.dumps(coco, indent=1))
    logger.info("wrote %d images with %d boxes to %s", num_images, len(annotations), root)
    return path


def _write_image(
    root: Path, seed: int, image_size: int, max_objects: int, style: str, index: int
) -> tuple[str, int, int, list[tuple[str, tuple[float, float, float, float]]]]:
    """Render image ``index`` of the dataset, save it under ``root`` and return its record."""
    rng = np.random.default_rng([seed, index])
    render = render_image if style == "shapes" else render_pretrain_image
    image, boxes = render(rng, image_size=image_size, max_objects=max_objects)
    file_name = f"{IMAGES_DIR}/{index:06d}.jpg"
    image.save(root / file_name, quality=92)
    return file_name, image.width, image.height, boxes


def render_image(
    rng: np.random.Generator, *, image_size: int = 256, max_objects: int = 5
) -> tuple[Image.Image, list[tuple[str, tuple[float, float, float, float]]]]:
    """One RGB image and its ``(label, (x1, y1, x2, y2))`` boxes in pixels (visible extent)."""
    short = int(round(image_size * rng.uniform(0.75, 1.0)))
    width, height = (image_size, short) if rng.random() < 0.5 else (short, image_size)
    image = _background(rng, width, height)
    num_objects = 0 if rng.random() < _EMPTY_FRACTION else int(rng.integers(1, max_objects + 1))
    owner = np.full((height, width), -1, dtype=np.int32)  # which object each pixel shows
    labels, full_areas = [], []
    draw = ImageDraw.Draw(image)
    for k in range(num_objects):
        label = CLASS_NAMES[int(rng.integers(len(CLASS_NAMES)))]
        size = rng.uniform(0.12, 0.42) * min(width, height)
        aspect = rng.uniform(0.65, 1.5)
        cx, cy = rng.uniform(0.1, 0.9) * width, rng.uniform(0.1, 0.9) * height
        points = _shape_points(label, rng, cx, cy, size, aspect)
        mask = Image.new("L", (width, height), 0)
        ImageDraw.Draw(mask).polygon(points, fill=255)
        mask_np = np.asarray(mask) > 127
        if mask_np.sum() < 16:
            continue
        fill = _object_colour(rng)
        draw.polygon(points, fill=fill, outline=tuple(int(c * 0.5) for c in fill) if rng.random() < 0.5 else None)
        if rng.random() < 0.4:  # a highlight so objects are not flat colour
            hx, hy, r = cx - size * 0.12, cy - size * 0.12, size * 0.08
            draw.ellipse([hx - r, hy - r, hx + r, hy + r], fill=tuple(min(255, c + 60) for c in fill))
        owner[mask_np] = len(labels)
        labels.append(label)
        full_areas.append(int(mask_np.sum()))
    _clutter(rng, draw, width, height, foreground=True)
    image = image.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.0, 0.8))))
    pixels = np.asarray(image).astype(np.int16)
    pixels += rng.normal(0, rng.uniform(2, 8), size=pixels.shape).astype(np.int16)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)), visible_boxes(owner, labels, full_areas)


def _shape_points(
    label: str, rng: np.random.Generator, cx: float, cy: float, size: float, aspect: float
) -> list[tuple[float, float]]:
    """Polygon of one shape (circles as 48-gons), stretched by ``aspect`` and rotated."""
    r = size / 2
    if label == "circle":
        angles = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        radii = np.full_like(angles, r)
    elif label == "square":
        angles = np.array([0.25, 0.75, 1.25, 1.75]) * np.pi
        radii = np.full(4, r * math.sqrt(2) * 0.8)
    elif label == "triangle":
        angles = np.array([-0.5, 1 / 6, 5 / 6]) * np.pi
        radii = np.full(3, r * 1.1)
    else:  # star: five points, inner radius 45 %
        angles = np.arange(10) * np.pi / 5 - np.pi / 2
        radii = np.where(np.arange(10) % 2 == 0, r * 1.1, r * 0.45)
    xs, ys = radii * np.cos(angles) * math.sqrt(aspect), radii * np.sin(angles) / math.sqrt(aspect)
    theta = rng.uniform(0, 2 * np.pi) if label != "circle" else 0.0
    c, s = math.cos(theta), math.sin(theta)
    return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in zip(xs, ys)]


def _object_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    """A saturated colour (HSV with S, V high) so objects stand out from the muted backgrounds."""
    h, s, v = rng.uniform(0, 1), rng.uniform(0.6, 1.0), rng.uniform(0.55, 1.0)
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    rgb = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return tuple(int(255 * c) for c in rgb)  # type: ignore[return-value]


def _background(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A muted textured background: gradient plus stripes, checkers or blotches, plus clutter."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = rng.uniform(60, 190, size=3)
    tint = rng.uniform(-50, 50, size=3)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * xx / width + np.sin(angle) * yy / height)[..., None]
    pixels = base + tint * ramp
    kind = rng.integers(4)
    if kind == 0:  # stripes
        period, phase = rng.uniform(6, 40), rng.uniform(0, 2 * np.pi)
        a = rng.uniform(0, np.pi)
        wave = np.sin((np.cos(a) * xx + np.sin(a) * yy) * 2 * np.pi / period + phase)
        pixels = pixels + rng.uniform(8, 30) * wave[..., None]
    elif kind == 1:  # checkers
        cell = rng.uniform(8, 32)
        check = ((xx // cell + yy // cell) % 2) * 2 - 1
        pixels = pixels + rng.uniform(8, 25) * check[..., None]
    elif kind == 2:  # low-frequency blotches
        small = rng.normal(0, 1, size=(max(2, height // 32), max(2, width // 32), 3))
        blot = np.asarray(
            Image.fromarray(((small - small.min()) / (np.ptp(small) + 1e-6) * 255).astype(np.uint8)).resize(
                (width, height), Image.BICUBIC
            ),
            dtype=np.float32,
        )
        pixels = pixels + (blot - 128) * rng.uniform(0.15, 0.35)
    pixels = pixels + rng.normal(0, rng.uniform(3, 12), size=pixels.shape)
    # desaturate towards grey so the saturated objects remain the salient thing
    grey = pixels.mean(axis=2, keepdims=True)
    pixels = grey + (pixels - grey) * rng.uniform(0.2, 0.6)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    _clutter(rng, ImageDraw.Draw(image), width, height, foreground=False)
    return image


def _clutter(rng: np.random.Generator, draw: ImageDraw.ImageDraw, width: int, height: int, *, foreground: bool) -> None:
    """Lines, arcs and specks that are not objects (a few also over the objects when ``foreground``)."""
    count = int(rng.integers(0, 4 if foreground else 12))
    for _ in range(count):
        grey = int(rng.uniform(20, 235))
        colour = (grey, grey, grey) if rng.random() < 0.6 else _object_colour(rng)
        x0, y0 = rng.uniform(0, width), rng.uniform(0, height)
        x1, y1 = x0 + rng.normal(0, width / 3), y0 + rng.normal(0, height / 3)
        kind = rng.integers(3)
        if kind == 0:
            draw.line([(x0, y0), (x1, y1)], fill=colour, width=int(rng.integers(1, 4)))
        elif kind == 1:
            box = [min(x0, x1), min(y0, y1), max(x0, x1) + 2, max(y0, y1) + 2]
            start = rng.uniform(0, 360)
            draw.arc(box, start, start + rng.uniform(30, 160), fill=colour, width=int(rng.integers(1, 3)))
        else:
            r = rng.uniform(1, 3)
            draw.ellipse([x0 - r, y0 - r, x0 + r, y0 + r], fill=colour)
