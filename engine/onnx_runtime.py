"""Run a RetinaLab ONNX export with ONNX Runtime, numpy and OpenCV: no torch needed.

An export (``engine.onnx_export``) holds the network from normalised image to raw head outputs, one
``cls_logits_<l>`` (``[N, H_l, W_l, A * K]``) and ``bbox_regression_<l>`` (``[N, H_l, W_l, A * 4]``) per
pyramid level, plus metadata: the RetinaLab marker and format, the architecture, class names (logit
column order), image size, focal-loss α/γ, normalisation, the cell anchors of each level and the
post-processing settings. ``OnnxRetinaNet`` does what torchvision's ``RetinaNet`` does around its
network, in numpy and in the same order: resize (longer side = image size, bilinear, half-pixel
centres), normalise, pad to a multiple of 32, run, then threshold, top-k, decode, clip and NMS
(``engine.onnx_postprocess``), and scale boxes back to the original image with torchvision's float32
ratios. A file that is not ONNX, or an ONNX file from another tool, raises ``CheckpointError`` with one
line naming what is wrong or missing.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import CheckpointError
from engine.io.image import preshrink
from engine.onnx_postprocess import batched_nms, clip_boxes, decode_boxes, grid_anchors, level_candidates

log = logging.getLogger(__name__)

MARKER_KEY = "retinalab_onnx"  # value: the export format version
ONNX_FORMAT_VERSION = 1
INPUT_NAME = "images"
REQUIRED_KEYS = ("arch", "class_names", "image_size", "alpha", "gamma", "num_levels", "cell_anchors",
                 "image_mean", "image_std", "size_divisible", "topk_candidates", "nms_thresh",
                 "detections_per_img")


@dataclass(frozen=True)
class OnnxMetadata:
    """What an export carries besides the network (``class_names[k]`` is logit column k)."""

    arch: str
    class_names: tuple[str, ...]
    image_size: int
    alpha: float
    gamma: float
    cell_anchors: tuple[np.ndarray, ...]  # per level: float32[A, 4]
    image_mean: tuple[float, float, float]
    image_std: tuple[float, float, float]
    size_divisible: int
    topk_candidates: int
    nms_thresh: float
    detections_per_img: int
    retinalab_version: str = ""
    source: str = ""

    def to_properties(self) -> dict[str, str]:
        """The ONNX ``metadata_props`` (string to string) that ``from_properties`` reads back."""
        return {
            MARKER_KEY: str(ONNX_FORMAT_VERSION),
            "retinalab_version": self.retinalab_version,
            "source": self.source,
            "arch": self.arch,
            "class_names": json.dumps(list(self.class_names)),
            "image_size": str(self.image_size),
            "alpha": repr(float(self.alpha)),
            "gamma": repr(float(self.gamma)),
            "num_levels": str(len(self.cell_anchors)),
            "cell_anchors": json.dumps([a.tolist() for a in self.cell_anchors]),
            "image_mean": json.dumps(list(self.image_mean)),
            "image_std": json.dumps(list(self.image_std)),
            "size_divisible": str(self.size_divisible),
            "topk_candidates": str(self.topk_candidates),
            "nms_thresh": repr(float(self.nms_thresh)),
            "detections_per_img": str(self.detections_per_img),
        }

    @classmethod
    def from_properties(cls, props: Mapping[str, str], name: str) -> OnnxMetadata:
        """Parse ``metadata_props``; ``CheckpointError`` names the file and what is missing or malformed."""
        if MARKER_KEY not in props:
            missing = ", ".join(k for k in (MARKER_KEY, *REQUIRED_KEYS) if k not in props)
            raise CheckpointError(f"{name} is an ONNX model but not a RetinaLab export (missing metadata: {missing})")
        if props[MARKER_KEY] != str(ONNX_FORMAT_VERSION):
            raise CheckpointError(f"{name} is a RetinaLab ONNX export of format {props[MARKER_KEY]!r}; "
                                  f"this RetinaLab reads format {ONNX_FORMAT_VERSION}")
        missing = [k for k in REQUIRED_KEYS if k not in props]
        if missing:
            raise CheckpointError(f"{name} lacks RetinaLab metadata: {', '.join(missing)}")
        try:
            anchors = tuple(np.asarray(a, dtype=np.float32).reshape(-1, 4) for a in json.loads(props["cell_anchors"]))
            meta = cls(
                arch=props["arch"],
                class_names=tuple(str(n) for n in json.loads(props["class_names"])),
                image_size=int(props["image_size"]),
                alpha=float(props["alpha"]),
                gamma=float(props["gamma"]),
                cell_anchors=anchors,
                image_mean=tuple(float(v) for v in json.loads(props["image_mean"])),  # type: ignore[arg-type]
                image_std=tuple(float(v) for v in json.loads(props["image_std"])),  # type: ignore[arg-type]
                size_divisible=int(props["size_divisible"]),
                topk_candidates=int(props["topk_candidates"]),
                nms_thresh=float(props["nms_thresh"]),
                detections_per_img=int(props["detections_per_img"]),
                retinalab_version=props.get("retinalab_version", ""),
                source=props.get("source", ""),
            )
        except (ValueError, TypeError) as exc:
            raise CheckpointError(f"{name} has malformed RetinaLab metadata ({exc})") from None
        if (not meta.class_names or len(anchors) != int(props["num_levels"]) or meta.image_size < 1
                or len(meta.image_mean) != 3 or len(meta.image_std) != 3 or meta.size_divisible < 1):
            raise CheckpointError(f"{name} has inconsistent RetinaLab metadata")
        return meta


class OnnxRetinaNet:
    """An exported RetinaNet in an ONNX Runtime session on the CPU.

    ``source`` is a path or the file's bytes. ``threads``: ONNX Runtime's intra-op threads (None: its
    default, one per physical core). Raises ``CheckpointError`` for a file that is missing, not ONNX,
    not a RetinaLab export, or whose graph does not have the expected inputs and outputs.
    """

    def __init__(self, source: str | os.PathLike[str] | bytes, *, threads: int | None = None, name: str = "") -> None:
        import onnxruntime as ort

        if isinstance(source, bytes):
            self.name = name or "ONNX model"
        else:
            path = Path(source)
            self.name = name or str(path)
            if not path.is_file():
                raise CheckpointError(f"ONNX file not found: {path}" if not path.exists() else f"not a file: {path}")
            source = str(path)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
        # Idle worker threads sleep instead of spinning: the GUI and the camera share these cores.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own pybind exception types
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CheckpointError(f"cannot read {self.name}: not a valid ONNX model ({first[:160]})") from None
        props = self.session.get_modelmeta().custom_metadata_map
        self.meta = OnnxMetadata.from_properties(props, self.name)
        self._check_graph()
        self.threads = threads
        self._mean = np.asarray(self.meta.image_mean, dtype=np.float32)
        self._std = np.asarray(self.meta.image_std, dtype=np.float32)
        self._anchor_cache: dict[tuple, list[np.ndarray]] = {}

    @property
    def num_classes(self) -> int:
        return len(self.meta.class_names)

    def _check_graph(self) -> None:
        inputs = [i.name for i in self.session.get_inputs()]
        outputs = [o.name for o in self.session.get_outputs()]
        levels = len(self.meta.cell_anchors)
        expected = [f"{kind}_{level}" for level in range(levels) for kind in ("cls_logits", "bbox_regression")]
        if inputs != [INPUT_NAME] or outputs != expected:
            raise CheckpointError(f"{self.name}: graph inputs/outputs {inputs} -> {outputs} are not a RetinaLab "
                                  f"export's ([{INPUT_NAME}] -> {levels} levels of cls_logits, bbox_regression)")

    # --- sizes (torchvision's GeneralizedRCNNTransform) ----------------------------------------
    def resized_shape(self, height: int, width: int) -> tuple[int, int]:
        """Longer side = image size, floor rounding (``F.interpolate`` with ``recompute_scale_factor``)."""
        scale = min(self.meta.image_size / min(height, width), self.meta.image_size / max(height, width))
        return math.floor(height * scale), math.floor(width * scale)

    def padded_shape(self, height: int, width: int) -> tuple[int, int]:
        divisor = self.meta.size_divisible
        h, w = self.resized_shape(height, width)
        return -(-h // divisor) * divisor, -(-w // divisor) * divisor

    # --- running ------------------------------------------------------------------------------
    def detect(
        self, arrays: Sequence[np.ndarray], score_thresh: float
    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """``(boxes float32[N, 4], scores float32[N], labels int64[N])`` per image, best first, boxes in
        original pixels (not yet clipped to the original image). ``arrays``: ``uint8[H, W, 3]`` RGB; one ONNX
        Runtime run for the whole batch, padded to its largest image as torchvision pads (a caller that
        wants each image's boxes independent of its neighbours batches images of one ``padded_shape``)."""
        if not arrays:
            return []
        inputs = [preshrink(array, self.meta.image_size) for array in arrays]
        pad_h, pad_w = (max(sizes) for sizes in zip(*(self.padded_shape(*a.shape[:2]) for a in inputs)))
        batch = np.zeros((len(arrays), 3, pad_h, pad_w), dtype=np.float32)  # zero = the padding
        sizes = [self._normalise_into(array, batch[i]) for i, array in enumerate(inputs)]
        outputs = self.session.run(None, {INPUT_NAME: batch})
        anchors = self._anchors((pad_h, pad_w), [o.shape[1:3] for o in outputs[0::2]])
        results = []
        for i, (array, small, (new_h, new_w)) in enumerate(zip(arrays, inputs, sizes)):
            boxes, scores, labels = self._postprocess(
                [o[i] for o in outputs[0::2]], [o[i] for o in outputs[1::2]], anchors, new_h, new_w, score_thresh
            )
            height, width = small.shape[:2]
            ratio = np.array([np.float32(width) / np.float32(new_w), np.float32(height) / np.float32(new_h)] * 2,
                             dtype=np.float32)
            boxes = boxes * ratio
            if small is not array:  # back from the pre-shrunk image to the original
                boxes *= np.array([array.shape[1] / width, array.shape[0] / height] * 2, dtype=np.float32)
            results.append((boxes, scores, labels))
        return results

    def _normalise_into(self, array: np.ndarray, out: np.ndarray) -> tuple[int, int]:
        """Resize ``array`` as torchvision would, normalise it into the top-left of ``out`` (``[3, H, W]``);
        returns the resized (h, w)."""
        import cv2

        height, width = array.shape[:2]
        new_h, new_w = self.resized_shape(height, width)
        image = array.astype(np.float32) * np.float32(1 / 255)
        if (new_h, new_w) != (height, width):
            # float input: OpenCV's bilinear is torch's (half-pixel centres, no antialias); on uint8 it
            # would round to whole grey levels
            image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        image -= self._mean
        image /= self._std
        out[:, :new_h, :new_w] = image.transpose(2, 0, 1)
        return new_h, new_w

    def _anchors(self, padded: tuple[int, int], grids: list[tuple[int, int]]) -> list[np.ndarray]:
        key = (padded, tuple(tuple(g) for g in grids))
        if key not in self._anchor_cache:
            self._anchor_cache[key] = [
                grid_anchors(cell, (int(gh), int(gw)), (padded[0] // int(gh), padded[1] // int(gw)))
                for cell, (gh, gw) in zip(self.meta.cell_anchors, grids)
            ]
        return self._anchor_cache[key]

    def _postprocess(
        self, logits_per_level: list[np.ndarray], regression_per_level: list[np.ndarray],
        anchors_per_level: list[np.ndarray], height: int, width: int, score_thresh: float,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        num_classes = self.num_classes
        all_boxes, all_scores, all_labels = [], [], []
        for logits, regression, anchors in zip(logits_per_level, regression_per_level, anchors_per_level):
            scores, anchor_idxs, labels = level_candidates(
                logits.reshape(-1), num_classes, score_thresh, self.meta.topk_candidates
            )
            boxes = decode_boxes(regression.reshape(-1, 4)[anchor_idxs], anchors[anchor_idxs])
            all_boxes.append(clip_boxes(boxes, height, width))
            all_scores.append(scores)
            all_labels.append(labels)
        boxes, scores, labels = np.concatenate(all_boxes), np.concatenate(all_scores), np.concatenate(all_labels)
        keep = batched_nms(boxes, scores, labels, self.meta.nms_thresh, self.meta.detections_per_img)
        return boxes[keep], scores[keep], labels[keep]


def is_onnx_path(path: str | os.PathLike[str]) -> bool:
    """True for a ``.onnx`` file name: the suffix decides which loader a ``--weights`` file gets."""
    return Path(path).suffix.lower() == ".onnx"
