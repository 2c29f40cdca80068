"""Label-error finding, measured: RetinaLab's disagreement finder against cleanlab's ObjectLab.

On a synthetic set the shipped demo model never saw (``engine.synth``, seed 15: training used 1,
validation 4, the model card 3, the tests 7, the demo project 2025), known label errors are injected
into the true labels: a share of boxes dropped (``missing``), shifted or shrunk to IoU 0.3-0.6 with
the truth (``loose_box``), given another class (``wrong_class``), and boxes added on empty background
(``spurious``); every box gets at most one error. The demo model predicts once; both methods judge
the same noisy labels with the same predictions.

Printed: per kind, precision and recall at K (K = number injected of that kind) and the average
precision of that kind's ranking (each injected error found counts, unfound ones count 0); then the
image-level AP (an image is positive when it holds an injected error; our image score is its best
finding's score, ObjectLab's is 1 - its label quality score), and ``box_recall``: the share of all
injected errors found, with the right kind, among the top K findings of every kind together
(K = all injected). The last line is ``image_AP=<x> cleanlab_image_AP=<y> box_recall=<z>``.

Run: ``python bench/label_issues.py [--images 300] [--seed 15] [--threads 1]`` (cleanlab: the
optional ``bench`` extra, ``pip install cleanlab``; without it ObjectLab is reported as n/a).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from engine.review import Finding, ReviewConfig, box_iou, find_disagreements, rank_findings  # noqa: E402
from engine.types import Box, Detection  # noqa: E402

KINDS = ("missing", "spurious", "wrong_class", "loose_box")


@dataclass(frozen=True)
class Injected:
    kind: str
    image: str
    box_id: int | None  # the noisy label's id (spurious, wrong_class, loose_box)
    truth: Box | None  # the true box (missing: the dropped one; loose_box: where it should be)


def inject(images: list, *, rng: np.random.Generator, p_drop: float, p_loose: float, p_swap: float,
           p_spurious: float, class_names: tuple[str, ...]) -> tuple[dict[str, list[Box]], list[Injected]]:
    """Noisy labels per image (box ids unique) and the list of injected errors."""
    noisy: dict[str, list[Box]] = {}
    injected: list[Injected] = []
    next_id = 0
    for img in images:
        boxes: list[Box] = []
        for truth in img.boxes:
            u = rng.random()
            if u < p_drop:
                injected.append(Injected("missing", img.path, None, truth))
                continue
            box = truth
            kind = None
            if u < p_drop + p_loose:
                loose = _loosen(truth, img.width, img.height, rng)
                if loose is not None:
                    box, kind = loose, "loose_box"
            elif u < p_drop + p_loose + p_swap:
                box = truth.replace(label=str(rng.choice([c for c in class_names if c != truth.label])))
                kind = "wrong_class"
            box = box.replace(id=next_id, source="manual")
            next_id += 1
            boxes.append(box)
            if kind:
                injected.append(Injected(kind, img.path, box.id, truth))
        if rng.random() < p_spurious:
            spot = _background_box(img, rng, class_names)
            if spot is not None:
                boxes.append(spot.replace(id=next_id))
                injected.append(Injected("spurious", img.path, next_id, None))
                next_id += 1
        noisy[img.path] = boxes
    return noisy, injected


def _loosen(truth: Box, width: int, height: int, rng: np.random.Generator) -> Box | None:
    """A shifted or shrunk copy of ``truth`` with IoU in [0.3, 0.6] with it (None if it will not fit)."""
    for _ in range(20):
        target = rng.uniform(0.3, 0.6)
        if rng.random() < 0.5:  # shrink around a random point inside: IoU = s^2
            s = math.sqrt(target)
            w, h = truth.width * s, truth.height * s
            x1 = truth.x1 + rng.uniform(0, truth.width - w)
            y1 = truth.y1 + rng.uniform(0, truth.height - h)
            box = truth.replace(x1=x1, y1=y1, x2=x1 + w, y2=y1 + h)
        else:  # shift in a random direction; find the distance by bisection
            angle = rng.uniform(0, 2 * math.pi)
            lo, hi = 0.0, 2.0 * max(truth.width, truth.height)
            for _ in range(30):
                mid = (lo + hi) / 2
                dx, dy = mid * math.cos(angle), mid * math.sin(angle)
                moved = truth.replace(x1=truth.x1 + dx, y1=truth.y1 + dy, x2=truth.x2 + dx, y2=truth.y2 + dy)
                lo, hi = (mid, hi) if box_iou(moved, truth) > target else (lo, mid)
            box = moved
        box = box.clipped(width, height)
        if not box.is_degenerate(2.0) and 0.3 <= box_iou(box, truth) <= 0.6:
            return box
    return None


def _background_box(img, rng: np.random.Generator, class_names: tuple[str, ...]) -> Box | None:  # type: ignore[no-untyped-def]
    for _ in range(50):
        w, h = rng.uniform(20, 60), rng.uniform(20, 60)
        if w >= img.width or h >= img.height:
            continue
        x1, y1 = rng.uniform(0, img.width - w), rng.uniform(0, img.height - h)
        box = Box(x1, y1, x1 + w, y1 + h, str(rng.choice(class_names)), None, "manual")
        if all(box_iou(box, t) == 0.0 for t in img.boxes):
            return box
    return None


def hits(finding: Finding, injected: list[Injected], claimed: set[int]) -> int | None:
    """Index of the (unclaimed) injected error this finding points at, or None."""
    for k, err in enumerate(injected):
        if k in claimed or err.kind != finding.kind or err.image != finding.image:
            continue
        if err.kind == "missing":
            if finding.prediction is not None and box_iou(finding.prediction, err.truth) >= 0.5:
                return k
        elif finding.label is not None and finding.label.id == err.box_id:
            return k
    return None


def ranking_scores(ranked: list[Finding], injected: list[Injected], k: int) -> tuple[float, float, float]:
    """(precision@k, recall@k, AP) of a ranked list against ``injected`` (all of one kind or all kinds)."""
    claimed: set[int] = set()
    found_at_k = 0
    ap = 0.0
    for rank, f in enumerate(ranked, start=1):
        idx = hits(f, injected, claimed)
        if idx is None:
            continue
        claimed.add(idx)
        ap += len(claimed) / rank
        if rank <= k:
            found_at_k += 1
    n = len(injected)
    return (found_at_k / k if k else float("nan"), found_at_k / n if n else float("nan"), ap / n if n else float("nan"))


def image_ap(scores: dict[str, float], positives: set[str]) -> float:
    from sklearn.metrics import average_precision_score

    names = sorted(scores)
    return float(average_precision_score([n in positives for n in names], [scores[n] for n in names]))


def cleanlab_image_scores(images: list, noisy: dict[str, list[Box]], preds: dict[str, list[Detection]],
                          class_names: tuple[str, ...]) -> dict[str, float] | None:
    try:
        from cleanlab.object_detection.rank import get_label_quality_scores
    except ImportError:
        return None
    index = {name: k for k, name in enumerate(class_names)}
    labels, predictions = [], []
    for img in images:
        boxes = noisy[img.path]
        labels.append({"bboxes": np.array([b.xyxy for b in boxes], dtype=np.float32).reshape(-1, 4),
                       "labels": np.array([index[b.label] for b in boxes], dtype=np.int64),
                       "image_name": img.path})
        per_class = np.empty(len(class_names), dtype=object)
        for k, name in enumerate(class_names):
            rows = [[*d.xyxy, d.score] for d in preds[img.path] if d.label == name]
            per_class[k] = np.array(rows, dtype=np.float32).reshape(-1, 5)
        predictions.append(per_class)
    quality = get_label_quality_scores(labels, predictions, verbose=False)
    return {img.path: 1.0 - float(q) for img, q in zip(images, quality)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--seed", type=int, default=15, help="synthetic set seed (default 15: never trained on)")
    parser.add_argument("--noise-seed", type=int, default=0)
    parser.add_argument("--image-size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--weights", default=None, help="default: the shipped demo model")
    parser.add_argument("--data", default=None, help="where to cache the synthetic set (default: a temp folder)")
    args = parser.parse_args()

    import torch

    from engine.demo import demo_model_path
    from engine.infer import Detector
    from engine.io import read_dataset
    from engine.synth import CLASS_NAMES, make_demo_dataset

    torch.set_num_threads(args.threads)
    root = Path(args.data or Path(tempfile.gettempdir()) / f"retinalab_label_issues_s{args.seed}_n{args.images}")
    if not (root / "annotations.json").is_file():
        make_demo_dataset(root, num_images=args.images, seed=args.seed, image_size=args.image_size)
    ann = read_dataset(root / "annotations.json", "coco")
    images = list(ann.images)
    noisy, injected = inject(images, rng=np.random.default_rng(args.noise_seed), p_drop=0.08, p_loose=0.08,
                             p_swap=0.06, p_spurious=0.10, class_names=CLASS_NAMES)
    started = time.perf_counter()
    detector = Detector.from_checkpoint(args.weights or demo_model_path(), device="cpu")
    preds = {img.path: dets for img, dets in zip(
        images, detector.predict([str(root / img.path) for img in images], score_thresh=0.05))}
    predict_s = time.perf_counter() - started

    started = time.perf_counter()
    findings = rank_findings([f for img in images for f in find_disagreements(
        noisy[img.path], preds[img.path], image=img.path, config=ReviewConfig())])
    find_s = time.perf_counter() - started
    print(f"{len(images)} images (seed {args.seed}, {args.image_size} px), {ann.num_boxes} true boxes, "
          f"{len(injected)} injected errors; predict {predict_s:.1f} s, find {find_s * 1000:.0f} ms, "
          f"{len(findings)} findings")
    print(f"{'kind':<12}{'injected':>9}{'findings':>9}{'P@K':>7}{'R@K':>7}{'AP':>7}")
    for kind in KINDS:
        errs = [e for e in injected if e.kind == kind]
        ranked = [f for f in findings if f.kind == kind]
        p, r, ap = ranking_scores(ranked, errs, len(errs))
        print(f"{kind:<12}{len(errs):>9}{len(ranked):>9}{p:>7.3f}{r:>7.3f}{ap:>7.3f}")
    _, box_recall, all_ap = ranking_scores(findings, injected, len(injected))
    print(f"{'all kinds':<12}{len(injected):>9}{len(findings):>9}{'':>7}{box_recall:>7.3f}{all_ap:>7.3f}")

    positives = {e.image for e in injected}
    ours = {img.path: 0.0 for img in images}
    for f in findings:
        ours[f.image] = max(ours[f.image], f.score)
    ours_ap = image_ap(ours, positives)
    started = time.perf_counter()
    theirs = cleanlab_image_scores(images, noisy, preds, CLASS_NAMES)
    cl_s = time.perf_counter() - started
    cl_ap = image_ap(theirs, positives) if theirs is not None else float("nan")
    print(f"image level: {len(positives)} of {len(images)} images hold an injected error; AP ours {ours_ap:.3f}, "
          f"cleanlab ObjectLab {cl_ap:.3f}" + (f" ({cl_s:.1f} s)" if theirs is not None else " (cleanlab not installed)"))
    print(f"image_AP={ours_ap:.3f} cleanlab_image_AP={cl_ap:.3f} box_recall={box_recall:.3f}")


if __name__ == "__main__":
    main()
