"""The Train panel inside the main window: hot swap of the detector, the close guard, "AP before"."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from PySide6.QtWidgets import QMainWindow

from app.training.install import install_training
from app.training.train_worker import TrainJob, TrainWorker
from app.workers.base import WorkerPool
from engine.types import TrainConfig, TrainEvent
from tests.app.qt_threads import wait_signal_from_thread

pytestmark = pytest.mark.gui


def _checkpoint(path: Path, class_names: list[str], *, logit_bias: float) -> str:
    """A compact model whose classification bias makes every anchor score sigmoid(logit_bias)."""
    import torch

    from engine.checkpoint import save_checkpoint
    from engine.models import build_model

    torch.manual_seed(0)
    model = build_model("retinanet_mobilenet_v3_fpn", len(class_names), image_size=128)
    with torch.no_grad():
        model.head.classification_head.cls_logits.bias.fill_(logit_bias)
    save_checkpoint(path, model=model, arch="retinanet_mobilenet_v3_fpn", class_names=class_names,
                    image_size=128, alpha=0.25, gamma=2.0)
    return str(path)


def _window_on(qtbot, make_window, folder: Path):
    window = make_window()
    train = window.actions.model.train
    panel = install_training(window, train, window.document, window.models)
    assert install_training(window, train, window.document, window.models) is panel  # idempotent
    with qtbot.waitSignal(window.navigator.image_shown, timeout=20_000):
        window.projects.open_folder(folder)
    return window, panel


@pytest.mark.slow
def test_use_this_model_hot_swaps_the_detector_and_redetects_the_image(qtbot, tiny_project, make_window, tmp_path):
    folder, names = tiny_project.folder, tiny_project.class_names()
    quiet = _checkpoint(tmp_path / "quiet.pt", names, logit_bias=-10.0)  # scores ~5e-5: no detections
    loud = _checkpoint(tmp_path / "loud.pt", names, logit_bias=4.0)  # scores ~0.98 everywhere
    tiny_project.add_model(loud, {"AP": 0.5})
    tiny_project.close()
    window, panel = _window_on(qtbot, make_window, folder)
    assert window.findChild(type(panel), "training_panel") is panel
    assert any(a.objectName() == "train_panel_action" for a in QMainWindow.actions(window))

    with qtbot.waitSignal(window.models.model_ready, timeout=60_000):
        window.models.load_checkpoint(quiet)
    assert panel.current_model == quiet  # fine-tuning would start from the model in use
    with qtbot.waitSignal(window.models.detections_shown, timeout=30_000):
        window.models.detect_current()
    predicted_before = [b for b in window.document.boxes() if b.source == "predicted"]
    assert predicted_before == []

    panel.show()
    assert panel.history.paths() == [loud]
    panel.history.select_row(0)
    with qtbot.waitSignal(window.models.detections_shown, timeout=60_000) as shown:
        panel.history.use_selected()  # switch to a model of the history: no restart
    assert shown.args[1] > 0
    predicted_after = [b for b in window.document.boxes() if b.source == "predicted"]
    assert len(predicted_after) > 0 and all(b.score > 0.9 for b in predicted_after)
    assert panel.current_model == loud and window.isVisible()


def test_closing_mid_training_asks_stops_after_the_batch_and_then_closes(qtbot, tiny_project, make_window):
    batches: list[float] = []

    def endless_fit(config, *, on_event, should_stop):
        step = 0
        while not should_stop():
            time.sleep(0.05)  # one "batch"
            step += 1
            batches.append(time.perf_counter())
            on_event(TrainEvent("batch_end", epoch=1, num_epochs=1, step=step, total_steps=10_000,
                                losses={"total": 1.0 / step}))
        return None

    folder = tiny_project.folder
    tiny_project.close()
    window = make_window()
    panel = install_training(window, window.actions.model.train, window.document, window.models,
                             fit_fn=endless_fit)
    with qtbot.waitSignal(window.navigator.image_shown, timeout=20_000):
        window.projects.open_folder(folder)
    asked: list[bool] = []
    panel.integration.confirm_stop = lambda parent: asked.append(True) or False  # "No": keep training
    panel.show()
    panel.options_form.set_options(panel.options_form.options().replace(start_from="scratch"))  # no model loaded
    assert panel.start()
    qtbot.waitUntil(lambda: len(batches) >= 2, timeout=20_000)
    window.close()
    assert asked == [True] and window.isVisible() and panel.is_training

    panel.integration.confirm_stop = lambda parent: asked.append(True) or True  # "Yes": stop and quit
    window.close()
    assert window.isVisible()  # never blocks: the window waits for the batch to end
    stop_requested = time.perf_counter()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=20_000)
    assert not panel.is_training
    assert sum(1 for t in batches if t > stop_requested) <= 1


def test_the_starting_models_validation_ap_is_measured_before_training(qtbot, tiny_project, tmp_path):
    from engine.train.data_check import split_train_val

    start = _checkpoint(tmp_path / "start.pt", tiny_project.class_names(), logit_bias=-4.6)
    train, val = split_train_val(tiny_project.training_data(), val_fraction=0.2, seed=0)
    config = TrainConfig(data="unused", out=str(tmp_path / "run"), init_checkpoint=start, device="cpu",
                         num_threads=1)
    seen: list[str] = []

    def fit(config, *, on_event, should_stop):
        seen.append(config.init_checkpoint)
        return None

    pool, worker = WorkerPool(), TrainWorker(TrainJob(config, train, val, evaluate_start=True), fit_fn=fit)
    with wait_signal_from_thread(qtbot, worker.done, timeout=60_000) as done:
        pool.start(worker)
    pool.await_workers(10_000)
    outcome = done.args[0]
    assert seen == [start]
    assert set(outcome.metrics_before) >= {"AP", "AP50"} and 0.0 <= outcome.metrics_before["AP"] <= 1.0
    assert (tmp_path / "run" / "data" / "val.json").is_file()  # the snapshot fit reads


def test_model_train_opens_the_panel_with_most_of_a_laptop_screens_height(qtbot, make_window) -> None:
    from PySide6.QtWidgets import QDockWidget

    window = make_window()
    window.resize(1366, 740)
    window.docks.train_action.trigger()  # Model › Train…, the first time: installs the panel
    panel = window.docks.training_panel()
    classes = window.findChild(QDockWidget, "class_list_dock")
    qtbot.waitUntil(lambda: panel.height() > 2 * classes.height(), timeout=3000)
    assert panel.isVisible() and window.height() <= 740  # nothing pushed the window past the screen
