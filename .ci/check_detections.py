"""wheel-check: did ``retinalab detect`` find the generated objects? ``check_detections.py COCO_JSON DETECT_JSON``

Exits 1 unless every image has a record and at least half of the ground-truth objects have a detected
box with IoU >= 0.5 (the shipped demo model finds nearly all of them).
"""

import json
import sys
from pathlib import Path


def iou(box: list[float], bbox: list[float]) -> float:
    """IoU of ``box`` (x1, y1, x2, y2) and COCO ``bbox`` (x, y, w, h)."""
    w = max(0.0, min(box[2], bbox[0] + bbox[2]) - max(box[0], bbox[0]))
    h = max(0.0, min(box[3], bbox[1] + bbox[3]) - max(box[1], bbox[1]))
    inter = w * h
    return inter / ((box[2] - box[0]) * (box[3] - box[1]) + bbox[2] * bbox[3] - inter)


def main(coco_json: str, detect_json: str) -> int:
    coco = json.loads(Path(coco_json).read_text())
    records = json.loads(Path(detect_json).read_text())
    files = {image["id"]: Path(image["file_name"]).name for image in coco["images"]}
    truth = [(files[a["image_id"]], a["bbox"]) for a in coco["annotations"]]
    found = {Path(r["image"]).name: [d["box"] for d in r["detections"]] for r in records}
    hits = sum(any(iou(box, bbox) >= 0.5 for box in found.get(name, [])) for name, bbox in truth)
    if len(records) != len(files) or not truth or hits < len(truth) / 2:
        print(f"wheel-check: FAIL: detect matched {hits} of {len(truth)} objects on {len(records)} images")
        return 1
    print(f"wheel-check: detect: {hits} of {len(truth)} generated objects found (IoU >= 0.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
