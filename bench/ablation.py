"""The paper's Table 1b direction on our synthetic data: focal loss against cross-entropy.

Two runs of ``fit`` with the same data, model (compact, from scratch), optimizer, schedule, seed and
budget; only the classification loss differs: focal loss (gamma 2, alpha 0.25) against the
alpha-balanced cross-entropy (gamma 0, alpha 0.75). Both heads start from the same pi = 0.01 prior.
Prints both validation APs.

    .venv/bin/python bench/ablation.py [--images 120 --image-size 160 --epochs 12 --threads 1]
    python bench/ablation.py --images 4000 --image-size 256 --epochs 8 --batch-size 16 --workers 6 --only focal  # GPU
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.synth import make_demo_dataset  # noqa: E402
from engine.train import fit  # noqa: E402
from engine.types import TrainConfig  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=120)
    parser.add_argument("--image-size", type=int, default=160)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workers", type=int, default=0, help="data-loading worker processes")
    parser.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"])
    parser.add_argument("--only", choices=["focal", "ce"], help="run one arm (to run the two in parallel)")
    args = parser.parse_args()
    arms = {"focal": (2.0, 0.25), "ce": (0.0, 0.75)}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_demo_dataset(root / "data", num_images=args.images, seed=0, image_size=args.image_size,
                          workers=max(1, args.workers))
        results = {}
        for name, (gamma, alpha) in arms.items():
            if args.only and name != args.only:
                continue
            start = time.perf_counter()
            config = TrainConfig(data=str(root / "data"), out=str(root / name), epochs=args.epochs,
                                 batch_size=args.batch_size, image_size=args.image_size, optimizer="adamw",
                                 lr=1e-3, weight_decay=0.05, warmup_steps=50, gamma=gamma, alpha=alpha,
                                 num_threads=args.threads, num_workers=args.workers, device=args.device,
                                 val_every=max(1, args.epochs // 3), seed=0)
            result = fit(config)
            ap = result.metrics.get("AP", 0.0)
            results[name] = result.metrics
            print(f"{name:5s} (gamma={gamma}, alpha={alpha}): AP {ap:.4f}  AP50 {result.metrics.get('AP50', 0.0):.4f}"
                  f"  [{result.status}, {time.perf_counter() - start:.0f} s]", flush=True)
    print(f"{args.images} synthetic images ({args.image_size}px, 20% held out), {args.epochs} epochs, "
          f"batch {args.batch_size}, AdamW 1e-3, compact model from scratch")


if __name__ == "__main__":
    main()
