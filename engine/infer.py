"""Run a RetinaNet on images and get plain ``Detection``s back: the one inference entry point of RetinaLab.

``Detector`` owns everything between "an image" and "boxes with class names": the device (``"auto"`` =
CUDA when available), eval mode and ``torch.inference_mode``, batching, conversion of paths and RGB
``uint8`` arrays to tensors, and mapping logit columns to class names (COCO-pretrained models keep
torchvision's 91-slot index; the unused slots never reach the caller). Results are frozen
``engine.types.Detection``s in original image pixels ``[x1, y1, x2, y2]``, clipped to the image; no tensor
leaves this module. Resizing is the model's own (longer side = ``image_size``, bilinear) with one
shortcut: an image larger than that is resized *before* normalisation instead of after (the two commute
up to float rounding), so a 12 MP photo is normalised at 512 px instead of at full size; the model then
sees exactly the pixels it would have made itself and boxes agree with a plain forward to < 1e-3 px.

Backends: ``"torch"`` (the model itself; the only one on CUDA) and ``"onnxruntime"``: an ONNX export (a
``.onnx`` file, or a checkpoint exported in memory on load) run by ``engine.onnx_runtime``, the same
detections to float rounding in ~0.6x the CPU time (bench/infer.py). ``"auto"`` (the default) picks
ONNX Runtime on the CPU when it is installed, torch otherwise.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.device import resolve_device
from engine.errors import ImageLoadError, ModelError, RetinaLabError
from engine.io.image import preshrink
from engine.types import Detection

if TYPE_CHECKING:
    from engine.onnx_runtime import OnnxRetinaNet

log = logging.getLogger(__name__)

ImageInput = Union[str, "os.PathLike[str]", np.ndarray]
Backend = Literal["auto", "torch", "onnxruntime"]
COCO_PLACEHOLDERS = frozenset({"__background__", "N/A"})
_WINDOW_BATCHES = 8  # predict() decodes this many batches of images at a time


@dataclass(frozen=True)
class ImagePrediction:
    """The result for one image file: its upright size and detections, or the reason it was skipped."""

    path: Path
    width: int = 0
    height: int = 0
    detections: tuple[Detection, ...] = ()
    error: ImageLoadError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def prepare_for_inference(model: nn.Module, device: torch.device) -> nn.Module:
    """Eval mode on ``device``; on the CPU also channels-last weights, which bench/infer.py measured
    6-10 % faster for both the MobileNet and the ResNet-50 models with boxes within 5e-4 px."""
    model = model.to(device).eval()
    if device.type == "cpu":
        model = model.to(memory_format=torch.channels_last)
    return model


class Detector:
    """A model ready for inference. Build with ``from_checkpoint`` (``.pt`` or ``.onnx``), ``from_pretrained``
    or ``from_model``.

    Attributes: ``class_names`` (the names detections can carry), ``arch``, ``device`` (``"cpu"``,
    ``"cuda"``, ...), ``image_size`` (longer side the model resizes to), ``backend`` (``"torch"`` or
    ``"onnxruntime"``), ``model`` (the torch model; None on the ONNX Runtime backend). Safe to share
    between threads: calls to ``predict`` are serialised.
    """

    def __init__(
        self, model: nn.Module | None, label_names: Sequence[str], *, image_size: int, arch: str,
        device: torch.device, runtime: OnnxRetinaNet | None = None,
    ) -> None:
        num_columns = getattr(getattr(getattr(model, "head", None), "classification_head", None), "num_classes", None)
        if runtime is not None:
            num_columns = runtime.num_classes
        if num_columns is not None and num_columns != len(label_names):
            raise ModelError(f"model has {num_columns} class columns but {len(label_names)} class names were given")
        if model is None and runtime is None:
            raise ModelError("a Detector needs a torch model or an ONNX Runtime session")
        self.model = model
        self.runtime = runtime
        self.arch = arch
        self.image_size = int(image_size)
        self._device = device
        # logit column -> name, None for torchvision's unused COCO slots
        coco_slots = len(label_names) == 91 and label_names[0] == "__background__"
        self._names: list[str | None] = [
            None if coco_slots and n in COCO_PLACEHOLDERS else str(n) for n in label_names
        ]
        self.class_names: tuple[str, ...] = tuple(n for n in self._names if n is not None)
        self._lock = threading.Lock()

    @property
    def device(self) -> str:
        return str(self._device)

    @property
    def backend(self) -> str:
        """``"onnxruntime"`` or ``"torch"``: what runs the network."""
        return "onnxruntime" if self.runtime is not None else "torch"

    @property
    def backend_name(self) -> str:  # for people
        return "ONNX Runtime" if self.runtime is not None else "PyTorch"

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike[str], device: str = "auto", backend: Backend = "auto") -> Detector:
        """Load a RetinaLab checkpoint (``.pt``) or ONNX export (``.onnx``); raises ``CheckpointError`` with a
        one-line reason. ``backend``: see the module docstring; a ``.onnx`` file always runs on ONNX Runtime."""
        from engine.onnx_runtime import is_onnx_path

        if is_onnx_path(path):
            return cls.from_onnx(path, device=device, backend=backend)
        from engine.checkpoint import load_checkpoint, model_from_checkpoint

        ckpt = load_checkpoint(path)
        return cls._build(model_from_checkpoint(ckpt), ckpt.class_names, image_size=ckpt.image_size, arch=ckpt.arch,
                          device=resolve_device(device), backend=backend, alpha=ckpt.alpha, gamma=ckpt.gamma,
                          source=Path(path).name)

    @classmethod
    def from_onnx(cls, path: str | os.PathLike[str], device: str = "auto", backend: Backend = "auto") -> Detector:
        """Load a RetinaLab ONNX export; ``CheckpointError`` for a corrupt or foreign file."""
        from engine.onnx_runtime import OnnxRetinaNet

        if backend == "torch" or str(device) not in ("auto", "cpu"):
            raise ModelError(f"{Path(path).name} is an ONNX file: it runs on the CPU with ONNX Runtime only")
        runtime = OnnxRetinaNet(path, threads=torch.get_num_threads())
        log.debug("detector: %s from %s, ONNX Runtime on cpu", runtime.meta.arch, path)
        return cls(None, runtime.meta.class_names, image_size=runtime.meta.image_size, arch=runtime.meta.arch,
                   device=torch.device("cpu"), runtime=runtime)

    @classmethod
    def from_pretrained(
        cls, arch: str = "retinanet_resnet50_fpn", device: str = "auto", *, image_size: int = 800,
        backend: Backend = "auto",
    ) -> Detector:
        """torchvision's COCO detector for ``arch`` (80 classes); raises ``WeightsUnavailableError`` offline."""
        from engine.models import build_model, coco_categories

        model = build_model(arch, 91, pretrained="coco", image_size=image_size)
        return cls._build(model, coco_categories(arch), image_size=image_size, arch=arch,
                          device=resolve_device(device), backend=backend, source=f"{arch} COCO")

    @classmethod
    def _build(
        cls, model: nn.Module, label_names: Sequence[str], *, image_size: int, arch: str, device: torch.device,
        backend: str, alpha: float = 0.25, gamma: float = 2.0, source: str = "",
    ) -> Detector:
        """A Detector owning ``model``: exported to ONNX Runtime in memory when ``backend`` asks for it
        (``"auto"`` falls back to torch if the export fails), else prepared for torch inference."""
        from engine.onnx_export import runtime_for_model, wants_onnxruntime

        if wants_onnxruntime(backend, device.type):
            try:
                runtime = runtime_for_model(model, list(label_names), arch=arch, image_size=image_size, alpha=alpha,
                                            gamma=gamma, source=source, threads=torch.get_num_threads())
            except RetinaLabError as exc:
                if backend != "auto":
                    raise
                log.warning("ONNX Runtime unavailable for %s (%s); running it with PyTorch", source, exc)
            else:
                log.debug("detector: %s (%s), ONNX Runtime on cpu", source, arch)
                return cls(None, label_names, image_size=image_size, arch=arch, device=device, runtime=runtime)
        log.debug("detector: %s (%s), PyTorch on %s", source, arch, device)
        return cls(prepare_for_inference(model, device), label_names, image_size=image_size, arch=arch, device=device)

    @classmethod
    def from_model(
        cls,
        model: nn.Module,
        class_names: Sequence[str],
        *,
        image_size: int,
        arch: str = "custom",
        device: str = "auto",
    ) -> Detector:
        """Wrap a model built by ``engine.models.build_model`` (moved to ``device``, otherwise left as it
        is: its train/eval mode is restored after each ``predict``, so a training loop can evaluate its
        live model)."""
        dev = resolve_device(device)
        return cls(model.to(dev), class_names, image_size=image_size, arch=arch, device=dev)

    def predict(
        self, images: Sequence[ImageInput], score_thresh: float = 0.05, batch_size: int = 4
    ) -> list[list[Detection]]:
        """Detections per image, in input order, best first.

        ``images``: paths (decoded with ``engine.io.load_image``; ``ImageLoadError`` on a bad file) or
        RGB arrays ``(H, W, 3)`` ``uint8`` (``(H, W)`` grey and ``(H, W, 4)`` RGBA are accepted too).
        """
        # Decode a window at a time: a dataset of paths never sits in memory at once.
        window = max(1, int(batch_size)) * _WINDOW_BATCHES
        results: list[list[Detection]] = []
        for start in range(0, len(images), window):
            arrays = [_as_rgb(image) for image in images[start : start + window]]
            for image, array in zip(images[start : start + window], arrays):
                self._check_fits(array, image)
            results.extend(self._predict_arrays(arrays, score_thresh, batch_size))
        return results

    def predict_paths(
        self, paths: Iterable[str | os.PathLike[str]], score_thresh: float = 0.05, batch_size: int = 4
    ) -> Iterator[ImagePrediction]:
        """One ``ImagePrediction`` per path, in order; unreadable files come back with ``error`` set.

        Images are decoded one batch at a time, so a long folder never sits in memory at once.
        """
        from engine.io import load_image

        batch_size = max(1, int(batch_size))
        pending: list[tuple[Path, np.ndarray | ImageLoadError]] = []
        for raw in paths:
            path = Path(raw)
            try:
                array = load_image(path)
                self._check_fits(array, path)
                pending.append((path, array))
            except ImageLoadError as exc:
                pending.append((path, exc))
            if sum(isinstance(item, np.ndarray) for _, item in pending) >= batch_size:
                yield from self._flush(pending, score_thresh, batch_size)
                pending = []
        yield from self._flush(pending, score_thresh, batch_size)

    def _check_fits(self, array: np.ndarray, source: ImageInput) -> None:
        """ImageLoadError (ValueError for an array) when the image is too thin to resize for the model."""
        from engine.io.image import check_model_input

        height, width = array.shape[:2]
        where = "image array" if isinstance(source, np.ndarray) else source
        try:
            check_model_input(width, height, self.image_size, where)
        except ImageLoadError as exc:
            if isinstance(source, np.ndarray):
                raise ValueError(str(exc)) from None
            raise

    def _flush(
        self, pending: list[tuple[Path, np.ndarray | ImageLoadError]], score_thresh: float, batch_size: int
    ) -> Iterator[ImagePrediction]:
        arrays = [item for _, item in pending if isinstance(item, np.ndarray)]
        results = iter(self._predict_arrays(arrays, score_thresh, batch_size) if arrays else [])
        for path, item in pending:
            if isinstance(item, ImageLoadError):
                yield ImagePrediction(path, error=item)
            else:
                height, width = item.shape[:2]
                yield ImagePrediction(path, width, height, tuple(next(results)))

    def _predict_arrays(
        self, arrays: list[np.ndarray], score_thresh: float, batch_size: int
    ) -> list[list[Detection]]:
        if not 0.0 <= score_thresh <= 1.0:
            raise ValueError(f"score_thresh must be in [0, 1], got {score_thresh}")
        batch_size = max(1, int(batch_size))
        # Batch only images that pad to the same size: torchvision pads a batch to its largest image,
        # which would make an image's boxes depend on its neighbours.
        groups: dict[tuple[int, int], list[int]] = {}
        for index, array in enumerate(arrays):
            groups.setdefault(self._padded_shape(*array.shape[:2]), []).append(index)
        chunks = [ids[i : i + batch_size] for ids in groups.values() for i in range(0, len(ids), batch_size)]
        results: list[list[Detection]] = [[] for _ in arrays]
        if self.runtime is not None:
            with self._lock:
                for chunk in chunks:
                    batch = [arrays[i] for i in chunk]
                    for index, array, (boxes, scores, labels) in zip(
                            chunk, batch, self.runtime.detect(batch, score_thresh)):
                        results[index] = self._detections(boxes.tolist(), scores.tolist(), labels.tolist(),
                                                          array.shape[1], array.shape[0])
            return results
        with self._lock, torch.inference_mode():
            was_training = self.model.training
            old_thresh = getattr(self.model, "score_thresh", None)
            self.model.eval()
            self.model.score_thresh = float(score_thresh)
            try:
                for chunk in chunks:
                    for index, dets in zip(chunk, self._run_batch([arrays[i] for i in chunk])):
                        results[index] = dets
            finally:
                self.model.score_thresh = old_thresh
                self.model.train(was_training)
        return results

    def _run_batch(self, arrays: list[np.ndarray]) -> list[list[Detection]]:
        tensors, scales = zip(*(self._to_tensor(a) for a in arrays))
        outputs = self.model(list(tensors))
        results = []
        for array, (sx, sy), output in zip(arrays, scales, outputs):
            height, width = array.shape[:2]
            boxes = output["boxes"].float()
            if sx != 1.0 or sy != 1.0:
                boxes = boxes * torch.tensor([sx, sy, sx, sy], dtype=torch.float32, device=boxes.device)
            results.append(
                self._detections(boxes.cpu().tolist(), output["scores"].cpu().tolist(),
                                 output["labels"].cpu().tolist(), width, height)
            )
        return results

    def _resized_shape(self, height: int, width: int) -> tuple[int, int]:
        """The (h, w) torchvision's transform resizes to: longer side ``image_size``, floor rounding."""
        scale = min(self.image_size / min(height, width), self.image_size / max(height, width))
        return math.floor(height * scale), math.floor(width * scale)

    def _padded_shape(self, height: int, width: int) -> tuple[int, int]:
        if self.runtime is not None:
            return self.runtime.padded_shape(height, width)
        divisor = int(getattr(getattr(self.model, "transform", None), "size_divisible", 32))
        h, w = self._resized_shape(height, width)
        return -(-h // divisor) * divisor, -(-w // divisor) * divisor

    def _to_tensor(self, array: np.ndarray) -> tuple[torch.Tensor, tuple[float, float]]:
        """``(3, h, w)`` float in [0, 1] on the device, and the (x, y) factors from ``w, h`` back to the
        original; downscaled here exactly as the model's transform would (same size, same kernel)."""
        height, width = array.shape[:2]
        small = preshrink(array, self.image_size)  # a huge scan is shrunk in 8 bit, never held as float
        if small is not array:
            image, (sx, sy) = self._to_tensor(small)
            return image, (sx * width / small.shape[1], sy * height / small.shape[0])
        if not array.flags.writeable:  # torch warns on read-only buffers (e.g. np.asarray(PIL image))
            array = array.copy()
        image = torch.from_numpy(array).to(self._device).permute(2, 0, 1).float().div_(255.0)
        new_h, new_w = self._resized_shape(height, width)  # as F.interpolate computes it
        if max(height, width) <= self.image_size or max(new_h, new_w) != self.image_size or min(new_h, new_w) < 1:
            return image, (1.0, 1.0)  # let the model resize (upscaling, or a size it would not reproduce)
        image = F.interpolate(image[None], size=(new_h, new_w), mode="bilinear", align_corners=False)[0]
        # the factors torchvision's transform.postprocess would use (float32 ratio of sizes)
        ratio_w = float(torch.tensor(width, dtype=torch.float32) / torch.tensor(new_w, dtype=torch.float32))
        ratio_h = float(torch.tensor(height, dtype=torch.float32) / torch.tensor(new_h, dtype=torch.float32))
        return image, (ratio_w, ratio_h)

    def _detections(
        self, boxes: list[list[float]], scores: list[float], labels: list[int], width: int, height: int
    ) -> list[Detection]:
        found = []
        for (x1, y1, x2, y2), score, label in zip(boxes, scores, labels):
            name = self._names[label] if 0 <= label < len(self._names) else None
            if name is None:
                continue
            x1, x2 = min(max(x1, 0.0), float(width)), min(max(x2, 0.0), float(width))
            y1, y2 = min(max(y1, 0.0), float(height)), min(max(y2, 0.0), float(height))
            if x2 > x1 and y2 > y1:
                found.append(Detection(x1, y1, x2, y2, name, float(score)))
        return found


def _as_rgb(image: ImageInput) -> np.ndarray:
    """A ``(H, W, 3)`` uint8 RGB array from a path or an array; raises ``ImageLoadError`` / ``ValueError``."""
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8:
            raise ValueError(f"image arrays must be uint8 RGB, got dtype {image.dtype}")
        if image.ndim == 2:
            image = np.repeat(image[:, :, None], 3, axis=2)
        elif image.ndim == 3 and image.shape[2] == 4:
            image = image[:, :, :3]
        if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 1:
            raise ValueError(f"image arrays must be (H, W, 3) RGB, got shape {image.shape}")
        return np.ascontiguousarray(image)
    from engine.io import load_image

    return load_image(image)
