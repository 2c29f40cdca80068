"""A head start, measured: fine-tune the compact model on raccoon from each start with the same budget.

Each start given on the command line trains ``retinanet_mobilenet_v3_fpn`` on the raccoon set's own
160 training photos (``bench/raccoon_split.py``: COCO files in a temporary folder that reference the
original images, nothing copied) with ``engine.train.fit``, and ``fit`` scores it on the 40 held-out
photos after every epoch (COCO AP, AP50, AP75, ``engine.evaluate``). Starts: ``random`` (random weights,
``--pretrained none``), ``demo`` (``--init`` the shipped demo model), ``procedural`` (``--init
--procedural PATH``), or any checkpoint path. Same epochs, image size, batch, seed and threads for all.
Recipe: ``--recipe default`` gives each start what ``retinalab train`` would (``default_recipe``: AdamW
1e-3 from random weights and from the procedural model, SGD 0.01 from another checkpoint); ``--recipe
same`` gives every start ``--optimizer`` (default AdamW, so the random run is the same in both modes)
at its default rate.

Printed per start: final AP / AP50 / AP75, the best AP50 (and its epoch), wall minutes, CPU-minutes
(wall x threads, what the run holds of the machine; also the process's own CPU time, which waiting
for a busy core does not inflate), the epoch and wall minutes at which AP50 first reached the random
run's final AP50, and AP50 as a multiple of the random run's. Times include the per-epoch validation.
``--json`` writes every epoch's numbers; ``--merge`` reads such a file first, so a later start (say a
new procedural model) is compared with runs already measured under the same settings.

    python bench/head_start.py random demo --epochs 12 --threads 2 --json head_start.json
    python bench/head_start.py procedural --procedural resources/models/retinanet_mobilenet_v3_procedural.pt \
        --epochs 12 --threads 2 --merge head_start.json --json head_start.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
# set before torch starts its OpenMP threads: spinning threads on a loaded machine made a 2-thread
# training step 6-9x slower than with passive waiting (30 s vs 3.3 s wall per batch of 4 at 320 px)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

SETTINGS = ("epochs", "image_size", "batch_size", "seed", "threads", "recipe", "optimizer")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    from raccoon_split import DEFAULT_SRC

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("starts", nargs="+", help="random, demo, procedural or a checkpoint path")
    p.add_argument("--procedural", type=Path, help="checkpoint the 'procedural' start is "
                   "(default: the shipped resources/models/retinanet_mobilenet_v3_procedural.pt)")
    p.add_argument("--src", type=Path, default=DEFAULT_SRC, help="the raccoon dataset (VOC)")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--image-size", type=int, default=320)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--recipe", default="default", choices=["default", "same"],
                   help="default: each start's `retinalab train` recipe; same: --optimizer for every start")
    p.add_argument("--optimizer", default="adamw", choices=["adamw", "sgd"], help="the one recipe of --recipe same")
    p.add_argument("--json", type=Path, help="write every epoch's numbers here")
    p.add_argument("--merge", type=Path, help="a --json file of earlier runs (same settings) to compare with")
    p.add_argument("--keep", type=Path, help="keep checkpoints in this folder (default: a temporary one)")
    return p.parse_args(argv)


def start_checkpoint(start: str, procedural: Path | None) -> str | None:
    """The checkpoint a start fine-tunes from (None: random weights)."""
    from engine.demo import demo_model_path
    from engine.start import pretrained_model_path

    if start == "random":
        return None
    if start == "demo":
        path = demo_model_path()
    else:
        path = (procedural or pretrained_model_path()) if start == "procedural" else Path(start)
    if not path.is_file():
        raise SystemExit(f"start {start!r}: no checkpoint at {path}")
    return str(path)


def recipe(init: str | None, args: argparse.Namespace, *, generated: bool = False) -> tuple[str, float, float]:
    """(optimizer, lr, weight decay) as ``retinalab train`` picks them for this start (``generated``:
    the procedurally pretrained model, which gets AdamW like random weights)."""
    from engine.cli.train import default_recipe

    optimizer = args.optimizer if args.recipe == "same" else None
    return default_recipe(argparse.Namespace(pretrained="none", init=init, optimizer=optimizer, lr=None,
                                             weight_decay=None), generated_start=generated)


def first_reach(epochs: Sequence[dict[str, Any]], target: float) -> dict[str, Any] | None:
    """The first epoch whose AP50 is at least ``target`` (None if none is)."""
    return next((e for e in epochs if e["AP50"] >= target), None)


def train_one(start: str, data: dict[str, Path], out: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Fine-tune from ``start``; returns its recipe and per-epoch numbers (cumulative wall and CPU seconds)."""
    from engine.train import fit
    from engine.types import TrainConfig

    init = start_checkpoint(start, args.procedural)
    optimizer, lr, wd = recipe(init, args, generated=start == "procedural")
    config = TrainConfig(data=str(data["train"]), val=str(data["test"]), out=str(out), format="coco",
                         arch="retinanet_mobilenet_v3_fpn", pretrained="none", init_checkpoint=init,
                         epochs=args.epochs, batch_size=args.batch_size, image_size=args.image_size,
                         optimizer=optimizer, lr=lr, weight_decay=wd, seed=args.seed, device="cpu",
                         num_threads=args.threads)
    epochs: list[dict[str, Any]] = []
    t0, c0 = time.perf_counter(), time.process_time()

    def on_event(event: Any) -> None:
        if event.kind == "batch_end" and event.step % 10 == 0:
            print(f"    step {event.step}/{event.total_steps}  wall {time.perf_counter() - t0:.0f} s  "
                  f"CPU {time.process_time() - c0:.0f} s", file=sys.stderr, flush=True)
        if event.kind != "epoch_end" or not event.metrics:
            return
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        m = event.metrics
        epochs.append({"epoch": event.epoch, "AP": m["AP"], "AP50": m["AP50"], "AP75": m["AP75"],
                       "loss": event.losses.get("total"), "wall_s": round(wall, 1), "cpu_s": round(cpu, 1)})
        print(f"  {start} epoch {event.epoch}/{args.epochs}: loss {event.losses.get('total', float('nan')):.3f}  "
              f"AP {m['AP']:.3f}  AP50 {m['AP50']:.3f}  AP75 {m['AP75']:.3f}  wall {wall / 60:.1f} min  "
              f"CPU {cpu / 60:.1f} min", flush=True)

    print(f"{start}: {init or 'random weights'}, {optimizer} lr {lr:g} wd {wd:g}", flush=True)
    result = fit(config, on_event=on_event)
    if result.status != "finished":
        raise SystemExit(f"{start}: training {result.status}: {result.message}")
    for entry, fitted in zip(epochs, result.history):  # fit's own training seconds, without validation
        entry["train_s"] = fitted.get("time_s")
    return {"init": init, "optimizer": optimizer, "lr": lr, "weight_decay": wd, "epochs": epochs}


def summary(runs: dict[str, dict[str, Any]], threads: int) -> list[dict[str, Any]]:
    """One row per start: final and best numbers, costs, time to reach the random run's final AP50."""
    scratch = runs["random"]["epochs"][-1]["AP50"] if "random" in runs else None
    rows = []
    for start, run in runs.items():
        epochs = run["epochs"]
        last, best = epochs[-1], max(epochs, key=lambda e: e["AP50"])
        reach = first_reach(epochs, scratch) if scratch is not None else None
        rows.append({
            "start": start, "recipe": f"{run['optimizer']} {run['lr']:g}", "AP": last["AP"], "AP50": last["AP50"],
            "AP75": last["AP75"], "best_AP50": best["AP50"], "best_epoch": best["epoch"],
            "wall_min": last["wall_s"] / 60, "cpu_min": last["wall_s"] * threads / 60,
            "process_cpu_min": last["cpu_s"] / 60,
            "reach_epoch": reach["epoch"] if reach else None, "reach_wall_min": reach["wall_s"] / 60 if reach else None,
            "AP50_x_random": last["AP50"] / scratch if scratch else None,
        })
    return rows


def print_table(rows: list[dict[str, Any]], scratch_ap50: float | None) -> None:
    target = f"{scratch_ap50:.3f}" if scratch_ap50 is not None else "n/a"
    print(f"\n{'start':<12} {'recipe':<12} {'AP':>6} {'AP50':>6} {'AP75':>6} {'best AP50 (ep)':>15} "
          f"{'wall min':>8} {'CPU-min':>8} {'proc CPU':>8} {'reach ' + target + ' (ep, min)':>24} {'AP50 x rnd':>10}")
    for r in rows:
        reach = f"{r['reach_epoch']}, {r['reach_wall_min']:.1f}" if r["reach_epoch"] else "not reached"
        reach = reach if scratch_ap50 is not None else "n/a"
        ratio = f"{r['AP50_x_random']:.2f}" if r["AP50_x_random"] is not None else "n/a"
        print(f"{r['start']:<12} {r['recipe']:<12} {r['AP']:>6.3f} {r['AP50']:>6.3f} {r['AP75']:>6.3f} "
              f"{r['best_AP50']:>9.3f} ({r['best_epoch']:>2}) {r['wall_min']:>8.1f} {r['cpu_min']:>8.1f} "
              f"{r['process_cpu_min']:>8.1f} {reach:>24} {ratio:>10}")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    import torch
    from raccoon_split import write_split

    args = parse_args(argv)
    settings = {key: getattr(args, key) for key in SETTINGS}
    runs: dict[str, dict[str, Any]] = {}
    if args.merge:
        earlier = json.loads(args.merge.read_text())
        if earlier["settings"] != settings:
            raise SystemExit(f"--merge {args.merge}: other settings {earlier['settings']}, not {settings}")
        runs = {k: v for k, v in earlier["runs"].items() if k not in args.starts}
    work = args.keep or Path(tempfile.mkdtemp(prefix="head_start-"))
    print(f"head_start: raccoon {args.src}, {args.epochs} epochs, {args.image_size} px, batch {args.batch_size}, "
          f"seed {args.seed}, {args.threads} thread(s) (OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}), "
          f"recipe {args.recipe}, torch {torch.__version__}", flush=True)
    data = write_split(args.src, work / "data")
    try:
        for start in args.starts:
            runs[start] = train_one(start, data, work / start, args)
            if "random" in runs:  # the baseline first, the others in the order run
                runs = {"random": runs["random"], **{k: v for k, v in runs.items() if k != "random"}}
            report = {"settings": settings, "command": " ".join(sys.argv), "runs": runs,
                      "summary": summary(runs, args.threads)}
            if args.json:  # after each start: a run stopped later keeps what was measured
                args.json.write_text(json.dumps(report, indent=1))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print_table(report["summary"], runs["random"]["epochs"][-1]["AP50"] if "random" in runs else None)
    if args.json:
        print(f"wrote {args.json}")
    return report


if __name__ == "__main__":
    main()
