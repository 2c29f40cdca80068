"""The Train panel end to end on a tiny synthetic project (real ``engine.train.fit``, CPU, 128 px)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from app.training.options import TrainOptions
from app.training.panel import TrainingPanel
from engine.train.data_check import split_train_val
from engine.types import TrainEvent

pytestmark = pytest.mark.gui

TINY = TrainOptions(
    start_from="scratch", epochs=1, batch_size=4, image_size=128, lr=0.005, device="cpu", num_threads=1
)


def _panel(qtbot, project, options: TrainOptions = TINY, **kwargs) -> TrainingPanel:
    panel = TrainingPanel(**kwargs)
    qtbot.addWidget(panel)
    panel.set_project(project)
    panel.options_form.set_options(options)
    return panel


def _run(qtbot, panel: TrainingPanel, *, timeout_ms: int = 90_000, start=None):
    with qtbot.waitSignal(panel.training_finished, timeout=timeout_ms) as blocker:
        assert (start or panel.start)()
    return blocker.args[0]


@pytest.mark.slow
def test_tiny_training_shows_progress_charts_and_records_the_model(qtbot, tiny_project) -> None:
    panel = _panel(qtbot, tiny_project)
    events: list[TrainEvent] = []
    panel.event_received.connect(events.append)
    assert "7 train / 1 validation images" in panel.findChild(object, "train_summary").text()
    # one training image is broken on disk: it is skipped and said so, training goes on
    train, _ = split_train_val(tiny_project.snapshot(), val_fraction=0.2, seed=0)
    broken = next(img for img in train.images if img.boxes)
    (tiny_project.folder / broken.path).write_bytes(b"not a jpeg any more")
    outcome = _run(qtbot, panel)

    assert outcome.status == "finished", outcome.message
    assert panel.tabs.tabText(panel.tabs.currentIndex()) == "Progress"  # Start shows the charts
    kinds = [e.kind for e in events]
    assert kinds[0] == "train_started" and "batch_end" in kinds and "epoch_end" in kinds
    steps = [e.step for e in events if e.kind == "batch_end"]
    assert steps == [1, 2]  # 7 images, batch 4
    progress = panel.progress_view.progress
    assert progress.value() == progress.maximum() == 2
    assert "step 2/2" in panel.progress_view.status.text() or "finished" in panel.progress_view.status.text()
    loss_chart, ap_chart = panel.progress_view.loss_chart, panel.progress_view.ap_chart
    for name in ("classification", "bbox_regression", "total"):
        assert loss_chart.point_count(name) == 2
    assert ap_chart.point_count("AP") == 1
    assert "after" in panel.result.text()
    assert "1 unreadable image(s) were skipped" in panel.message.text()
    assert "could not be read" in panel.progress_view.log_view.toPlainText()
    # recorded in the project's model history, and "Use this model" asks for a hot swap
    models = tiny_project.models()
    assert [Path(m.path) for m in models] == [Path(outcome.best_checkpoint)]
    assert "AP" in models[0].metrics and models[0].metrics["epochs"] == 1
    assert panel.history.paths() == [str(models[0].path)]
    assert panel.use_button.isEnabled()
    with qtbot.waitSignal(panel.model_chosen) as chosen:
        panel.use_button.click()
    assert chosen.args == [outcome.best_checkpoint]
    assert panel.current_model == outcome.best_checkpoint


@pytest.mark.slow
def test_cancel_stops_within_one_batch_keeps_last_and_resume_continues(qtbot, tiny_project) -> None:
    panel = _panel(qtbot, tiny_project, TINY.replace(epochs=2, batch_size=2))  # 4 steps an epoch
    steps: list[int] = []
    cancelled_at: list[int] = []

    def on_event(event: TrainEvent) -> None:
        if event.kind == "batch_end":
            steps.append(event.step)
            if not cancelled_at:
                cancelled_at.append(event.step)
                panel.abort()

    panel.event_received.connect(on_event)
    outcome = _run(qtbot, panel)
    assert outcome.status == "cancelled"
    # the worker may have finished at most the batch it was in when the flag was set
    assert max(steps) <= cancelled_at[0] + 1
    assert outcome.last_checkpoint and Path(outcome.last_checkpoint).is_file()
    assert panel.resume_button.isEnabled() and panel.start_button.isEnabled()
    assert tiny_project.models() == []  # a cancelled run is not a trained model yet

    panel.event_received.disconnect(on_event)
    resumed: list[int] = []
    panel.event_received.connect(lambda e: resumed.append(e.step) if e.kind == "batch_end" else None)
    outcome = _run(qtbot, panel, start=panel.resume)
    assert outcome.status == "finished", outcome.message
    assert resumed[0] == max(steps) + 1 and resumed[-1] == 8  # continued the same run, not restarted
    assert len(tiny_project.models()) == 1


def test_too_little_data_is_refused_with_what_is_missing(qtbot, project_factory) -> None:
    project = project_factory("few", num_images=3, reviewed=1)
    panel = _panel(qtbot, project)
    with qtbot.waitSignal(panel.training_refused) as refused:
        assert panel.start() is False
    assert "label at least 8 boxes in at least 4 images" in refused.args[0]
    assert "label at least" in panel.message.text()
    assert not panel.is_training and panel.start_button.isEnabled()


def test_no_project_is_refused(qtbot) -> None:
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    assert panel.start() is False
    assert "Open a project" in panel.message.text()


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def test_cuda_without_a_gpu_fails_clearly_and_the_panel_stays_usable(qtbot, tiny_project) -> None:
    if _has_cuda():
        pytest.skip("this machine has a GPU")
    panel = _panel(qtbot, tiny_project, TINY.replace(device="cuda"))
    outcome = _run(qtbot, panel, timeout_ms=30_000)
    assert outcome.status == "failed"
    assert "no GPU" in panel.message.text()
    assert panel.start_button.isEnabled() and panel.options_form.isEnabled() and not panel.is_training


def test_a_crash_inside_training_keeps_the_last_checkpoint_and_the_app_usable(qtbot, tiny_project) -> None:
    """fit raising mid-run (here: CUDA out of memory after one saved checkpoint) ends with a message."""

    def exploding_fit(config, *, on_event, should_stop):
        out = Path(config.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "last.pt").write_bytes(b"checkpoint")
        on_event(TrainEvent("batch_end", epoch=1, num_epochs=1, step=1, total_steps=4, losses={"total": 1.0}))
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    panel = _panel(qtbot, tiny_project, fit_fn=exploding_fit)
    outcome = _run(qtbot, panel, timeout_ms=30_000)
    assert outcome.status == "failed"
    text = panel.message.text()
    assert "ran out of memory" in text and "last.pt" in text
    assert panel.resume_button.isEnabled() and panel.start_button.isEnabled()
    assert panel.progress_view.loss_chart.point_count("total") == 1
    QApplication.processEvents()
    assert panel.start() is True  # usable: another run starts (and fails the same way)
    qtbot.waitUntil(lambda: not panel.is_training, timeout=30_000)
