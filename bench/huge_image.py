"""Peak memory and time of ``retinalab detect`` on one huge image (issue 13, item 8).

Writes a ``--side`` x ``--side`` PNG (default 14000, 196 MP) and a random MobileNet checkpoint in a
temporary folder, runs ``retinalab detect`` on it in a child process and prints the child's wall time
and peak resident memory. Run: ``python bench/huge_image.py [--side 14000] [--image-size 320]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--side", type=int, default=14000)
    parser.add_argument("--image-size", type=int, default=320)
    args = parser.parse_args()

    import numpy as np
    import torch
    from PIL import Image

    from engine.checkpoint import save_checkpoint
    from engine.models import build_model

    with tempfile.TemporaryDirectory() as tmp:
        image = Path(tmp) / "huge.png"
        pixels = np.zeros((args.side, args.side, 3), np.uint8)
        pixels[..., 0] = (np.arange(args.side) % 256)[:, None]
        Image.fromarray(pixels).save(image, compress_level=1)
        del pixels
        torch.manual_seed(0)
        weights = Path(tmp) / "model.pt"
        model = build_model("retinanet_mobilenet_v3_fpn", 2, image_size=args.image_size)
        save_checkpoint(weights, model=model, arch="retinanet_mobilenet_v3_fpn", class_names=["a", "b"],
                        image_size=args.image_size, alpha=0.25, gamma=2.0)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "engine.cli", "detect", "--weights", str(weights), str(image),
                               "--device", "cpu"], capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
        seconds = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(proc.stdout.strip() or proc.stderr.strip().splitlines()[-1])
    print(f"{args.side}x{args.side} PNG, image size {args.image_size}: {seconds:.1f} s, peak {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
