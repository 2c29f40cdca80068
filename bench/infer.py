"""CPU inference: the ONNX Runtime path against torch, side by side, end to end (image in, detections out).

For each configuration (architecture at an image size) one photo-like RGB ``uint8`` image goes through
four sides, alternating in a rotating order so
machine load hits all alike:

- ``plain``: torchvision's eager ``RetinaNet.forward`` on the image already converted to a float
  tensor (the conversion is NOT charged to it), under ``torch.inference_mode``;
- ``torch``: ``Detector.predict`` with the torch backend (channels-last, as ``from_checkpoint`` makes it);
- ``onnx``: ``Detector.predict`` with the ONNX Runtime backend (``engine.onnx_runtime``: numpy resize,
  normalise, ONNX Runtime, numpy decode + NMS), what the app runs on the CPU by default;
- ``ort-net``: the ONNX Runtime session alone on the prepared batch (how much pre/post-processing costs).

The compact model runs with the shipped demo model's weights (at either image size: its weights do not
depend on it), so its detections are real; R50-FPN has random weights (seed fixed; no network access),
its classification bias raised so that post-processing has work to do. On a machine loaded beyond its
cores, torch's OpenMP threads wait at every layer's barrier for a descheduled sibling (seen here: 1-11 s
per image with 2 threads at load 13, against 80 ms quiet) while ONNX Runtime's pool degrades gently;
``--threads 1`` compares the two without that effect.

Prints medians of wall and process CPU time, the speed-ups over ``plain``, the agreement between the
two Detector backends (largest box and score difference, same labels in the same order), and the
network's FLOPs with the floor they set at ``--core-gflops`` per core. The last line is ``onnx_speedup=<x>``:
plain / onnx wall time for the compact model at 320 px (goal >= 1.5). With no arguments: compact at 320
and 512 px and R50-FPN at 512 px, 2 threads, a few minutes on 2 cores.

    python bench/infer.py [--configs retinanet_mobilenet_v3_fpn@320 ...] [--runs 15] [--threads 2]
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

from engine.infer import Detector  # noqa: E402
from engine.models import build_model  # noqa: E402
from engine.onnx_export import runtime_for_model  # noqa: E402

NUM_CLASSES = 5
COMPACT = "retinanet_mobilenet_v3_fpn"
DEFAULT_CONFIGS = [f"{COMPACT}@320", f"{COMPACT}@512", "retinanet_resnet50_fpn@512"]
IMAGE_FOR_SIZE = {320: (427, 320), 512: (640, 480)}  # (width, height): photo-like inputs, downscaled


def _image(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A synthetic demo scene (textured background, clutter, shapes) of exactly ``width`` x ``height``."""
    from PIL import Image

    from engine.synth import render_image

    rng = np.random.default_rng(seed)
    while True:  # a scene with objects, so post-processing has boxes to keep
        image, boxes = render_image(rng, image_size=max(width, height), max_objects=5)
        if boxes:
            return np.asarray(image.resize((width, height), Image.BILINEAR))


def _gflops(model: torch.nn.Module, batch: np.ndarray) -> float:
    """FLOPs (2 per multiply-add) of backbone + FPN + heads on ``batch``, counted by torch."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        features = list(model.backbone(torch.from_numpy(batch)).values())
        model.head(features)
    return counter.get_total_flops() / 1e9


def _core_peak_gflops() -> float:
    """MHz x FLOPs per cycle (AVX-512: 2 FMA units x 16 floats x 2; AVX2: 2 x 8 x 2); 130 if unknown."""
    try:
        info = Path("/proc/cpuinfo").read_text()
        mhz = float(next(line.split(":")[1] for line in info.splitlines() if line.startswith("cpu MHz")))
    except (OSError, StopIteration, ValueError):
        return 130.0
    per_cycle = 64 if " avx512f" in info else 32 if " fma" in info else 16
    return mhz * per_cycle / 1000


def _agreement(a: list, b: list) -> str:
    if len(a) != len(b):
        return f"counts differ: {len(a)} vs {len(b)}"
    if not a:
        return "0 boxes"
    boxes = np.abs(np.array([d.xyxy for d in a]) - np.array([d.xyxy for d in b])).max()
    scores = max(abs(x.score - y.score) for x, y in zip(a, b))
    order = "same order" if [d.label for d in a] == [d.label for d in b] else "labels reordered (tied scores)"
    return f"{len(a)} boxes, max|dbox| {boxes:.1e} px, max|dscore| {scores:.1e}, {order}"


def _model(arch: str, image_size: int, args: argparse.Namespace) -> tuple[torch.nn.Module, list[str], str]:
    if arch == COMPACT:
        from engine.checkpoint import load_checkpoint
        from engine.demo import demo_model_path

        ckpt = load_checkpoint(demo_model_path())
        model = build_model(arch, len(ckpt.class_names), image_size=image_size)
        model.load_state_dict({k: v.float() for k, v in ckpt.state_dict.items()})
        return model.eval(), list(ckpt.class_names), "shipped demo weights"
    torch.manual_seed(args.seed)
    model = build_model(arch, NUM_CLASSES, image_size=image_size).eval()
    with torch.no_grad():  # a random model that fires somewhere, so post-processing does real work
        model.head.classification_head.cls_logits.bias.fill_(args.bias)
    return model, [f"class{i}" for i in range(NUM_CLASSES)], f"random weights (seed {args.seed}, bias {args.bias})"


def bench(arch: str, image_size: int, args: argparse.Namespace) -> dict[str, float]:
    model, names, weights = _model(arch, image_size, args)
    plain_model = copy.deepcopy(model)
    plain_model.score_thresh = args.threshold
    started = time.perf_counter()
    runtime = runtime_for_model(model, names, arch=arch, image_size=image_size, threads=torch.get_num_threads())
    export_s = time.perf_counter() - started
    onnx = Detector(None, names, image_size=image_size, arch=arch, device=torch.device("cpu"), runtime=runtime)
    ours = Detector._build(copy.deepcopy(model), names, image_size=image_size, arch=arch,
                           device=torch.device("cpu"), backend="torch")
    width, height = IMAGE_FOR_SIZE.get(image_size, (image_size * 4 // 3, image_size))
    image = _image(width, height, args.seed)
    tensor = torch.from_numpy(image.copy()).permute(2, 0, 1).float().div(255.0)
    pad_h, pad_w = runtime.padded_shape(height, width)
    batch = np.zeros((1, 3, pad_h, pad_w), dtype=np.float32)
    runtime._normalise_into(image, batch[0])

    def plain() -> None:
        with torch.inference_mode():
            plain_model([tensor])

    sides = {
        "plain": plain,
        "torch": lambda: ours.predict([image], score_thresh=args.threshold),
        "onnx": lambda: onnx.predict([image], score_thresh=args.threshold),
        "ort-net": lambda: runtime.session.run(None, {"images": batch}),
    }
    for _ in range(args.warmup):
        for fn in sides.values():
            fn()
    wall: dict[str, list[float]] = {k: [] for k in sides}
    cpu: dict[str, list[float]] = {k: [] for k in sides}
    order = list(sides)
    for i in range(args.runs):
        for name in order[i % len(order):] + order[: i % len(order)]:  # rotate who goes first
            start, start_cpu = time.perf_counter(), time.process_time()
            sides[name]()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    ms = {k: statistics.median(v) * 1000 for k, v in wall.items()}
    cpu_ms = {k: statistics.median(v) * 1000 for k, v in cpu.items()}
    gflops = _gflops(model, batch)
    floor_cpu_ms = gflops / args.core_gflops * 1000  # every core at its peak: the cpu-time floor
    floor_ms = floor_cpu_ms / args.threads
    print(f"\n{arch} at {image_size} px, {weights}, input {width}x{height} (padded {pad_w}x{pad_h}); "
          f"in-memory export + session {export_s:.1f} s")
    for name in sides:
        print(f"  {name:8s} wall {ms[name]:7.1f} ms  cpu {cpu_ms[name]:7.1f} ms"
              + (f"  speed-up over plain: wall x{ms['plain'] / ms[name]:.2f}, cpu x{cpu_ms['plain'] / cpu_ms[name]:.2f}"
                 if name != "plain" else ""))
    print(f"  onnx vs torch Detector: wall x{ms['torch'] / ms['onnx']:.2f}, cpu x{cpu_ms['torch'] / cpu_ms['onnx']:.2f}; "
          f"pre+post-processing {ms['onnx'] - ms['ort-net']:.1f} ms of {ms['onnx']:.1f} wall, "
          f"{cpu_ms['onnx'] - cpu_ms['ort-net']:.1f} ms of {cpu_ms['onnx']:.1f} cpu")
    print(f"  network {gflops:.2f} GFLOP: floor {floor_ms:.0f} ms wall on {args.threads} cores at "
          f"{args.core_gflops:.0f} GFLOP/s each ({floor_cpu_ms:.0f} ms cpu); onnx end to end is "
          f"{ms['onnx'] / floor_ms:.2f}x the floor in wall time, {cpu_ms['onnx'] / floor_cpu_ms:.2f}x in cpu time")
    thresh = args.threshold
    print(f"  agreement (threshold {thresh}): "
          f"{_agreement(onnx.predict([image], score_thresh=thresh)[0], ours.predict([image], score_thresh=thresh)[0])}")
    return {"speedup": ms["plain"] / ms["onnx"], "cpu_speedup": cpu_ms["plain"] / cpu_ms["onnx"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=DEFAULT_CONFIGS, metavar="ARCH@SIZE")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threshold", type=float, default=0.05)
    parser.add_argument("--bias", type=float, default=-2.0, help="class-logit bias of the random R50 model")
    parser.add_argument("--threads", type=int, default=2, help="torch and ONNX Runtime CPU threads")
    parser.add_argument("--core-gflops", type=float, default=_core_peak_gflops(),
                        help="one core's float32 peak for the floor figure (default: clock x FLOPs per cycle "
                             "from /proc/cpuinfo, 2 FMA units assumed)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import onnxruntime

    print(f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, {args.threads} threads, "
          f"median of {args.runs} rotating runs")
    results = {}
    for config in args.configs:
        arch, _, size = config.partition("@")
        results[(arch, int(size or 512))] = bench(arch, int(size or 512), args)
    key = (COMPACT, 320)
    if key in results:
        print(f"wall time is what a user waits; on a machine shared beyond its cores cpu time is steadier: "
              f"compact 320 px cpu speed-up x{results[key]['cpu_speedup']:.2f}")
        print(f"onnx_speedup={results[key]['speedup']:.2f}")


if __name__ == "__main__":
    main()
