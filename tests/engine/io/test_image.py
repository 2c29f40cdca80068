"""load_image / read_image_size / list_images: EXIF orientation, colour modes, broken files."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import engine.io.image as image_mod
from engine.errors import DatasetError, ImageLoadError
from engine.io import IMAGE_EXTENSIONS, list_images, load_image, read_image_size

# Upright test picture: 48 wide, 32 tall, four flat quadrants so JPEG noise cannot move them.
QUADRANTS = {
    "tl": (255, 0, 0),
    "tr": (0, 200, 0),
    "bl": (0, 0, 255),
    "br": (255, 255, 255),
}
# For orientation o, the stored pixels are the upright ones transformed by the inverse of the
# transform a viewer applies (EXIF spec); 6 and 8 are each other's inverse, the rest self-inverse.
STORE_TRANSFORM = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def _upright() -> Image.Image:
    a = np.zeros((32, 48, 3), np.uint8)
    a[:16, :24] = QUADRANTS["tl"]
    a[:16, 24:] = QUADRANTS["tr"]
    a[16:, :24] = QUADRANTS["bl"]
    a[16:, 24:] = QUADRANTS["br"]
    return Image.fromarray(a)


def _assert_upright(rgb: np.ndarray) -> None:
    assert rgb.shape == (32, 48, 3) and rgb.dtype == np.uint8
    for (y, x), key in (((8, 12), "tl"), ((8, 36), "tr"), ((24, 12), "bl"), ((24, 36), "br")):
        assert np.abs(rgb[y, x].astype(int) - QUADRANTS[key]).max() <= 12, (key, rgb[y, x])


def _save_with_orientation(path: Path, orientation: int, fmt: str = "JPEG") -> None:
    im = _upright()
    if orientation in STORE_TRANSFORM:
        im = im.transpose(STORE_TRANSFORM[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    im.save(path, fmt, exif=exif.tobytes(), **({"quality": 95} if fmt == "JPEG" else {}))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_jpeg_exif_orientation_lands_upright(tmp_path: Path, orientation: int) -> None:
    path = tmp_path / f"o{orientation}.jpg"
    _save_with_orientation(path, orientation)
    _assert_upright(load_image(path))
    assert read_image_size(path) == (48, 32)


@pytest.mark.parametrize("orientation", [3, 6, 7])
@pytest.mark.parametrize("fmt,ext", [("PNG", "png"), ("WEBP", "webp"), ("TIFF", "tif")])
def test_exif_orientation_in_other_formats(
    tmp_path: Path, orientation: int, fmt: str, ext: str
) -> None:
    path = tmp_path / f"o{orientation}.{ext}"
    _save_with_orientation(path, orientation, fmt)
    _assert_upright(load_image(path))
    assert read_image_size(path) == (48, 32)


def test_jpeg_fast_path_matches_pillow_pixels(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "noise.jpg"
    Image.fromarray(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)).save(path, quality=90)
    ours = load_image(path)
    with Image.open(path) as im:
        pil = np.asarray(im.convert("RGB"))
    assert ours.shape == pil.shape
    assert np.abs(ours.astype(int) - pil.astype(int)).mean() < 2.0


def test_broken_exif_orientation_value_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "bad_orientation.jpg"
    exif = Image.Exif()
    exif[0x0112] = 42
    _upright().save(path, exif=exif.tobytes(), quality=95)
    _assert_upright(load_image(path))
    assert read_image_size(path) == (48, 32)


def _grey_ramp(dtype: type = np.uint8, hi: int = 255) -> np.ndarray:
    return np.linspace(0, hi, 20 * 30).reshape(20, 30).astype(dtype)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: Image.fromarray(_grey_ramp()), id="L"),
        pytest.param(lambda: Image.fromarray(_grey_ramp()).convert("1"), id="1"),
        pytest.param(lambda: Image.fromarray(_grey_ramp()).convert("P"), id="P"),
        pytest.param(lambda: _upright().resize((30, 20)).convert("CMYK"), id="CMYK"),
        pytest.param(lambda: _upright().resize((30, 20)).convert("YCbCr"), id="YCbCr"),
    ],
)
def test_plain_colour_modes_become_rgb(tmp_path: Path, make) -> None:
    im = make()
    path = tmp_path / "img.tif"
    im.save(path)
    rgb = load_image(path)
    assert rgb.shape == (20, 30, 3) and rgb.dtype == np.uint8
    assert np.abs(rgb.astype(int) - np.asarray(im.convert("RGB")).astype(int)).max() <= 2


def test_grayscale_jpeg_and_cmyk_jpeg(tmp_path: Path) -> None:
    Image.fromarray(_grey_ramp()).save(tmp_path / "g.jpg", quality=95)
    rgb = load_image(tmp_path / "g.jpg")
    assert rgb.shape == (20, 30, 3)
    assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
    assert rgb[0].mean() < 20 and rgb[-1].mean() > 235
    _upright().convert("CMYK").save(tmp_path / "c.jpg", quality=95)
    _assert_upright(load_image(tmp_path / "c.jpg"))


def test_rgba_and_la_are_composited_over_white(tmp_path: Path) -> None:
    a = np.zeros((10, 10, 4), np.uint8)
    a[..., 0] = 200  # red-ish where opaque
    a[:, 5:, 3] = 255  # right half opaque, left half fully transparent
    Image.fromarray(a, "RGBA").save(tmp_path / "rgba.png")
    rgb = load_image(tmp_path / "rgba.png")
    assert (rgb[:, :5] == 255).all()
    assert (rgb[:, 5:] == (200, 0, 0)).all()
    la = Image.fromarray(np.stack([np.full((10, 10), 10, np.uint8), a[..., 3]], -1), "LA")
    la.save(tmp_path / "la.png")
    rgb = load_image(tmp_path / "la.png")
    assert (rgb[:, :5] == 255).all() and (rgb[:, 5:] == 10).all()


def test_palette_with_transparency(tmp_path: Path) -> None:
    p = Image.new("P", (8, 8), 0)
    p.putpalette([0, 0, 0, 10, 20, 30] + [0] * (254 * 3))
    p.paste(1, (4, 0, 8, 8))
    p.save(tmp_path / "p.png", transparency=0)
    rgb = load_image(tmp_path / "p.png")
    assert (rgb[:, :4] == 255).all()  # palette index 0 is transparent -> white
    assert (rgb[:, 4:] == (10, 20, 30)).all()


def test_sixteen_bit_is_scaled_not_clipped(tmp_path: Path) -> None:
    ramp = _grey_ramp(np.uint16, 65535)
    Image.fromarray(ramp).save(tmp_path / "g16.png")
    with Image.open(tmp_path / "g16.png") as im:
        assert im.mode.startswith("I;16")
    rgb = load_image(tmp_path / "g16.png")
    assert rgb.shape == (20, 30, 3)
    expected = np.rint(ramp / 257.0)
    assert np.abs(rgb[..., 0].astype(int) - expected).max() <= 1
    assert len(np.unique(rgb)) > 200  # a clip at 255 would leave almost everything white


def test_int32_and_float_images(tmp_path: Path) -> None:
    Image.fromarray(_grey_ramp(np.int32, 65535), "I").save(tmp_path / "i32.tif")
    rgb = load_image(tmp_path / "i32.tif")
    assert rgb[0, 0, 0] == 0 and rgb[-1, -1, 0] == 255 and len(np.unique(rgb)) > 200
    f = np.linspace(0.0, 1.0, 600, dtype=np.float32).reshape(20, 30)
    Image.fromarray(f, "F").save(tmp_path / "f.tif")
    rgb = load_image(tmp_path / "f.tif")
    assert rgb[0, 0, 0] == 0 and rgb[-1, -1, 0] == 255
    wide = (f * 5000.0 - 1000.0).astype(np.float32)
    Image.fromarray(wide, "F").save(tmp_path / "wide.tif")
    rgb = load_image(tmp_path / "wide.tif")
    assert rgb[0, 0, 0] == 0 and rgb[-1, -1, 0] == 255


def _png_header_only(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    idat = b"IDAT" + zlib.compress(b"\x00" * 64)[:8]  # pixel data cut short
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + struct.pack(">I", 64)
        + idat
    )


def _load_error(path: Path) -> str:
    with pytest.raises(ImageLoadError) as info:
        load_image(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    return message


def test_broken_files_raise_one_line_errors(tmp_path: Path) -> None:
    assert "not found" in _load_error(tmp_path / "missing.jpg")
    (tmp_path / "empty.jpg").write_bytes(b"")
    assert "empty" in _load_error(tmp_path / "empty.jpg")
    (tmp_path / "text.png").write_text("hello, not an image\n")
    assert "not a recognised image" in _load_error(tmp_path / "text.png")
    (tmp_path / "folder.jpg").mkdir()
    assert "folder" in _load_error(tmp_path / "folder.jpg")


@pytest.mark.parametrize("ext", ["png", "webp"])  # a cut JPEG decodes partly: tests/engine/hostile
def test_truncated_files_raise(tmp_path: Path, ext: str) -> None:
    rng = np.random.default_rng(1)
    full = tmp_path / f"full.{ext}"
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(full)
    cut = tmp_path / f"cut.{ext}"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    _load_error(cut)


def test_decompression_bomb_is_refused_from_the_header(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_header_only(20_000, 20_000))  # 400 MP claimed in 33 bytes
    assert "limit" in _load_error(bomb)
    with pytest.raises(ImageLoadError, match="limit"):
        read_image_size(bomb)


def test_pixel_limit_applies_to_real_images(tmp_path: Path, monkeypatch) -> None:
    Image.fromarray(_grey_ramp()).save(tmp_path / "small.png")
    monkeypatch.setattr(image_mod, "MAX_IMAGE_PIXELS", 500)
    assert "limit" in _load_error(tmp_path / "small.png")


def test_read_image_size_does_not_decode_pixels(tmp_path: Path) -> None:
    # A header-only PNG has no pixel data at all: decoding would fail, the size must not.
    (tmp_path / "header.png").write_bytes(_png_header_only(640, 480))
    assert read_image_size(tmp_path / "header.png") == (640, 480)
    with pytest.raises(ImageLoadError):
        load_image(tmp_path / "header.png")
    with pytest.raises(ImageLoadError, match="empty"):
        (tmp_path / "e.png").write_bytes(b"")
        read_image_size(tmp_path / "e.png")


def test_list_images(tmp_path: Path) -> None:
    for rel in [
        "b.jpg",
        "a.PNG",
        "sub/c.webp",
        "sub/deeper/d.tiff",
        "notes.txt",
        ".hidden.jpg",
        ".retinalab/thumb.jpg",
        ".git/x.png",
        "sub/.cache/e.jpg",
    ]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    found = [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path)]
    assert found == ["a.PNG", "b.jpg", "sub/c.webp", "sub/deeper/d.tiff"]
    flat = [p.name for p in list_images(tmp_path, recursive=False)]
    assert flat == ["a.PNG", "b.jpg"]
    assert {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"} <= IMAGE_EXTENSIONS
    with pytest.raises(DatasetError, match="not found"):
        list_images(tmp_path / "nope")
