"""Decode image files into upright 8-bit RGB arrays, read their upright size, and list image folders.

Every image the app shows, trains on or predicts on goes through :func:`load_image`, so all readers
agree on one frame: the *upright* image, with the EXIF orientation (tags 1-8) applied. Box coordinates
everywhere in RetinaLab are pixels of that frame, and :func:`read_image_size` reports it from the file
header alone (no pixel decoding), using the same orientation source as :func:`load_image` so the two
can never disagree. JPEGs decode through OpenCV (about twice as fast as Pillow on a 12 MP photo); every
other format, and any JPEG OpenCV rejects, through Pillow. Colour modes are mapped to RGB as a viewer
would show them: grey is replicated, transparency is composited over white, CMYK/YCbCr/LAB are
converted, 16-bit and 32-bit integer images are scaled (not clipped) to 0-255, float images are taken
as 0-1 (or 0-255, or min-max stretched when outside both). A JPEG whose end is missing decodes as far
as its data goes (as viewers show it), with a logged warning. Anything that cannot be decoded raises
:class:`engine.errors.ImageLoadError` with one line naming the file and the reason; FIFOs, devices,
symlink loops and files over ``engine.fsutil.MAX_FILE_BYTES`` are refused before any read.
"""

from __future__ import annotations

import io
import logging
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from engine.errors import DatasetError, ImageLoadError
from engine.fsutil import MAX_FILE_BYTES, file_problem

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
)
"""Lower-case file extensions (with the dot) that :func:`list_images` picks up."""

MAX_IMAGE_PIXELS = 200_000_000
"""Larger images (width x height) are refused as decompression bombs. Everything up to this is
decoded at full size (a square image up to 14,142 px a side); image files larger than
``engine.fsutil.MAX_FILE_BYTES`` (1 GiB) are refused before reading."""

# Pillow warns above its limit and raises above twice it; we refuse anything above ours ourselves
# and turn Pillow's warning into an error, so its limit must not be lower than ours.
if Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS < MAX_IMAGE_PIXELS:
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS

_ORIENTATION_TAG = 0x0112
_JPEG_MAGIC = b"\xff\xd8\xff"


def _fail(path: Path, reason: str) -> ImageLoadError:
    reason = " ".join(str(reason).split()) or "unknown error"
    return ImageLoadError(f"cannot load image {path}: {reason}")


def _read_bytes(path: Path) -> bytes:
    problem = file_problem(path, max_bytes=MAX_FILE_BYTES)
    if problem is not None:
        raise _fail(path, problem)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise _fail(path, "file not found") from None
    except IsADirectoryError:
        raise _fail(path, "is a folder, not an image file") from None
    except OSError as exc:
        raise _fail(path, exc.strerror or str(exc)) from None
    if not data:
        raise _fail(path, "empty file (0 bytes)")
    return data


def _open_header(path: Path, data: bytes | None = None) -> Image.Image:
    """Pillow's lazy open (header only), with the size checked against ``MAX_IMAGE_PIXELS``."""
    if data is None:
        problem = file_problem(path, max_bytes=None)  # a FIFO would block the open for ever
        if problem is not None:
            raise _fail(path, problem)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data)) if data is not None else Image.open(path)
    except FileNotFoundError:
        raise _fail(path, "file not found") from None
    except IsADirectoryError:
        raise _fail(path, "is a folder, not an image file") from None
    except UnidentifiedImageError:
        if data is not None and not data:
            raise _fail(path, "empty file (0 bytes)") from None
        if data is None and path.is_file() and path.stat().st_size == 0:
            raise _fail(path, "empty file (0 bytes)") from None
        raise _fail(path, "not a recognised image format") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _fail(path, f"larger than the {MAX_IMAGE_PIXELS:,}-pixel limit") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise _fail(path, str(exc)) from None
    width, height = im.size
    if width <= 0 or height <= 0:
        raise _fail(path, f"invalid size {width}x{height}")
    if width * height > MAX_IMAGE_PIXELS:
        im.close()
        raise _fail(
            path, f"{width}x{height} is larger than the {MAX_IMAGE_PIXELS:,}-pixel limit"
        )
    return im


def _orientation(im: Image.Image) -> int:
    """EXIF orientation 1-8 from the header (1 when absent or invalid); never decodes pixels."""
    value = None
    try:
        tags = getattr(im, "tag_v2", None)  # TIFF keeps it as a plain tag
        if tags is not None:
            value = tags.get(_ORIENTATION_TAG)
        if value is None:
            raw = im.info.get("exif")
            if raw:
                exif = Image.Exif()
                exif.load(raw)
                value = exif.get(_ORIENTATION_TAG)
    except Exception:  # a broken EXIF block must not make the image unreadable
        log.debug("ignoring unreadable EXIF block", exc_info=True)
        return 1
    try:
        value = int(value) if value is not None else 1
    except (TypeError, ValueError):
        return 1
    return value if 1 <= value <= 8 else 1


def _apply_orientation(rgb: np.ndarray, orientation: int) -> np.ndarray:
    """Turn a stored (H, W, 3) array upright for EXIF ``orientation`` (same as ImageOps.exif_transpose)."""
    if orientation == 1:
        return rgb
    import cv2

    if orientation == 2:
        out = cv2.flip(rgb, 1)
    elif orientation == 3:
        out = cv2.rotate(rgb, cv2.ROTATE_180)
    elif orientation == 4:
        out = cv2.flip(rgb, 0)
    elif orientation == 5:
        out = cv2.transpose(rgb)
    elif orientation == 6:
        out = cv2.rotate(rgb, cv2.ROTATE_90_CLOCKWISE)
    elif orientation == 7:
        out = cv2.rotate(cv2.transpose(rgb), cv2.ROTATE_180)
    else:  # 8
        out = cv2.rotate(rgb, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return np.ascontiguousarray(out)


def _jpeg_complete(data: bytes) -> bool:
    """True when the JPEG ends with its end-of-image marker (allowing some trailing padding)."""
    return data[-4096:].rstrip(b"\x00\r\n \t").endswith(b"\xff\xd9")


def _decode_jpeg_cv2(data: bytes, width: int, height: int, path: Path) -> np.ndarray | None:
    """OpenCV decode of a JPEG to RGB in stored orientation; None to fall back to Pillow.

    A JPEG whose end is missing (a cut-off download or copy) is decoded as far as its data goes,
    as image viewers show it (the rest comes out grey), with a warning naming the file.
    """
    if not data.startswith(_JPEG_MAGIC):
        return None
    complete = _jpeg_complete(data)
    if not complete:
        data = data + b"\xff\xd9"  # an end-of-image marker: libjpeg then stops where the data does
    try:
        import cv2

        buf = np.frombuffer(data, dtype=np.uint8)
        rgb = cv2.imdecode(buf, cv2.IMREAD_COLOR_RGB | cv2.IMREAD_IGNORE_ORIENTATION)
    except Exception:
        log.debug("OpenCV could not decode a JPEG; falling back to Pillow", exc_info=True)
        return None
    if rgb is None or rgb.dtype != np.uint8 or rgb.shape != (height, width, 3):
        return None
    if not complete:
        log.warning("%s: truncated JPEG (the end of the file is missing); decoded the part that is "
                    "there, the rest is grey", path)
    return rgb


LARGE_PNG_PIXELS = 40_000_000
"""Plain RGB PNGs this large decode through OpenCV straight into the array: Pillow holds them at
4 bytes a pixel and then copies, 1.9 GB instead of 1.2 GB at 14000 x 14000 (same pixels: PNG is lossless)."""


def _decode_png_cv2(data: bytes, width: int, height: int) -> np.ndarray | None:
    """OpenCV decode of an opaque RGB PNG; None to fall back to Pillow."""
    try:
        import cv2

        rgb = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR_RGB | cv2.IMREAD_IGNORE_ORIENTATION)
    except Exception:
        log.debug("OpenCV could not decode a PNG; falling back to Pillow", exc_info=True)
        return None
    if rgb is None or rgb.dtype != np.uint8 or rgb.shape != (height, width, 3):
        return None
    return rgb


def _scale_to_uint8(a: np.ndarray, *, bits16: bool) -> np.ndarray:
    """Map a single-channel integer or float array to uint8 without clipping the usual ranges."""
    if bits16:
        return ((a.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    if np.issubdtype(a.dtype, np.floating):
        a = np.nan_to_num(a.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        lo, hi = float(a.min()), float(a.max())
        if lo >= 0.0 and hi <= 1.0:
            return np.rint(a * 255.0).astype(np.uint8)
        if lo >= 0.0 and hi <= 255.0:
            return np.rint(a).astype(np.uint8)
    else:
        lo, hi = int(a.min()), int(a.max())
        if lo >= 0 and hi <= 255:
            return a.astype(np.uint8)
        if lo >= 0 and hi <= 65535:
            return _scale_to_uint8(a, bits16=True)
    span = (hi - lo) or 1.0
    return np.rint((a.astype(np.float64) - lo) * (255.0 / span)).astype(np.uint8)


def _composite_over_white(rgba: np.ndarray) -> np.ndarray:
    rgb = rgba[..., :3].astype(np.uint16)
    alpha = rgba[..., 3:4].astype(np.uint16)
    out = (rgb * alpha + 255 * (255 - alpha) + 127) // 255
    return out.astype(np.uint8)


def _pil_to_rgb(im: Image.Image) -> np.ndarray:
    """A loaded Pillow image of any mode as (H, W, 3) uint8 RGB in stored orientation."""
    mode = im.mode
    if mode == "RGB":
        return np.asarray(im, dtype=np.uint8)
    if mode.startswith("I;16") or mode in ("I", "F"):
        grey = _scale_to_uint8(np.asarray(im), bits16=mode.startswith("I;16"))
        return np.repeat(grey[..., None], 3, axis=2)
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode in ("P", "L", "RGB", "1") and "transparency" in im.info
    )
    if has_alpha:
        return _composite_over_white(np.asarray(im.convert("RGBA"), dtype=np.uint8))
    return np.asarray(im.convert("RGB"), dtype=np.uint8)


def _decode_pil(im: Image.Image, path: Path, orientation: int) -> np.ndarray:
    """Decode with Pillow and turn upright (header ``orientation``)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im.load()
            rgb = _pil_to_rgb(im)
            # Newer Pillow turns TIFFs upright while loading and then drops the tag.
            tags = getattr(im, "tag_v2", None)
            if tags is not None and tags.get(_ORIENTATION_TAG) is None:
                orientation = 1
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _fail(path, f"larger than the {MAX_IMAGE_PIXELS:,}-pixel limit") from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        text = str(exc)
        if "truncated" in text or isinstance(exc, EOFError):
            text = f"truncated or damaged file ({text})" if text else "truncated or damaged file"
        raise _fail(path, text) from None
    finally:
        im.close()
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise _fail(path, f"unexpected decoded shape {rgb.shape}")
    return _apply_orientation(rgb, orientation)


def load_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode ``path`` into the upright image.

    Returns:
        ``np.ndarray`` of shape (H, W, 3), dtype uint8, RGB, C-contiguous, EXIF orientation applied
        (H, W are the upright height and width, the same as :func:`read_image_size` reports).

    Raises:
        ImageLoadError: missing, empty, truncated, non-image, undecodable or over-large files; the
        message is one line naming the file and the reason.
    """
    path = Path(path)
    data = _read_bytes(path)
    im = _open_header(path, data)
    orientation = _orientation(im)
    rgb = None
    if im.format in ("JPEG", "MPO"):  # MPO: multi-picture JPEG from cameras; first frame
        rgb = _decode_jpeg_cv2(data, im.width, im.height, path)
    elif (im.format == "PNG" and im.mode == "RGB" and "transparency" not in im.info
          and im.width * im.height >= LARGE_PNG_PIXELS):
        rgb = _decode_png_cv2(data, im.width, im.height)
    if rgb is None:
        return _decode_pil(im, path, orientation)
    im.close()
    return _apply_orientation(rgb, orientation)


def read_image_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """``(width, height)`` of the upright image from the file header, without decoding pixels.

    Width and height are swapped for EXIF orientations 5-8 (rotated by 90 degrees). Raises
    ImageLoadError like :func:`load_image` for missing, empty, non-image or over-large files (a
    truncated file may still report its size: only the header is read).
    """
    path = Path(path)
    im = _open_header(path)
    try:
        width, height = im.size
        tags = getattr(im, "tag_v2", None)
        if tags is not None and isinstance(tags.get(256), int) and isinstance(tags.get(257), int):
            width, height = tags[256], tags[257]  # stored size; newer Pillow reports it upright
        if _orientation(im) >= 5:
            width, height = height, width
    finally:
        im.close()
    return int(width), int(height)


def list_images(folder: str | os.PathLike[str], recursive: bool = True) -> list[Path]:
    """Image files in ``folder`` (with :data:`IMAGE_EXTENSIONS`, any case), sorted.

    Returned paths are ``folder / relative path``. Hidden files and folders (names starting with a
    dot, which includes the project store's ``.retinalab/``) are skipped. Raises DatasetError when
    ``folder`` is missing or not a folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        reason = "not a folder" if folder.exists() else "folder not found"
        raise DatasetError(f"cannot list images in {folder}: {reason}")
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        base = Path(dirpath)
        for name in filenames:
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
                found.append(base / name)
        if not recursive:
            break
    return sorted(found)


def check_model_input(width: int, height: int, image_size: int, path: str | os.PathLike[str]) -> None:
    """Raise ImageLoadError when a ``width`` x ``height`` image is too thin for a model at ``image_size``.

    The models resize the longer side to ``image_size`` (training jitters that down to about half),
    so an image whose longer side is more than ``image_size / 2`` times its shorter side would be
    squeezed under one pixel and abort the batch; it is skipped like any other unusable image.
    """
    longer, shorter = max(width, height), min(width, height)
    if shorter < 1 or shorter * (image_size / 2) < longer:
        raise _fail(Path(path), f"{width}x{height} px is too thin for a model at image size {image_size} "
                                f"(the longer side may be at most {image_size // 2} times the shorter)")


# Images longer than PRESHRINK_ABOVE x the model's image size are first shrunk in 8 bit (area filter, which
# also antialiases) to PRESHRINK_TO x it, by both inference paths: a 14000 px scan is never held as float
# (12 bytes a pixel, 2.4 GB) only for the model's resize to throw it away.
PRESHRINK_ABOVE = 4
PRESHRINK_TO = 2


def preshrink(array: np.ndarray, image_size: int) -> np.ndarray:
    """``array`` itself, or a copy shrunk to ``PRESHRINK_TO * image_size`` on its longer side when it is
    longer than ``PRESHRINK_ABOVE * image_size``."""
    height, width = array.shape[:2]
    if max(height, width) <= PRESHRINK_ABOVE * image_size:
        return array
    import cv2

    factor = PRESHRINK_TO * image_size / max(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return cv2.resize(array, size, interpolation=cv2.INTER_AREA)
