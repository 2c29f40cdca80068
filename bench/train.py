"""Training throughput: images/s of ``engine.train.fit`` against a bare torchvision loop.

Same model (``build_model``), same data pipeline (``DetectionDataset`` + the training transforms),
same batch size, image size, optimizer and thread count; the bare loop is torchvision's reference
``loss = sum(model(images, targets).values()); zero_grad; backward; step``. Throughput is timed over
the steps after a warm-up; the two are run alternately ``--rounds`` times and the medians compared,
because other processes on a shared machine shift the absolute numbers.

    .venv/bin/python bench/train.py [--images 24 --image-size 256 --batch-size 4 --steps 8 --threads 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from engine.dataset import DetectionDataset, EpochSampler, collate_detections, prepare_data  # noqa: E402
from engine.models import build_model  # noqa: E402
from engine.synth import make_demo_dataset  # noqa: E402
from engine.train import fit  # noqa: E402
from engine.train_schedule import build_optimizer  # noqa: E402
from engine.transforms import train_transforms  # noqa: E402
from engine.types import TrainConfig  # noqa: E402

WARMUP = 2


def bare_loop(config: TrainConfig, steps: int) -> float:
    data = prepare_data(config)
    torch.manual_seed(config.seed)
    model = build_model(config.arch, len(data.class_names), image_size=config.image_size)
    model.train()
    optimizer = build_optimizer(model, config)
    dataset = DetectionDataset(data.train, data.class_names, train_transforms(config.image_size))
    loader = torch.utils.data.DataLoader(dataset, batch_size=config.batch_size, sampler=EpochSampler(len(dataset)),
                                         collate_fn=collate_detections)
    done, images_seen, start = 0, 0, 0.0
    while done < steps + WARMUP:
        for images, targets, _ in loader:
            if done == WARMUP:
                start, images_seen = time.perf_counter(), 0
            loss = sum(model(images, targets).values())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            done += 1
            images_seen += len(images)
            if done >= steps + WARMUP:
                break
    return images_seen / (time.perf_counter() - start)


def fit_loop(config: TrainConfig, steps: int, out: Path) -> float:
    times: list[tuple[float, int]] = []

    def on_event(event) -> None:  # type: ignore[no-untyped-def]
        if event.kind == "batch_end":
            times.append((time.perf_counter(), event.step))

    stop = lambda: len(times) >= steps + WARMUP  # noqa: E731
    fit(dataclasses.replace(config, out=str(out)), on_event=on_event, should_stop=stop)
    (t0, _), (t1, _) = times[WARMUP - 1], times[steps + WARMUP - 1]
    return steps * config.batch_size / (t1 - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--image-size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_demo_dataset(root / "data", num_images=args.images, seed=0, image_size=args.image_size)
        # enough images that the timed steps stay inside the first epoch
        config = TrainConfig(data=str(root / "data"), out="", epochs=50, batch_size=args.batch_size,
                             image_size=args.image_size, num_threads=args.threads, warmup_steps=1)
        bare, ours = [], []
        for r in range(args.rounds):
            bare.append(bare_loop(config, args.steps))
            ours.append(fit_loop(config, args.steps, root / f"out{r}"))
            print(f"round {r + 1}: bare {bare[-1]:.2f} img/s, fit {ours[-1]:.2f} img/s", flush=True)
    b, o = statistics.median(bare), statistics.median(ours)
    print(f"bare torchvision loop: {b:.2f} img/s | fit(): {o:.2f} img/s | ratio fit/bare = {o / b:.3f} "
          f"({args.image_size}px, batch {args.batch_size}, {args.threads} threads, median of {args.rounds})")


if __name__ == "__main__":
    main()
