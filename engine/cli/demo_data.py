"""``retinalab demo-data DIR [--style shapes|pretrain --images N --seed S --image-size PX --workers W]``.

Writes a synthetic dataset: the demo's shapes, or the procedural pretraining images (``--style pretrain``).

The output (``DIR/images/*.jpg`` and ``DIR/annotations.json``, COCO) reads back with
``--format coco``; see ``engine.synth`` for what the images contain.
"""

from __future__ import annotations

import argparse

from engine.cli import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", help="output folder (created if missing)")
    parser.add_argument(
        "--style", choices=["shapes", "pretrain"], default="shapes",
        help="shapes: the demo's four classes (default); pretrain: eight procedural object families on "
             "natural-looking fields, for pretraining a model that transfers to photographs",
    )
    parser.add_argument("--images", type=int, default=200, help="number of images (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; same seed, same dataset")
    parser.add_argument("--image-size", type=int, default=256, help="longer image side in pixels (default 256)")
    parser.add_argument("--max-objects", type=int, default=None,
                        help="most objects per image (default 5 for shapes, 8 for pretrain)")
    parser.add_argument(
        "--workers", type=int, default=1,
        help="processes rendering images (default 1); the output is the same for any count",
    )


def run(args: argparse.Namespace) -> int:
    from engine.synth import make_demo_dataset

    try:
        path = make_demo_dataset(
            args.dir, num_images=args.images, seed=args.seed, image_size=args.image_size,
            max_objects=args.max_objects, workers=args.workers,
            style=args.style,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot write {args.dir}: {exc.strerror or exc}") from None
    print(f"wrote {args.images} images and {path}")
    return 0
