"""Procedural pretraining images: varied object-like things on natural-looking fields, for transfer.

The demo shapes (``engine.synth``) teach four flat shapes; these images are made so that the features
a detector learns on them carry over to photographs (Baradad et al., "Learning to See by Looking at
Noise", NeurIPS 2021). Each image draws a background from one of several generators — coloured
1/f^β noise (the power spectrum of natural images), "dead leaves" (many occluding discs and
rectangles at all scales), textured gradients — under random lighting. On it go 0-8 objects from eight
families (``PRETRAIN_CLASS_NAMES``: smooth blobs, ellipses, random polygons, rectangles, rings, spiky
stars, four-legged "creatures", bars), each filled with a solid colour, a gradient, noise, stripes or
spots, shaded as if lit from one side, some with a soft shadow. Unlabelled leaves and lines may cover
objects afterwards; an object's box is the tight box of its visible pixels and objects left less than
40 % visible are dropped. Finally blur, sensor noise, a colour cast, gamma and a vignette.
``engine.synth.make_demo_dataset(style="pretrain")`` writes these as COCO, deterministic per seed.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

PRETRAIN_CLASS_NAMES: tuple[str, ...] = (
    "blob", "ellipse", "polygon", "rectangle", "ring", "spiky", "creature", "bar",
)
_MIN_VISIBLE = 0.4
_EMPTY_FRACTION = 0.08
Boxes = list[tuple[str, tuple[float, float, float, float]]]


def render_pretrain_image(
    rng: np.random.Generator, *, image_size: int = 320, max_objects: int = 8
) -> tuple[Image.Image, Boxes]:
    """One RGB image and its ``(family, (x1, y1, x2, y2))`` boxes in pixels (visible extent)."""
    short = int(round(image_size * rng.uniform(0.7, 1.0)))
    width, height = (image_size, short) if rng.random() < 0.5 else (short, image_size)
    pixels = _background(rng, height, width)
    owner = np.full((height, width), -1, dtype=np.int32)
    labels: list[str] = []
    full_areas: list[int] = []
    count = 0 if rng.random() < _EMPTY_FRACTION else int(rng.integers(1, max_objects + 1))
    for _ in range(count):
        family = PRETRAIN_CLASS_NAMES[int(rng.integers(len(PRETRAIN_CLASS_NAMES)))]
        # sizes from small (P3) to large (P6/P7): log-uniform share of the shorter side
        size = math.exp(rng.uniform(math.log(0.06), math.log(0.7))) * min(width, height)
        cx, cy = rng.uniform(0.05, 0.95) * width, rng.uniform(0.05, 0.95) * height
        mask = _object_mask(family, rng, width, height, cx, cy, size)
        area = int(mask.sum())
        if area < 24:
            continue
        if rng.random() < 0.4:
            pixels = _shadow(rng, pixels, mask, size)
        fill = _object_fill(rng, height, width, mask, size)
        alpha = mask[..., None]
        pixels = np.where(alpha, fill, pixels)
        owner[mask] = len(labels)
        labels.append(family)
        full_areas.append(area)
    if labels and rng.random() < 0.5:  # unlabelled things in front: occlusion by what is not an object
        occluders = _leaves_mask(rng, height, width, int(rng.integers(1, 5)), max_share=0.25)
        if occluders.any():
            pixels = np.where(occluders[..., None], _texture(rng, height, width), pixels)
            owner[occluders] = -1
    pixels = _lines(rng, pixels, int(rng.integers(0, 4)))
    return Image.fromarray(_finish(rng, pixels)), visible_boxes(owner, labels, full_areas)


def visible_boxes(owner: np.ndarray, labels: list[str], full_areas: list[int]) -> Boxes:
    """The tight box of each object's visible pixels (``owner`` holds the object index per pixel),
    leaving out objects under 40 % visible or under 16 pixels."""
    boxes: Boxes = []
    for k, label in enumerate(labels):
        ys, xs = np.nonzero(owner == k)
        if len(xs) < _MIN_VISIBLE * full_areas[k] or len(xs) < 16:
            continue
        boxes.append((label, (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))))
    return boxes


# -- fields and textures (float32 HxWx3 in 0..255) -------------------------------------------------

def _spectral_noise(rng: np.random.Generator, height: int, width: int, beta: float) -> np.ndarray:
    """A noise field with amplitude spectrum 1/f^beta, scaled to 0..1 (natural images: beta near 1)."""
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    radius = np.sqrt(fx * fx + fy * fy)
    radius[0, 0] = 1.0
    spectrum = (rng.normal(size=radius.shape) + 1j * rng.normal(size=radius.shape)) / radius ** beta
    spectrum[0, 0] = 0.0
    field = np.fft.irfft2(spectrum, s=(height, width)).astype(np.float32)
    lo, hi = np.percentile(field, (1, 99))
    return np.clip((field - lo) / (hi - lo + 1e-6), 0.0, 1.0)


def _random_colour(rng: np.random.Generator, *, saturated: bool = False) -> np.ndarray:
    """An RGB colour: muted or saturated hue, any brightness."""
    h = rng.uniform(0, 1)
    s = rng.uniform(0.5, 1.0) if saturated else rng.uniform(0.0, 0.8)
    v = rng.uniform(0.25, 1.0)
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    rgb = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return np.array(rgb, dtype=np.float32) * 255.0


def _ramp_colours(rng: np.random.Generator, field: np.ndarray, *, saturated: bool = False) -> np.ndarray:
    """Map a 0..1 field through a random 2-4 stop colour ramp."""
    stops = int(rng.integers(2, 5))
    colours = np.stack([_random_colour(rng, saturated=saturated) for _ in range(stops)])
    positions = field * (stops - 1)
    low = np.clip(np.floor(positions).astype(np.int32), 0, stops - 2)
    frac = (positions - low)[..., None]
    return colours[low] * (1 - frac) + colours[low + 1] * frac


def _texture(rng: np.random.Generator, height: int, width: int, *, saturated: bool = False) -> np.ndarray:
    """A full-frame fill: solid, gradient, coloured noise, stripes or spots."""
    kind = int(rng.integers(5))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    if kind == 0:  # solid with a faint grain
        base = np.broadcast_to(_random_colour(rng, saturated=saturated), (height, width, 3)).astype(np.float32)
        return base + rng.normal(0, rng.uniform(1, 6), size=(height, width, 1)).astype(np.float32)
    if kind == 1:  # linear gradient
        angle = rng.uniform(0, 2 * math.pi)
        ramp = (math.cos(angle) * xx + math.sin(angle) * yy) / max(width, height)
        ramp = (ramp - ramp.min()) / (np.ptp(ramp) + 1e-6)
        return _ramp_colours(rng, ramp, saturated=saturated)
    if kind == 2:  # coloured noise (fur, bark, foliage-like)
        return _ramp_colours(rng, _spectral_noise(rng, height, width, rng.uniform(0.7, 1.6)), saturated=saturated)
    if kind == 3:  # stripes, straight or wavy
        period, angle = rng.uniform(3, 30), rng.uniform(0, math.pi)
        u = math.cos(angle) * xx + math.sin(angle) * yy
        if rng.random() < 0.5:
            u = u + rng.uniform(2, 12) * np.sin(yy / rng.uniform(8, 40))
        wave = 0.5 + 0.5 * np.sin(u * 2 * math.pi / period)
        if rng.random() < 0.5:
            wave = (wave > 0.5).astype(np.float32)
        return _ramp_colours(rng, wave, saturated=saturated)
    # spots: thresholded smooth noise (leopard, dalmatian, lichen)
    field = _spectral_noise(rng, height, width, rng.uniform(1.4, 2.2))
    spots = (field > rng.uniform(0.45, 0.7)).astype(np.float32)
    return _ramp_colours(rng, spots, saturated=saturated)


def _leaves_mask(rng: np.random.Generator, height: int, width: int, count: int, *, max_share: float) -> np.ndarray:
    """Union of ``count`` random discs and rectangles, each at most ``max_share`` of the shorter side."""
    mask = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(mask)
    for _ in range(count):
        r = math.exp(rng.uniform(math.log(0.02), math.log(max_share))) * min(width, height)
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        if rng.random() < 0.6:
            draw.ellipse([x - r, y - r * rng.uniform(0.5, 1.5), x + r, y + r], fill=255)
        else:
            draw.rectangle([x - r, y - r * rng.uniform(0.3, 1.5), x + r * rng.uniform(0.3, 1.5), y + r], fill=255)
    return np.asarray(mask) > 127


def _dead_leaves(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Occluding leaves of many sizes, each its own colour, over a base texture."""
    pixels = _texture(rng, height, width)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(20, 120))):
        r = math.exp(rng.uniform(math.log(0.01), math.log(0.3))) * min(width, height)
        x, y = rng.uniform(-r, width + r), rng.uniform(-r, height + r)
        colour = tuple(int(c) for c in _random_colour(rng))
        if rng.random() < 0.7:
            draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
        else:
            draw.rectangle([x - r, y - r * rng.uniform(0.3, 1.0), x + r, y + r], fill=colour)
    return np.asarray(image, dtype=np.float32)


def _background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    kind = rng.random()
    if kind < 0.4:
        pixels = _ramp_colours(rng, _spectral_noise(rng, height, width, rng.uniform(0.9, 2.0)))
    elif kind < 0.7:
        pixels = _dead_leaves(rng, height, width)
    else:
        pixels = _texture(rng, height, width)
    if rng.random() < 0.5:  # a second field blended in (texture on texture)
        other = _ramp_colours(rng, _spectral_noise(rng, height, width, rng.uniform(0.8, 1.5)))
        pixels = pixels * 0.7 + other * 0.3
    return pixels.astype(np.float32)


# -- objects ----------------------------------------------------------------------------------------

def _object_mask(family: str, rng: np.random.Generator, width: int, height: int,
                 cx: float, cy: float, size: float) -> np.ndarray:
    """Boolean mask of one object of ``family`` centred near (cx, cy), about ``size`` pixels across."""
    mask = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(mask)
    r = size / 2
    theta = rng.uniform(0, 2 * math.pi)
    aspect = math.exp(rng.uniform(-0.5, 0.5))

    def polygon(angles: np.ndarray, radii: np.ndarray, stretch: float = aspect) -> list[tuple[float, float]]:
        xs, ys = radii * np.cos(angles) * math.sqrt(stretch), radii * np.sin(angles) / math.sqrt(stretch)
        c, s = math.cos(theta), math.sin(theta)
        return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in zip(xs, ys)]

    angles = np.linspace(0, 2 * math.pi, 64, endpoint=False)
    if family == "blob":
        radii = np.full(64, r)
        for k in range(2, 6):
            radii = radii * (1 + rng.uniform(0, 0.3 / k * 2) * np.cos(k * angles + rng.uniform(0, 2 * math.pi)))
        draw.polygon(polygon(angles, radii), fill=255)
    elif family == "ellipse":
        draw.polygon(polygon(angles, np.full(64, r), stretch=math.exp(rng.uniform(-1.0, 1.0))), fill=255)
    elif family == "polygon":
        n = int(rng.integers(3, 9))
        corners = np.sort(rng.uniform(0, 2 * math.pi, size=n))
        draw.polygon(polygon(corners, r * rng.uniform(0.55, 1.0, size=n)), fill=255)
    elif family == "rectangle":
        corners = np.array([0.25, 0.75, 1.25, 1.75]) * math.pi
        draw.polygon(polygon(corners, np.full(4, r * 1.2), stretch=math.exp(rng.uniform(-1.2, 1.2))), fill=255)
    elif family == "ring":
        stretch = math.exp(rng.uniform(-0.6, 0.6))
        draw.polygon(polygon(angles, np.full(64, r), stretch), fill=255)
        draw.polygon(polygon(angles, np.full(64, r * rng.uniform(0.35, 0.7)), stretch), fill=0)
    elif family == "spiky":
        n = int(rng.integers(5, 13))
        spikes = np.arange(2 * n) * math.pi / n
        radii = np.where(np.arange(2 * n) % 2 == 0, r, r * rng.uniform(0.3, 0.65))
        draw.polygon(polygon(spikes, radii), fill=255)
    elif family == "creature":
        _creature(draw, rng, cx, cy, r, theta)
    else:  # bar: a long thin rounded stick
        length, thick = r * 1.6, max(2.0, r * rng.uniform(0.12, 0.3))
        dx, dy = math.cos(theta) * length / 2, math.sin(theta) * length / 2
        draw.line([(cx - dx, cy - dy), (cx + dx, cy + dy)], fill=255, width=int(thick))
        for sx, sy in ((cx - dx, cy - dy), (cx + dx, cy + dy)):
            draw.ellipse([sx - thick / 2, sy - thick / 2, sx + thick / 2, sy + thick / 2], fill=255)
    return np.asarray(mask) > 127


def _creature(draw: ImageDraw.ImageDraw, rng: np.random.Generator, cx: float, cy: float, r: float,
              theta: float) -> None:
    """A body, a head, legs and maybe a tail: the silhouette of a four-legged animal seen from the side."""
    flip = -1.0 if rng.random() < 0.5 else 1.0
    body_w, body_h = r * rng.uniform(0.7, 1.0), r * rng.uniform(0.3, 0.5)
    c, s = math.cos(theta * 0.2), math.sin(theta * 0.2)  # animals are mostly upright

    def at(x: float, y: float) -> tuple[float, float]:
        return cx + (x * flip) * c - y * s, cy + (x * flip) * s + y * c

    body = [at(body_w * math.cos(a), body_h * math.sin(a)) for a in np.linspace(0, 2 * math.pi, 32)]
    draw.polygon(body, fill=255)
    head_r = body_h * rng.uniform(0.5, 0.9)
    hx, hy = at(body_w * 0.95, -body_h * rng.uniform(0.4, 1.1))
    draw.ellipse([hx - head_r, hy - head_r, hx + head_r, hy + head_r], fill=255)
    leg = max(2, int(body_h * rng.uniform(0.25, 0.4)))
    for fx in (-0.7, -0.45, 0.45, 0.7)[: int(rng.integers(2, 5))]:
        x0, y0 = at(body_w * fx, body_h * 0.6)
        x1, y1 = at(body_w * (fx + rng.uniform(-0.15, 0.15)), body_h * rng.uniform(1.5, 2.3))
        draw.line([(x0, y0), (x1, y1)], fill=255, width=leg)
    if rng.random() < 0.6:
        x0, y0 = at(-body_w * 0.9, -body_h * 0.2)
        x1, y1 = at(-body_w * rng.uniform(1.2, 1.5), -body_h * rng.uniform(-0.5, 1.0))
        draw.line([(x0, y0), (x1, y1)], fill=255, width=max(2, leg // 2))


def _object_fill(rng: np.random.Generator, height: int, width: int, mask: np.ndarray, size: float) -> np.ndarray:
    """The object's texture, shaded as if lit from one side (a dome from the blurred mask)."""
    fill = _texture(rng, height, width, saturated=rng.random() < 0.5)
    # always shaded: flat discs are the background's "leaves", shaded things are objects
    dome = Image.fromarray(mask.astype(np.uint8) * 255).filter(ImageFilter.GaussianBlur(max(1.0, size / 6)))
    dome_np = np.asarray(dome, dtype=np.float32) / 255.0
    gy, gx = np.gradient(dome_np)
    angle = rng.uniform(0, 2 * math.pi)
    light = (math.cos(angle) * gx + math.sin(angle) * gy) * size * rng.uniform(0.5, 1.5)
    shade = np.clip(0.55 + 0.45 * dome_np + light, 0.3, 1.4)
    return fill * shade[..., None]


def _shadow(rng: np.random.Generator, pixels: np.ndarray, mask: np.ndarray, size: float) -> np.ndarray:
    """Darken a blurred, offset copy of the object's mask on what lies beneath it."""
    dx, dy = (int(v) for v in rng.uniform(-0.15, 0.15, size=2) * size)
    shifted = np.roll(np.roll(mask, dy, axis=0), dx, axis=1)
    soft = Image.fromarray(shifted.astype(np.uint8) * 255).filter(ImageFilter.GaussianBlur(max(1.0, size / 10)))
    darkness = np.asarray(soft, dtype=np.float32)[..., None] / 255.0 * rng.uniform(0.25, 0.6)
    return pixels * (1.0 - darkness)


def _lines(rng: np.random.Generator, pixels: np.ndarray, count: int) -> np.ndarray:
    """Thin lines and arcs (twigs, wires, edges) that are not objects."""
    if count == 0:
        return pixels
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    height, width = pixels.shape[:2]
    for _ in range(count):
        colour = tuple(int(c) for c in _random_colour(rng))
        x0, y0 = rng.uniform(0, width), rng.uniform(0, height)
        x1, y1 = x0 + rng.normal(0, width / 3), y0 + rng.normal(0, height / 3)
        if rng.random() < 0.6:
            draw.line([(x0, y0), (x1, y1)], fill=colour, width=int(rng.integers(1, 4)))
        else:
            box = [min(x0, x1), min(y0, y1), max(x0, x1) + 2, max(y0, y1) + 2]
            start = rng.uniform(0, 360)
            draw.arc(box, start, start + rng.uniform(30, 200), fill=colour, width=int(rng.integers(1, 3)))
    return np.asarray(image, dtype=np.float32)


def _finish(rng: np.random.Generator, pixels: np.ndarray) -> np.ndarray:
    """Lighting and camera: vignette or light gradient, colour cast, gamma, contrast, blur, noise."""
    height, width = pixels.shape[:2]
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    if rng.random() < 0.5:  # directional light across the scene
        angle = rng.uniform(0, 2 * math.pi)
        ramp = (math.cos(angle) * (xx / width - 0.5) + math.sin(angle) * (yy / height - 0.5))
        pixels = pixels * (1.0 + rng.uniform(0.1, 0.6) * ramp)[..., None]
    if rng.random() < 0.3:  # vignette
        d = ((xx / width - 0.5) ** 2 + (yy / height - 0.5) ** 2) * 2
        pixels = pixels * (1.0 - rng.uniform(0.1, 0.5) * d)[..., None]
    pixels = pixels * rng.uniform(0.8, 1.2, size=3).astype(np.float32)  # colour cast
    contrast, brightness = rng.uniform(0.6, 1.3), rng.uniform(-30, 30)
    pixels = (pixels - 128.0) * contrast + 128.0 + brightness
    gamma = math.exp(rng.uniform(-0.4, 0.4))
    pixels = 255.0 * (np.clip(pixels, 0, 255) / 255.0) ** gamma
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    blur = rng.uniform(0.0, 1.2) if rng.random() < 0.6 else 0.0
    if blur > 0.2:
        image = image.filter(ImageFilter.GaussianBlur(radius=blur))
    out = np.asarray(image).astype(np.float32)
    out += rng.normal(0, rng.uniform(1, 10), size=out.shape).astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)
