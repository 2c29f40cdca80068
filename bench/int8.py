"""int8 ONNX against float ONNX: CPU speed and the AP it costs, on the shipped demo model.

Exports the demo model, quantises it (``engine.onnx_int8``: static, calibrated on ``--calibration``
synthetic images of a seed that neither training nor the evaluation uses), then

- speed: ``Detector.predict`` end to end on one demo scene of ``--size`` (WxH), float and int8
  alternating, median of ``--runs``, with the plain eager torchvision forward beside them;
- quality: COCO AP / AP50 / AP75 of both on the model card's evaluation (``retinalab demo-data
  --images 200 --seed 3``, score threshold 0.05), printed beside the speed.

The last line is ``int8_speedup=<x>`` (float / int8 wall time). No arguments: a few minutes on 2 cores.

    python bench/int8.py [--eval-images 200] [--calibration 32] [--runs 15] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-images", type=int, default=200)
    parser.add_argument("--calibration", type=int, default=32, help="calibration images (seed 5)")
    parser.add_argument("--size", default="427x320", help="WxH of the timed image")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from PIL import Image

    from engine.checkpoint import load_checkpoint, model_from_checkpoint
    from engine.demo import demo_model_path
    from engine.evaluate import evaluate
    from engine.infer import Detector
    from engine.io import read_dataset
    from engine.onnx_export import export_checkpoint
    from engine.onnx_int8 import calibration_images, quantize_int8
    from engine.synth import make_demo_dataset, render_image

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        float_path = export_checkpoint(demo_model_path(), tmp / "demo.onnx")
        make_demo_dataset(tmp / "calib", num_images=args.calibration, seed=5, image_size=256)
        started = time.perf_counter()
        int8_path = quantize_int8(float_path, tmp / "demo_int8.onnx",
                                  calibration_images(tmp / "calib", args.calibration))
        quant_s = time.perf_counter() - started
        detectors = {"float": Detector.from_checkpoint(float_path), "int8": Detector.from_checkpoint(int8_path)}
        print(f"torch {torch.__version__}, {args.threads} threads; float {float_path.stat().st_size / 1e6:.1f} MB, "
              f"int8 {int8_path.stat().st_size / 1e6:.1f} MB (quantised in {quant_s:.0f} s on {args.calibration} "
              f"images)")

        width, height = (int(v) for v in args.size.lower().split("x"))
        rng = np.random.default_rng(11)
        scene, _ = render_image(rng, image_size=max(width, height), max_objects=5)
        image = np.asarray(scene.resize((width, height), Image.BILINEAR))
        model = model_from_checkpoint(load_checkpoint(demo_model_path())).eval()
        tensor = torch.from_numpy(image.copy()).permute(2, 0, 1).float().div(255.0)

        def plain() -> None:
            with torch.inference_mode():
                model([tensor])

        sides = {"plain torch": plain, **{k: (lambda d=d: d.predict([image])) for k, d in detectors.items()}}
        for fn in sides.values():
            fn()
        wall: dict[str, list[float]] = {k: [] for k in sides}
        order = list(sides)
        for i in range(args.runs):
            for name in order[i % len(order):] + order[: i % len(order)]:
                start = time.perf_counter()
                sides[name]()
                wall[name].append(time.perf_counter() - start)
        ms = {k: statistics.median(v) * 1000 for k, v in wall.items()}

        make_demo_dataset(tmp / "eval", num_images=args.eval_images, seed=3, image_size=256)
        ann = read_dataset(tmp / "eval" / "annotations.json", "coco")
        metrics = {k: evaluate(d, ann) for k, d in detectors.items()}

    print(f"end to end on one {width}x{height} image, median of {args.runs} rotating runs:")
    for name in sides:
        quality = metrics.get(name)
        ap = (f"  AP {quality['AP']:.3f} AP50 {quality['AP50']:.3f} AP75 {quality['AP75']:.3f}"
              f" ({args.eval_images} demo images, seed 3)" if quality else "")
        print(f"  {name:12s} {ms[name]:7.1f} ms{ap}")
    delta = {k: metrics["int8"][k] - metrics["float"][k] for k in ("AP", "AP50", "AP75")}
    print("int8 AP cost: " + ", ".join(f"{k} {v:+.3f}" for k, v in delta.items()))
    print(f"int8_speedup={ms['float'] / ms['int8']:.2f}")


if __name__ == "__main__":
    main()
