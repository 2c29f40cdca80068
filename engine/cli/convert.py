"""``retinalab convert``: read a dataset in one format (COCO, VOC, YOLO) and write it in another.

Prints one summary line (images, boxes, classes, warnings) on stdout and every warning on stderr;
bad format names, a missing source or unreadable annotations exit with status 2 and one line.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="src_format", required=True, metavar="F",
                        help="source format: coco, voc, yolo or auto")
    parser.add_argument("--to", dest="dst_format", required=True, metavar="F",
                        help="target format: coco, voc or yolo")
    parser.add_argument("src", metavar="SRC", help="source dataset folder or annotation file")
    parser.add_argument("dst", metavar="DST", help="folder to write the converted dataset into")
    parser.add_argument("--no-copy-images", dest="copy_images", action="store_false",
                        help="do not copy images; reference the originals (YOLO: symlinks)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from engine.io.formats import check_format, read_dataset, write_dataset

    src_format = check_format(args.src_format, allow_auto=True)
    dst_format = check_format(args.dst_format)
    ann = read_dataset(Path(args.src), src_format)
    write_warnings = write_dataset(ann, Path(args.dst), dst_format, copy_images=args.copy_images)
    warnings = list(ann.warnings) + list(write_warnings)
    for line in warnings:
        print(f"warning: {line}", file=sys.stderr)
    print(
        f"converted {len(ann.images)} images, {ann.num_boxes} boxes, {len(ann.class_names)} classes "
        f"from {src_format} to {dst_format} in {args.dst} ({len(warnings)} warnings)"
    )
    return 0
