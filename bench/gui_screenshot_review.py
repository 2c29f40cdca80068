"""README screenshot of the Review dock on real photos: the raccoon set with its own VOC labels.

Links the raccoon photos into a temporary project folder (symlinks: the dataset itself is never
written to, and a checkpoint trained on the originals is recognised as trained on them),
imports their VOC boxes as reviewed labels, opens the folder in ``MainWindow``, loads ``--weights``,
runs Find label errors the way a user does (Model › Review Labels, the dock's button), clicks the top
finding and grabs the window. Prints the top ten findings. Needs a display (``Xvfb :76 -screen 0
1440x900x24 &``; ``DISPLAY=:76``) or ``--offscreen``.

    .venv/bin/python bench/gui_screenshot_review.py --weights runs/raccoon/best.pt [--out resources/screenshots/review_dock.png]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

from gui_screenshot_training import _shrink, _spin  # noqa: E402

DEFAULT_SRC = BENCH.parents[1] / "shared" / "datasets" / "raccoon"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", required=True)
    parser.add_argument("--src", default=str(DEFAULT_SRC))
    parser.add_argument("--out", default=str(BENCH.parent / "resources" / "screenshots" / "review_dock.png"))
    parser.add_argument("--row", type=int, default=0, help="which finding to open for the shot")
    parser.add_argument("--max-kb", type=int, default=400)
    parser.add_argument("--offscreen", action="store_true")
    parser.add_argument("--width", type=int, default=1440)
    parser.add_argument("--height", type=int, default=900)
    args = parser.parse_args()
    if args.offscreen:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ.setdefault("RETINALAB_OFFLINE", "1")

    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow
    from engine.project import Project

    src = Path(args.src)
    folder = Path(tempfile.mkdtemp(prefix="review_shot_")) / "raccoon"
    folder.mkdir(parents=True)
    for image in sorted((src / "images").iterdir()):
        (folder / image.name).symlink_to(image.resolve())
    with Project.open(folder) as project:
        report = project.import_labels(src / "annotations", "voc", mark_reviewed=True)
        print(f"imported {report.boxes_added} boxes on {report.images_matched} images")

    app = QApplication.instance() or QApplication([])
    window = MainWindow()
    window.resize(args.width, args.height)
    window.show()
    shown: list[int] = []
    window.navigator.image_shown.connect(shown.append)
    window.projects.open_folder(folder)
    _spin(app, lambda: bool(shown), 60)
    window.models.auto_detect = False
    ready: list[object] = []
    window.models.model_ready.connect(ready.append)
    window.models.load_checkpoint(args.weights)
    if not _spin(app, lambda: bool(ready), 120):
        print("model did not load", file=sys.stderr)
        return 1
    done: list[object] = []
    window.review.review_finished.connect(done.append)
    window.findChild(type(window.review.fix_action), "review_dock_action").trigger()  # Model › Review Labels
    window.review.dock.raise_()
    window.review.dock.run_button.click()
    if not _spin(app, lambda: bool(done), 900):
        print("review did not finish", file=sys.stderr)
        return 1
    dock = window.review.dock
    findings = dock.visible_findings()
    print(dock.status_label.text())
    for f in findings[:10]:
        print(f"{f.score:.3f}  {f.kind:<11}  {f.class_name:<10}  {f.image}  iou {f.iou:.2f}  {f.fix}")
    if findings:
        row = min(args.row, len(findings) - 1)
        dock.table.selectRow(row)
        index = dock.proxy.index(row, 1)
        shown.clear()
        dock.table.clicked.emit(index)
        _spin(app, lambda: bool(shown), 30)
    dock.show()
    dock.raise_()
    window.resizeDocks([dock], [560], Qt.Orientation.Horizontal)
    _spin(app, lambda: False, 0.8)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out), "PNG")
    _shrink(out, args.max_kb)
    print(f"saved {out} ({out.stat().st_size // 1024} KB)")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
