"""Static int8 quantisation of a RetinaLab ONNX export, calibrated on the user's own images.

ONNX Runtime's ``quantize_static`` (QDQ format, per-channel int8 weights, uint8 activations, min/max
calibration) turns the float export into one whose convolutions run as integer kernels; on this
machine's CPU (AVX-512 VNNI) the network ran ~3x faster (bench/int8.py, which also prints the AP it
costs on the demo evaluation). Calibration feeds a sample of the images the model will see (a project
folder), each resized, normalised and padded exactly as ``engine.onnx_runtime`` does at run time. The
metadata of the float export is kept and gains ``quantization``; the result loads anywhere a float
export does (``Detector.from_checkpoint``, ``--weights``).
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from engine.errors import DatasetError, ModelError
from engine.fsutil import write_bytes_atomic
from engine.onnx_runtime import INPUT_NAME, OnnxRetinaNet

log = logging.getLogger(__name__)

DEFAULT_CALIBRATION_IMAGES = 32
QUANTIZATION = "int8 static QDQ, per-channel weights, min-max calibration"


def calibration_images(folder: str | os.PathLike[str], limit: int = DEFAULT_CALIBRATION_IMAGES) -> list[Path]:
    """Up to ``limit`` images spread evenly over ``folder`` (recursive, sorted); ``DatasetError`` if none."""
    from engine.io import list_images

    found = list_images(Path(folder), recursive=True)
    if not found:
        raise DatasetError(f"no images to calibrate int8 with in {folder}")
    step = max(1, len(found) / max(1, limit))
    return [found[int(i * step)] for i in range(min(limit, len(found)))]


def quantize_int8(
    float_onnx: str | os.PathLike[str], out: str | os.PathLike[str], images: Sequence[Path],
    *, on_image: Callable[[int, int], None] | None = None,
) -> Path:
    """Write the int8 version of the RetinaLab export ``float_onnx`` to ``out`` (atomically); returns ``out``.

    ``images``: calibration images (unreadable ones are skipped; at least one must load).
    ``on_image(done, total)`` is called as calibration reads them.
    """
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    from engine.io import load_image

    net = OnnxRetinaNet(float_onnx, threads=None)
    if net.session.get_modelmeta().custom_metadata_map.get("quantization"):
        raise ModelError(f"{float_onnx} is already quantised")
    batches: list[dict[str, np.ndarray]] = []
    for index, path in enumerate(images):
        try:
            image = load_image(path)
        except Exception as exc:  # one unreadable image does not stop calibration
            log.info("calibration skips %s: %s", path, exc)
            continue
        height, width = net.padded_shape(*image.shape[:2])
        batch = np.zeros((1, 3, height, width), dtype=np.float32)
        net._normalise_into(image, batch[0])
        batches.append({INPUT_NAME: batch})
        if on_image is not None:
            on_image(index + 1, len(images))
    if not batches:
        raise DatasetError("none of the calibration images could be read")

    class _Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(batches)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._it, None)

    with tempfile.TemporaryDirectory(prefix="retinalab-int8-") as tmp:
        quantized = Path(tmp) / "int8.onnx"
        try:
            quantize_static(str(float_onnx), str(quantized), _Reader(), quant_format=QuantFormat.QDQ,
                            per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        except Exception as exc:
            raise ModelError(f"int8 quantisation failed: {str(exc).strip().splitlines()[0][:200]}") from exc
        proto = onnx.load(str(quantized))
    source = {p.key: p.value for p in onnx.load(str(float_onnx), load_external_data=False).metadata_props}
    source.update(quantization=QUANTIZATION, calibration_images=str(len(batches)))
    del proto.metadata_props[:]
    for key, value in source.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    out = Path(out)
    write_bytes_atomic(out, proto.SerializeToString())
    log.info("int8 export %s calibrated on %d images", out, len(batches))
    return out
