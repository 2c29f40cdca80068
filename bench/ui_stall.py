"""How late does the GUI thread's timer fire while the Train panel trains in the background?

Builds a synthetic project (``engine.synth``), shows a ``TrainingPanel`` on it and starts training on
the CPU (or ``--device``), exactly as the app does: ``engine.train.fit`` on the panel's worker thread,
events queued to the GUI thread, live charts. Meanwhile a ``QTimer`` on the GUI thread fires every
``--interval-ms``; each firing's lateness (time since the previous firing minus the interval) is a
stall a user would feel as a frozen window. Printed: stalls per phase (``startup``: snapshot, model
build, before the first batch; ``training``: from the first batch to the end), and as the last line
``max_stall_ms=<x> p99_stall_ms=<y>`` over the whole run (startup + training). Goal: max < 50 ms,
p99 < 20 ms.

torch itself is imported first, on a background thread and measured on its own line
(``torch_import``), the way the app's model worker imports it when the first detector loads: the
dynamic loader holds the GIL for hundreds of milliseconds while it maps libtorch, once per process,
whichever thread imports it. ``--cold`` leaves the import to the training worker instead, so it
counts in the run's numbers.

    .venv/bin/python bench/ui_stall.py [--images 32] [--epochs 2] [--image-size 256] [--offscreen]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def build_project(folder: Path, num_images: int, image_size: int):
    from engine.project import Project
    from engine.synth import make_demo_dataset
    from engine.types import Box

    data = folder.parent / "synth"
    coco = json.loads(make_demo_dataset(data, num_images=num_images, seed=0, image_size=image_size).read_text())
    folder.mkdir(parents=True)
    for img in coco["images"]:
        shutil.copy(data / img["file_name"], folder / Path(img["file_name"]).name)
    names = {c["id"]: c["name"] for c in coco["categories"]}
    project = Project.open(folder)
    project.rescan()
    for name in names.values():
        project.add_class(name)
    records = {r.path: r for r in project.images()}
    for img in coco["images"]:
        record = records[Path(img["file_name"]).name]
        for ann in coco["annotations"]:
            if ann["image_id"] == img["id"]:
                x, y, w, h = ann["bbox"]
                project.add_box(record, Box(x, y, x + w, y + h, names[ann["category_id"]]))
        project.set_status(record, "reviewed")
    return project


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--image-size", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="training threads (0: cores - 1)")
    parser.add_argument("--interval-ms", type=float, default=5.0)
    parser.add_argument("--offscreen", action="store_true", help="QT_QPA_PLATFORM=offscreen")
    parser.add_argument("--cold", action="store_true", help="let the training worker import torch")
    parser.add_argument("--trace", action="store_true", help="print each stall over 20 ms with the last event")
    parser.add_argument("--switch-ms", type=float, default=0.0, help="sys.setswitchinterval (0: default)")
    parser.add_argument("--idle-s", type=float, default=3.0,
                        help="first measure this long with nothing running (the machine's own noise)")
    args = parser.parse_args()
    if args.offscreen:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ.setdefault("RETINALAB_OFFLINE", "1")

    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from app.training.options import TrainOptions
    from app.training.panel import TrainingPanel
    from app.training.train_worker import default_num_threads

    if args.switch_ms:
        sys.setswitchinterval(args.switch_ms / 1000)
    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp(prefix="ui_stall_"))
    project = build_project(tmp / "project", args.images, args.image_size)
    panel = TrainingPanel()
    panel.resize(900, 900)
    panel.set_project(project)
    threads = args.threads or default_num_threads()
    panel.options_form.set_options(TrainOptions(
        start_from="scratch", epochs=args.epochs, batch_size=args.batch_size, image_size=args.image_size,
        lr=0.005, device=args.device, num_threads=threads,
    ))
    panel.show()

    stalls: dict[str, list[float]] = {"idle": [], "torch_import": [], "startup": [], "training": []}
    phase = ["idle"]
    state = {"last": 0.0, "done": False, "steps": 0, "event": "start"}
    interval_s = args.interval_ms / 1000

    def on_tick() -> None:
        now = time.perf_counter()
        if state["last"]:
            stall = max(0.0, (now - state["last"] - interval_s) * 1000)
            stalls[phase[0]].append(stall)
            if args.trace and stall > 20:
                print(f"  stall {stall:6.1f} ms in {phase[0]}, last event {state['event']}")
        state["last"] = now

    def on_event(event) -> None:
        state["event"] = f"{event.kind} step {event.step} {event.message}"
        if event.kind == "batch_end":
            phase[0] = "training"
            state["steps"] = event.step

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(int(args.interval_ms))
    timer.timeout.connect(on_tick)
    panel.event_received.connect(on_event)
    panel.training_finished.connect(lambda outcome: state.update(done=True, outcome=outcome))

    for _ in range(20):  # let the window settle before measuring
        app.processEvents()
    timer.start()
    phase[0] = "idle"
    idle_until = time.perf_counter() + args.idle_s
    while time.perf_counter() < idle_until:
        app.processEvents()
        time.sleep(0.0005)
    phase[0] = "startup"
    if not args.cold:
        import threading

        phase[0] = "torch_import"
        importer = threading.Thread(target=lambda: (__import__("torch"), __import__("torchvision")))
        importer.start()
        while importer.is_alive():
            app.processEvents()
            time.sleep(0.0005)
        phase[0] = "startup"
    started = time.perf_counter()
    if not panel.start():
        print(f"refused: {panel.message.text()}")
        return 1
    while not state["done"]:
        app.processEvents()
        time.sleep(0.0005)
    timer.stop()
    elapsed = time.perf_counter() - started
    outcome = state["outcome"]
    try:
        load = " (load average %.1f)" % os.getloadavg()[0]
    except OSError:
        load = ""
    print(f"training{load}: {outcome.status}, {state['steps']} steps in {elapsed:.1f} s, {threads} threads "
          f"of {os.cpu_count()} cores, device {args.device}, {args.images} images at {args.image_size} px")
    for name, values in stalls.items():
        if values:
            print(f"{name:9s} ticks={len(values):6d} max_ms={max(values):7.1f} p99_ms={percentile(values, 99):6.1f} "
                  f"median_ms={statistics.median(values):5.2f}")
    every = stalls["startup"] + stalls["training"]  # the run; a cold import counts in "startup"
    panel.close()
    project.close()
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"max_stall_ms={max(every):.1f} p99_stall_ms={percentile(every, 99):.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
