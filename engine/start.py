"""Where a training run starts when the user does not say: the best start available on this machine.

In order: the current model (the project's own, or one the user loaded); COCO, then ImageNet weights
already in torchvision's cache (never downloaded here); the shipped procedurally pretrained model
(``resources/models/retinanet_mobilenet_v3_procedural.pt``, for its own architecture only); random
weights. ``choose_start`` returns the choice with a short label and one sentence of why, which the
Train panel shows and ``retinalab train`` prints. The procedural model's class head is remapped by
class name like any ``--init`` checkpoint (new classes start from the focal-loss prior). Qt-free,
and cheap enough for the GUI thread: it looks at files, it imports no torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence

from engine.demo import demo_model_path
from engine.resources import resource_path

PRETRAINED_MODEL_NAME = "retinanet_mobilenet_v3_procedural.pt"
PRETRAINED_MODEL_ARCH = "retinanet_mobilenet_v3_fpn"

StartKind = Literal["current", "coco", "imagenet", "procedural", "scratch"]
_WEIGHTS_LABELS = {"coco": "COCO-pretrained weights", "imagenet": "ImageNet backbone"}
_GIVEN_LABELS = {"none": "random weights (scratch)", **_WEIGHTS_LABELS}
_WEIGHTS_NAMES = {"coco": "COCO weights", "imagenet": "ImageNet weights"}


def pretrained_model_path() -> Path:
    """The shipped procedurally pretrained checkpoint (it may be missing from a trimmed install)."""
    return resource_path("models", PRETRAINED_MODEL_NAME)


@dataclass(frozen=True)
class StartChoice:
    """A run's starting weights: ``TrainConfig``'s ``arch``, ``pretrained`` and ``init_checkpoint``,
    plus what a user reads: ``label`` (a few words) and ``reason`` (one sentence)."""

    kind: StartKind
    arch: str
    pretrained: str = "none"  # none | imagenet | coco
    init_checkpoint: str | None = None
    label: str = ""
    reason: str = ""

    def describe(self) -> str:
        return f"{self.label} — {self.reason}"


def given_start(pretrained: str, arch: str, reason: str) -> StartChoice:
    """The start the user named rather than the best available: ``pretrained`` ``none`` (random
    weights), ``imagenet`` or ``coco``, with ``reason`` saying where it was named."""
    kind = "scratch" if pretrained == "none" else pretrained
    return StartChoice(kind, arch, pretrained, label=_GIVEN_LABELS[pretrained], reason=reason)  # type: ignore[arg-type]


def choose_start(arch: str, *, current_checkpoint: str | None = None,
                 current_coco_arch: str | None = None) -> StartChoice:
    """The best start for a model of ``arch`` (see the module docstring).

    ``current_checkpoint`` is the model to fine-tune when there is one (its own arch then applies);
    ``current_coco_arch`` names torchvision's COCO detector when that is the current model.
    """
    from engine.weights import ARCH_PRETRAINED, is_cached, is_offline

    current = "It is the model you are using, so fine-tuning keeps what it has learned"
    if current_checkpoint:
        return StartChoice("current", arch, init_checkpoint=str(current_checkpoint),
                           label=f"the current model ({Path(current_checkpoint).name})", reason=current)
    if current_coco_arch:
        return StartChoice("current", current_coco_arch, "coco", label=f"the current model (COCO {current_coco_arch})",
                           reason=current)
    none_yet = "No model of this project yet"
    for pretrained in ("coco", "imagenet"):
        if pretrained in ARCH_PRETRAINED.get(arch, ()) and is_cached(arch, pretrained):
            what = _WEIGHTS_NAMES[pretrained]
            return StartChoice(pretrained, arch, pretrained, label=_WEIGHTS_LABELS[pretrained],  # type: ignore[arg-type]
                               reason=f"{none_yet}; the {what} for {arch} are already downloaded")
    nothing_cached = (f"{none_yet} and no ImageNet or COCO weights in the cache"
                      f"{' (offline)' if is_offline() else ''}")
    path = pretrained_model_path()
    if arch == PRETRAINED_MODEL_ARCH and path.is_file():
        return StartChoice("procedural", arch, init_checkpoint=str(path), label="procedural pretrained model",
                           reason=f"{nothing_cached}; the shipped procedurally pretrained model learned features "
                                  "on synthetic images that transfer to real photos")
    why = (f"the procedurally pretrained model is for {PRETRAINED_MODEL_ARCH} only" if arch != PRETRAINED_MODEL_ARCH
           else f"the procedurally pretrained model is not installed ({path})")
    return given_start("none", arch, reason=f"{nothing_cached}, and {why}")


def head_start_model(checkpoint: str | None, class_names: Sequence[str]) -> str | None:
    """``checkpoint`` if fine-tuning it is a head start for a project with ``class_names``, else None.

    The shipped demo model stays loaded when another project is opened; it knows four synthetic
    shapes and nothing that the procedural model does not know better, so it is the current model
    only for a project whose classes are all among its own (the demo project).
    """
    if not checkpoint:
        return None
    try:
        is_demo = Path(checkpoint).resolve() == demo_model_path().resolve()
    except OSError:
        is_demo = False
    if not is_demo:
        return checkpoint
    from engine.synth import CLASS_NAMES

    return checkpoint if class_names and set(class_names) <= set(CLASS_NAMES) else None
