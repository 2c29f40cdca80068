"""Export a RetinaLab model to ONNX: the network as a graph, everything else as metadata.

The graph is the part that dominates CPU time, backbone + FPN + heads, from a normalised, padded
``float32[N, 3, H, W]`` batch (N, H and W dynamic) to per-level raw head outputs (see
``engine.onnx_runtime`` for their layout). The transform and the post-processing stay outside it:
``engine.onnx_runtime`` does them in numpy, identically to torchvision, so the file needs ONNX Runtime
alone to run (bench/infer.py measured this faster than NMS and decoding inside the graph would need to
be, and it keeps the ragged per-image results out of ONNX). Metadata: the RetinaLab marker and format
version, the RetinaLab version, arch, class names, image size, α/γ, normalisation, cell anchors and the
NMS / top-k settings. The exporter is torch's TorchScript-based ``torch.onnx.export(dynamo=False)``:
it needs only the ``onnx`` package (the dynamo exporter would add onnxscript) and handles these
convolutional graphs exactly (outputs equal torch's to ~5e-6).
"""

from __future__ import annotations

import io
import logging
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from engine.errors import ModelError
from engine.onnx_runtime import INPUT_NAME, OnnxMetadata, OnnxRetinaNet

log = logging.getLogger(__name__)

OPSET = 17
BACKENDS: tuple[str, ...] = ("auto", "torch", "onnxruntime")
_TRACE_SIZE = (128, 160)  # small: tracing runs the network once; height and width are dynamic axes


class _Network(nn.Module):
    """Backbone + FPN + heads, returning each level's logits and box regression channels-last."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.backbone = model.backbone
        self.classification_head = model.head.classification_head
        self.regression_head = model.head.regression_head

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outputs: list[torch.Tensor] = []
        for features in self.backbone(images).values():
            logits = self.classification_head.cls_logits(self.classification_head.conv(features))
            regression = self.regression_head.bbox_reg(self.regression_head.conv(features))
            outputs += [logits.permute(0, 2, 3, 1), regression.permute(0, 2, 3, 1)]
        return tuple(outputs)


def model_metadata(
    model: nn.Module, *, arch: str, class_names: list[str] | tuple[str, ...], image_size: int,
    alpha: float, gamma: float, source: str = "",
) -> OnnxMetadata:
    """The metadata of an export of ``model`` (a torchvision ``RetinaNet`` built by ``engine.models``)."""
    from engine import __version__

    transform = model.transform
    return OnnxMetadata(
        arch=str(arch),
        class_names=tuple(str(n) for n in class_names),
        image_size=int(image_size),
        alpha=float(alpha),
        gamma=float(gamma),
        cell_anchors=tuple(a.detach().float().cpu().numpy() for a in model.anchor_generator.cell_anchors),
        image_mean=tuple(float(v) for v in transform.image_mean),  # type: ignore[arg-type]
        image_std=tuple(float(v) for v in transform.image_std),  # type: ignore[arg-type]
        size_divisible=int(transform.size_divisible),
        topk_candidates=int(model.topk_candidates),
        nms_thresh=float(model.nms_thresh),
        detections_per_img=int(model.detections_per_img),
        retinalab_version=__version__,
        source=source,
    )


def export_model(model: nn.Module, meta: OnnxMetadata) -> bytes:
    """The ONNX file (bytes) of ``model``'s network with ``meta`` attached. ``model`` is left as it was."""
    import onnx

    num_levels = len(meta.cell_anchors)
    output_names = [f"{kind}_{level}" for level in range(num_levels) for kind in ("cls_logits", "bbox_regression")]
    was_training = model.training
    network = _Network(model).eval()
    sample = torch.zeros((1, 3, *_TRACE_SIZE), dtype=torch.float32, device=next(model.parameters()).device)
    # a channels-last model traces into the same graph; the dummy input only fixes ranks
    dynamic = {INPUT_NAME: {0: "batch", 2: "height", 3: "width"}}
    dynamic.update({name: {0: "batch", 1: f"{name}_h", 2: f"{name}_w"} for name in output_names})
    buffer = io.BytesIO()
    try:
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
            torch.onnx.export(
                network, (sample,), buffer, dynamo=False, input_names=[INPUT_NAME], output_names=output_names,
                dynamic_axes=dynamic, opset_version=OPSET, do_constant_folding=True,
            )
    except Exception as exc:
        raise ModelError(f"cannot export {meta.arch} to ONNX: {str(exc).strip().splitlines()[0][:200]}") from exc
    finally:
        model.train(was_training)
    proto = onnx.load_from_string(buffer.getvalue())
    if len(proto.graph.output) != len(output_names):
        raise ModelError(f"{meta.arch}: expected {len(output_names)} outputs from {num_levels} pyramid levels, "
                         f"the exported graph has {len(proto.graph.output)}")
    del proto.metadata_props[:]
    for key, value in meta.to_properties().items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "RetinaLab"
    proto.producer_version = meta.retinalab_version
    proto.doc_string = f"RetinaLab {meta.arch} ({len(meta.class_names)} classes); run with engine.onnx_runtime"
    return proto.SerializeToString()


def export_checkpoint(weights: str | os.PathLike[str], out: str | os.PathLike[str]) -> Path:
    """Write the ONNX export of checkpoint ``weights`` to ``out`` atomically; returns ``out``.

    Raises ``CheckpointError`` for a bad checkpoint, ``ModelError`` if the export fails.
    """
    from engine.checkpoint import load_checkpoint, model_from_checkpoint
    from engine.fsutil import write_bytes_atomic

    ckpt = load_checkpoint(weights)
    model = model_from_checkpoint(ckpt)
    meta = model_metadata(model, arch=ckpt.arch, class_names=ckpt.class_names, image_size=ckpt.image_size,
                          alpha=ckpt.alpha, gamma=ckpt.gamma, source=Path(weights).name)
    data = export_model(model, meta)
    out = Path(out)
    write_bytes_atomic(out, data)
    log.info("exported %s to %s (%.1f MB)", weights, out, len(data) / 1e6)
    return out


def runtime_for_model(
    model: nn.Module, label_names: list[str] | tuple[str, ...], *, arch: str, image_size: int,
    alpha: float = 0.25, gamma: float = 2.0, source: str = "", threads: int | None = None,
) -> OnnxRetinaNet:
    """``model`` exported in memory and opened in an ONNX Runtime session (no file is written)."""
    from engine.onnx_runtime import OnnxRetinaNet

    meta = model_metadata(model.eval(), arch=arch, class_names=label_names, image_size=image_size,
                          alpha=alpha, gamma=gamma, source=source)
    return OnnxRetinaNet(export_model(model, meta), threads=threads, name=source)


def wants_onnxruntime(backend: str, device_type: str) -> bool:
    """Whether ``Detector`` should run on ONNX Runtime: ``"onnxruntime"``, or ``"auto"`` on the CPU when
    ``onnxruntime`` and ``onnx`` are installed. ``ModelError`` for an unknown backend or onnxruntime off the CPU."""
    import importlib.util

    if backend not in BACKENDS:
        raise ModelError(f"unknown backend {backend!r}; use {', '.join(BACKENDS)}")
    if backend == "onnxruntime" and device_type != "cpu":
        raise ModelError(f"the onnxruntime backend runs on the CPU only, not on {device_type}; use --device cpu")
    installed = all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))
    return backend == "onnxruntime" or (backend == "auto" and device_type == "cpu" and installed)
