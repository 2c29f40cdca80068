"""Inference overhead: ``Detector.predict`` against a plain torchvision eager forward of the same model.

For each architecture (random weights, fixed seed) and each image size, times ``Detector.predict`` on
an RGB ``uint8`` array (conversion, resize, forward, mapping to ``Detection``s included) and a plain
``model([tensor])`` under ``torch.inference_mode`` on the same image already converted to a float
tensor (the conversion is NOT charged to the plain side). Runs alternate between the two so machine
load hits both alike; prints medians, the ratio ours/plain (goal <= 1.05) and the largest box difference
between the two outputs (must stay < 1e-3 px). Our side gets the model the way ``from_checkpoint``
prepares it (``prepare_for_inference``: channels-last on CPU); ``--no-prepare`` measures ``from_model``.
Run: ``python bench/infer.py [--arch A ...] [--sizes 1280x960 512x384] [--runs 15] [--device cpu]``.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from engine.infer import Detector, prepare_for_inference, resolve_device  # noqa: E402
from engine.models import build_model  # noqa: E402

NUM_CLASSES = 5


def _image(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A smooth random RGB image (photo-like, so the detector sees structure rather than noise)."""
    rng = np.random.default_rng(seed)
    small = torch.from_numpy(rng.random((1, 3, height // 16 + 1, width // 16 + 1), dtype=np.float32))
    big = torch.nn.functional.interpolate(small, size=(height, width), mode="bicubic", align_corners=False)
    return (big[0].permute(1, 2, 0).clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _box_diff(dets: list, ref: dict[str, torch.Tensor], width: int, height: int) -> tuple[float, int, int]:
    boxes = ref["boxes"].float().cpu().clone()
    boxes[:, 0::2] = boxes[:, 0::2].clamp(0, width)
    boxes[:, 1::2] = boxes[:, 1::2].clamp(0, height)
    keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    boxes = boxes[keep]
    if len(boxes) != len(dets):
        return float("inf"), len(dets), len(boxes)
    if not dets:
        return 0.0, 0, 0
    ours = torch.tensor([d.xyxy for d in dets])
    # order-free: scores of a random model tie often, so two equal boxes may swap places
    nearest = (ours[:, None, :] - boxes[None, :, :]).abs().amax(dim=2).amin(dim=1)
    return float(nearest.max()), len(dets), len(boxes)


def bench(arch: str, width: int, height: int, args: argparse.Namespace, device: torch.device) -> None:
    torch.manual_seed(args.seed)
    model = build_model(arch, NUM_CLASSES, image_size=args.image_size).to(device).eval()
    with torch.no_grad():  # a random model that fires somewhere, so post-processing does real work
        model.head.classification_head.cls_logits.bias.fill_(args.bias)
    plain_model = copy.deepcopy(model)
    if not args.no_prepare:  # what Detector.from_checkpoint / from_pretrained do to the model they own
        model = prepare_for_inference(model, device)
    plain_model.score_thresh = args.threshold
    names = [f"class{i}" for i in range(NUM_CLASSES)]
    detector = Detector.from_model(model, names, image_size=args.image_size, arch=arch, device=str(device))
    image = _image(width, height, args.seed)
    tensor = torch.from_numpy(image).to(device).permute(2, 0, 1).float().div(255.0)

    def ours() -> list:
        result = detector.predict([image], score_thresh=args.threshold)[0]
        _sync(device)
        return result

    def plain() -> dict[str, torch.Tensor]:
        with torch.inference_mode():
            result = plain_model([tensor])[0]
        _sync(device)
        return result

    for _ in range(args.warmup):
        ours()
        plain()
    # wall time, and process CPU time (less disturbed by other processes on a shared CPU machine)
    wall: dict[str, list[float]] = {"ours": [], "plain": []}
    cpu: dict[str, list[float]] = {"ours": [], "plain": []}
    for i in range(args.runs):
        order = (("ours", ours), ("plain", plain)) if i % 2 == 0 else (("plain", plain), ("ours", ours))
        for name, fn in order:
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    diff, n_ours, n_plain = _box_diff(ours(), plain(), width, height)
    med = {k: {n: statistics.median(v[n]) for n in v} for k, v in (("wall", wall), ("cpu", cpu))}
    print(
        f"{arch:27s} {width}x{height}->{args.image_size}  "
        f"wall ours {med['wall']['ours'] * 1000:7.1f} ms plain {med['wall']['plain'] * 1000:7.1f} ms "
        f"ratio {med['wall']['ours'] / med['wall']['plain']:5.3f} | "
        f"cpu ours {med['cpu']['ours'] * 1000:7.1f} ms plain {med['cpu']['plain'] * 1000:7.1f} ms "
        f"ratio {med['cpu']['ours'] / med['cpu']['plain']:5.3f} | "
        f"boxes {n_ours}/{n_plain} max|diff| {diff:.1e} px"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", nargs="+", default=["retinanet_mobilenet_v3_fpn", "retinanet_resnet50_fpn"])
    parser.add_argument("--sizes", nargs="+", default=["1280x960", "512x384"], help="WxH of the test images")
    parser.add_argument("--image-size", type=int, default=512)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threshold", type=float, default=0.05)
    parser.add_argument("--bias", type=float, default=-3.7, help="class-logit bias of the random model")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-prepare", action="store_true",
                        help="skip prepare_for_inference (channels-last on CPU): Detector.from_model's path")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    print(f"torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}, "
          f"median of {args.runs} alternating runs, random weights (seed {args.seed}, bias {args.bias})")
    for arch in args.arch:
        for size in args.sizes:
            width, height = (int(v) for v in size.lower().split("x"))
            bench(arch, width, height, args, device)


if __name__ == "__main__":
    main()
