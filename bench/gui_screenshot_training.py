"""README screenshot of the Train panel mid-training, charts moving, in the real main window.

Builds a small synthetic project (``engine.synth``, every image reviewed, as ``bench/ui_stall.py``
does), opens it in ``MainWindow``, opens Model › Train… the way a user does, starts training the
compact model from scratch on the CPU and grabs the window once ``--epochs-shown`` epochs have ended
(the loss chart has a curve and the AP chart a few points). Then it cancels the run and exits. Needs
a display (Xvfb works: ``Xvfb :98 -screen 0 1440x900x24 &``; ``DISPLAY=:98``) or ``--offscreen``.
The PNG is reduced to 256 colours when it would be over ``--max-kb``.

    .venv/bin/python bench/gui_screenshot_training.py [--out resources/screenshots/training.png]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(BENCH.parent / "resources" / "screenshots" / "training.png"))
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--image-size", type=int, default=192)
    parser.add_argument("--epochs", type=int, default=12, help="the run's length (it is cancelled after the shot)")
    parser.add_argument("--epochs-shown", type=int, default=4, help="grab after this many epochs")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-kb", type=int, default=400)
    parser.add_argument("--timeout-s", type=float, default=600)
    parser.add_argument("--offscreen", action="store_true")
    parser.add_argument("--width", type=int, default=1440)
    parser.add_argument("--height", type=int, default=900, help="window height (768 checks a laptop screen)")
    args = parser.parse_args()
    if args.offscreen:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ.setdefault("RETINALAB_OFFLINE", "1")

    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow
    from app.training.options import TrainOptions
    from ui_stall import build_project

    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp(prefix="train_shot_"))
    build_project(tmp / "shapes", args.images, args.image_size).close()
    window = MainWindow()
    window.resize(args.width, args.height)
    window.show()
    shown: list[int] = []
    window.navigator.image_shown.connect(shown.append)
    window.projects.open_folder(tmp / "shapes")
    _spin(app, lambda: bool(shown), 30)
    window.docks.train_action.trigger()  # Model › Train…
    panel = window.training_panel
    panel.options_form.set_options(TrainOptions(
        start_from="scratch", epochs=args.epochs, batch_size=4, image_size=args.image_size, lr=0.01,
        device="cpu", num_threads=args.threads,
    ))
    epochs_done: list[int] = []
    panel.event_received.connect(lambda e: epochs_done.append(e.epoch) if e.kind == "epoch_end" else None)
    if not panel.start():
        print(f"refused: {panel.message.text()}", file=sys.stderr)
        return 1
    ok = _spin(app, lambda: len(epochs_done) >= args.epochs_shown, args.timeout_s)
    _spin(app, lambda: False, 0.6)  # the charts' batched redraw
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out), "PNG")
    _shrink(out, args.max_kb)
    print(f"saved {out} ({out.stat().st_size // 1024} KB) after {len(epochs_done)} epochs" + ("" if ok else " (timed out)"))
    panel.abort()
    window.close()
    return 0 if ok else 1


def _spin(app, done, timeout_s: float) -> bool:
    deadline = time.perf_counter() + timeout_s
    while not done():
        if time.perf_counter() > deadline:
            return False
        app.processEvents()
        time.sleep(0.01)
    return True


def _shrink(path: Path, max_kb: int) -> None:
    if path.stat().st_size <= max_kb * 1024:
        return
    from PIL import Image

    image = Image.open(path).convert("RGB")
    image.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)


if __name__ == "__main__":
    sys.exit(main())
