"""Training throughput: images/s of ``engine.train.fit`` against a bare torchvision loop, CPU and wall time.

Both sides train the same model (``build_model``, same seed) on the same data pipeline
(``DetectionDataset`` + ``train_transforms`` with the config's augmentation, ``EpochSampler``,
``DataLoader`` with the config's workers), batch size, image size, optimizer (``build_optimizer``) and
thread count, seeded alike: each step both see the same images with the same augmentation (the bench
checks that their first-step losses agree). The bare loop is what one writes with torchvision:
``loss = sum(model(images, targets).values()); zero_grad; backward; step``. ``fit`` also pays, every
step, for what it offers: the learning-rate schedule, gradient clipping, the NaN/inf guard, the
``batch_end`` event and the ``should_stop`` check.

Timing, made to hold up on a shared, loaded machine: the two sides alternate step by step (F B F B
...: one bare step runs inside each of ``fit``'s ``batch_end`` events, with its own RNG state swapped
in), so neighbouring steps see the same load. Each step is stamped with ``perf_counter`` (wall) and
``process_time`` (CPU time of this process, which waiting for a core does not inflate); a step
includes loading its batch on both sides. The first ``--warmup`` steps of each side are dropped; data
indexing, model build, ``fit``'s start-up and the checkpoint it writes on stop fall outside the timed
steps, and they stay in the first epoch, so validation never runs in them. Reported: images/s of
each side over all timed steps (CPU and wall), their ratio, and the median of per-step ratios.
``--aa`` times a second bare loop in ``fit``'s place: how far from 1.000 equal work lands today.

    .venv/bin/python bench/train.py --image-size 128 --batch-size 4 --threads 1 --steps 12 --warmup 3 --rounds 3
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from engine.dataset import DetectionDataset, EpochSampler, collate_detections, prepare_data  # noqa: E402
from engine.models import build_model  # noqa: E402
from engine.synth import make_demo_dataset  # noqa: E402
from engine.train import fit  # noqa: E402
from engine.train.optim import build_optimizer  # noqa: E402
from engine.transforms import train_transforms  # noqa: E402
from engine.types import TrainConfig, TrainEvent  # noqa: E402

VAL_FRACTION = 0.2


Stamp = tuple[float, float]  # (perf_counter, process_time)


def _stamp() -> Stamp:
    return time.perf_counter(), time.process_time()


class BareLoop:
    """The torchvision reference loop over the same pipeline, one step per ``step()`` call.

    It keeps its own torch RNG state (swapped in and out around each step, outside the timing), so its
    augmentation draws are the ones it would make running alone, seeded as ``fit`` seeds epoch 0.
    """

    def __init__(self, config: TrainConfig) -> None:
        data = prepare_data(config)
        torch.manual_seed(config.seed)
        self.model = build_model(config.arch, len(data.class_names), pretrained=config.pretrained,
                                 alpha=config.alpha, gamma=config.gamma, image_size=config.image_size)
        self.model.train()
        self.optimizer = build_optimizer(self.model, config)
        dataset = DetectionDataset(data.train, data.class_names, train_transforms(
            config.image_size, scale_range=(0.6, 1.4) if config.augment else (1.0, 1.0),
            photometric=config.augment))
        sampler = EpochSampler(len(dataset), seed=config.seed)
        sampler.set_epoch(0)
        self.loader = torch.utils.data.DataLoader(dataset, batch_size=config.batch_size, sampler=sampler,
                                                  collate_fn=collate_detections, num_workers=config.num_workers)
        self.batches: Iterator[Any] | None = None
        self.rng = torch.Generator().manual_seed(config.seed * 1_000_003).get_state()  # fit's epoch-0 seed
        self.first_loss = math.nan

    def step(self) -> tuple[Stamp, Stamp]:
        """One training step (its batch loaded inside it); returns its start and end stamps."""
        outer = torch.get_rng_state()
        torch.set_rng_state(self.rng)
        start = _stamp()
        if self.batches is None:
            self.batches = iter(self.loader)
        images, targets, _ = next(self.batches)
        loss = sum(self.model(images, targets).values())
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        end = _stamp()
        if math.isnan(self.first_loss):
            self.first_loss = loss.item()
        self.rng = torch.get_rng_state()
        torch.set_rng_state(outer)
        return start, end


@dataclasses.dataclass
class Round:
    """Per-step (wall, CPU) seconds of each side over the timed steps, and the first-step losses."""

    bare: list[Stamp]
    fit: list[Stamp]
    bare_loss: float
    fit_loss: float


def run_round(config: TrainConfig, warmup: int, steps: int, out: Path) -> Round:
    """``fit`` with a bare step run inside each of its ``batch_end`` events: F B F B ... step by step."""
    bare = BareLoop(config)
    fit_steps: list[Stamp] = []
    bare_steps: list[Stamp] = []
    resumed: list[Stamp] = []  # when control went back to fit after the last bare step
    fit_loss = [math.nan]

    def on_event(event: TrainEvent) -> None:
        if event.kind == "failed":
            raise RuntimeError(f"fit failed: {event.message}")
        if event.kind != "batch_end":
            return
        end = _stamp()
        if resumed:
            fit_steps.append((end[0] - resumed[-1][0], end[1] - resumed[-1][1]))
        else:
            fit_loss[0] = event.losses.get("total", math.nan)
        b0, b1 = bare.step()
        bare_steps.append((b1[0] - b0[0], b1[1] - b0[1]))
        resumed.append(_stamp())

    result = fit(dataclasses.replace(config, out=str(out)), on_event=on_event,
                 should_stop=lambda: len(bare_steps) >= warmup + steps)
    if result.status != "cancelled":
        raise RuntimeError(f"fit ended {result.status} before the bench stopped it: {result.message}")
    # fit's first step has no start stamp; both sides drop their first `warmup` steps
    return Round(bare=bare_steps[warmup:], fit=fit_steps[warmup - 1:], bare_loss=bare.first_loss,
                 fit_loss=fit_loss[0])


def run_aa_round(config: TrainConfig, warmup: int, steps: int) -> Round:
    """Two identical bare loops alternating step by step (A/A): the bench's own noise floor."""
    first, second = BareLoop(config), BareLoop(config)
    times: tuple[list[Stamp], list[Stamp]] = ([], [])
    for _ in range(warmup + steps):
        for loop, into in zip((first, second), times):
            start, end = loop.step()
            into.append((end[0] - start[0], end[1] - start[1]))
    return Round(bare=times[0][warmup:], fit=times[1][warmup:], bare_loss=first.first_loss,
                 fit_loss=second.first_loss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=0, help="dataset size (default: just enough for one epoch)")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--steps", type=int, default=12, help="timed steps per side and round")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per side and round before them")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers (both sides)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-augment", action="store_true", help="flip only (TrainConfig.augment=False)")
    parser.add_argument("--aa", action="store_true",
                        help="time a second bare loop in fit's place: the ratio the bench shows for equal work")
    args = parser.parse_args()
    if args.warmup < 1 or args.steps < 1:
        parser.error("--warmup and --steps must be at least 1")
    torch.set_num_threads(args.threads)
    total, bs = args.warmup + args.steps, args.batch_size
    needed = math.ceil(total * args.batch_size / (1 - VAL_FRACTION)) + 2
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_demo_dataset(root / "data", num_images=max(args.images, needed), seed=0, image_size=args.image_size)
        config = TrainConfig(data=str(root / "data"), out="", epochs=50, batch_size=args.batch_size,
                             image_size=args.image_size, num_threads=args.threads, num_workers=args.workers,
                             val_fraction=VAL_FRACTION, warmup_steps=5, augment=not args.no_augment, device="cpu")
        train_images = len(prepare_data(config).train.images)
        if train_images < total * args.batch_size:
            parser.error(f"{train_images} training images: too few for {total} steps in one epoch (raise --images)")
        rounds: list[Round] = []
        name = "bare #2" if args.aa else "fit()"
        for r in range(args.rounds):
            if args.aa:
                rnd = run_aa_round(config, args.warmup, args.steps)
            else:
                rnd = run_round(config, args.warmup, args.steps, root / f"out{r}")
            rounds.append(rnd)
            same = math.isclose(rnd.bare_loss, rnd.fit_loss, rel_tol=1e-4)
            print(f"round {r + 1}: bare {_rate(rnd.bare, 1, bs):.2f} img/s CPU, {_rate(rnd.bare, 0, bs):.2f} wall | "
                  f"{name} {_rate(rnd.fit, 1, bs):.2f} CPU, {_rate(rnd.fit, 0, bs):.2f} wall | first-step loss "
                  f"bare {rnd.bare_loss:.5f} {name} {rnd.fit_loss:.5f}{'' if same else '  <- NOT THE SAME WORK'}",
                  flush=True)
    for clock, k in (("CPU time", 1), ("wall", 0)):
        bare_all = [x for rnd in rounds for x in rnd.bare]
        fit_all = [x for rnd in rounds for x in rnd.fit]
        b, o = _rate(bare_all, k, bs), _rate(fit_all, k, bs)
        per_step = statistics.median(x[k] / y[k] for x, y in zip(bare_all, fit_all))
        print(f"{clock:>8}: bare {b:.2f} img/s | {name} {o:.2f} img/s | ratio {name}/bare = {o / b:.3f} "
              f"(median per-step ratio {per_step:.3f}, {len(fit_all)} step pairs)")
    print(f"({args.image_size}px, batch {bs}, {args.threads} thread(s), {args.workers} workers, augment "
          f"{not args.no_augment}, {args.rounds} rounds of {args.warmup} warm-up + {args.steps} timed step pairs)")


def _rate(steps: list[Stamp], clock: int, batch_size: int) -> float:
    return len(steps) * batch_size / sum(s[clock] for s in steps)


if __name__ == "__main__":
    main()
