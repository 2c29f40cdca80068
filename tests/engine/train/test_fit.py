"""fit(): events, checkpoints, cancel within one batch, resume, NaN guard, bad input, broken images."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
import torch

from engine.checkpoint import load_checkpoint
from engine.train import fit
from engine.types import TrainConfig, TrainEvent


def _config(data: Path, out: Path, **changes: object) -> TrainConfig:
    base = TrainConfig(data=str(data), out=str(out), format="coco", epochs=2, batch_size=2, image_size=64,
                       optimizer="adamw", lr=1e-3, warmup_steps=2, num_threads=1, seed=0)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


class Recorder:
    def __init__(self, stop_after_batches: int | None = None) -> None:
        self.events: list[TrainEvent] = []
        self.stop_after_batches = stop_after_batches

    def __call__(self, event: TrainEvent) -> None:
        self.events.append(event)

    def kinds(self, kind: str) -> list[TrainEvent]:
        return [e for e in self.events if e.kind == kind]

    def should_stop(self) -> bool:
        return self.stop_after_batches is not None and len(self.kinds("batch_end")) >= self.stop_after_batches


def test_fit_reports_events_and_writes_checkpoints(tiny_data: Path, tmp_path: Path) -> None:
    rec = Recorder()
    result = fit(_config(tiny_data, tmp_path), on_event=rec)
    assert result.status == "finished", result.message
    kinds = [e.kind for e in rec.events]
    assert kinds[0] == "train_started" and kinds[-1] == "finished"
    started = rec.events[0]
    assert started.metrics["num_train_images"] + started.metrics["num_val_images"] == 7
    batches = rec.kinds("batch_end")
    assert [e.step for e in batches] == list(range(1, started.total_steps + 1))
    assert all(math.isfinite(e.losses["total"]) and e.lr > 0 and e.images_per_s > 0 for e in batches)
    assert batches[-1].eta_s == pytest.approx(0.0)
    epochs = rec.kinds("epoch_end")
    assert [e.epoch for e in epochs] == [1, 2]
    assert set(epochs[0].metrics) >= {"AP", "AP50", "AP75", "per_class"}
    saved = [(e.message, Path(e.path).name) for e in rec.kinds("checkpoint_saved")]
    assert ("last", "last.pt") in saved and ("best", "best.pt") in saved
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.events[0].kind = "failed"  # type: ignore[misc]

    best = load_checkpoint(tmp_path / "best.pt")
    assert best.arch == "retinanet_mobilenet_v3_fpn"
    assert best.class_names == ("circle", "square", "triangle", "star")
    last = load_checkpoint(tmp_path / "last.pt")
    assert last.extra["epoch"] == 2 and last.extra["optimizer"] is not None
    doc = json.loads((tmp_path / "metrics.json").read_text())
    assert [e["epoch"] for e in doc["epochs"]] == [1, 2]
    assert all("AP" in e and "classification" in e for e in doc["epochs"])
    assert result.best_path == str(tmp_path / "best.pt") and len(result.history) == 2


@pytest.mark.slow
def test_cancel_stops_within_one_batch_and_resume_continues(tiny_data: Path, tmp_path: Path) -> None:
    rec = Recorder(stop_after_batches=2)
    result = fit(_config(tiny_data, tmp_path), on_event=rec, should_stop=rec.should_stop)
    assert result.status == "cancelled"
    assert len(rec.kinds("batch_end")) == 2  # the stop was honoured before a third batch
    assert rec.events[-1].kind == "cancelled" and Path(rec.events[-1].path).name == "last.pt"
    last = load_checkpoint(tmp_path / "last.pt")
    assert (last.extra["epoch"], last.extra["global_step"]) == (0, 2)

    rec2 = Recorder()
    result2 = fit(_config(tiny_data, tmp_path, resume=True), on_event=rec2)
    assert result2.status == "finished", result2.message
    steps = [e.step for e in rec2.kinds("batch_end")]
    total = rec2.events[0].total_steps
    assert steps == list(range(3, total + 1))  # continues at step 3, nothing repeated
    assert [e.epoch for e in rec2.kinds("epoch_end")] == [1, 2]


@pytest.mark.slow
def test_resume_at_epoch_boundary_reproduces_the_uninterrupted_run(tiny_data: Path, tmp_path: Path) -> None:
    straight = fit(_config(tiny_data, tmp_path / "a"))
    assert straight.status == "finished"
    rec = Recorder()
    rec.should_stop = lambda: len(rec.kinds("epoch_end")) >= 1  # type: ignore[method-assign]
    assert fit(_config(tiny_data, tmp_path / "b"), on_event=rec, should_stop=rec.should_stop).status == "cancelled"
    assert fit(_config(tiny_data, tmp_path / "b", resume=True)).status == "finished"
    a = load_checkpoint(tmp_path / "a" / "last.pt").state_dict
    b = load_checkpoint(tmp_path / "b" / "last.pt").state_dict
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5, msg=key)


def _poison(monkeypatch: pytest.MonkeyPatch, bad_calls: set[int] | None) -> None:
    """Make the model's training losses NaN on the given forward calls (None: always)."""
    import engine.train.run  # the run looks build_model up in its own namespace

    real = engine.train.run.build_model
    calls = {"n": 0}

    def build(*args: object, **kwargs: object) -> torch.nn.Module:
        model = real(*args, **kwargs)

        def hook(module: torch.nn.Module, inputs: object, output: object) -> object:
            if not module.training:
                return output
            calls["n"] += 1
            if bad_calls is None or calls["n"] in bad_calls:
                return {k: v * float("nan") for k, v in output.items()}
            return output

        model.register_forward_hook(hook)
        return model

    monkeypatch.setattr(engine.train.run, "build_model", build)


def test_nan_loss_once_is_skipped_and_training_goes_on(tiny_data: Path, tmp_path: Path, monkeypatch) -> None:
    _poison(monkeypatch, {2})
    result = fit(_config(tiny_data, tmp_path, epochs=1))
    assert result.status == "finished", result.message
    state = load_checkpoint(tmp_path / "last.pt").state_dict
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


def test_nan_loss_repeating_fails_with_a_clear_event(tiny_data: Path, tmp_path: Path, monkeypatch) -> None:
    _poison(monkeypatch, None)
    rec = Recorder()
    result = fit(_config(tiny_data, tmp_path, epochs=3, max_bad_steps=3), on_event=rec)
    assert result.status == "failed" and not result.bad_input
    assert rec.events[-1].kind == "failed" and "NaN" in rec.events[-1].message
    assert "\n" not in rec.events[-1].message
    assert len(rec.kinds("batch_end")) == 2  # the third bad step raised before its event


def test_bad_input_fails_with_one_line_and_keeps_checkpoints(tiny_data: Path, tmp_path: Path) -> None:
    rec = Recorder()
    result = fit(_config(tmp_path / "nope", tmp_path / "o"), on_event=rec)
    assert result.status == "failed" and result.bad_input
    assert "does not exist" in result.message and rec.events[-1].kind == "failed"

    rec = Recorder(stop_after_batches=1)
    fit(_config(tiny_data, tmp_path / "run"), on_event=rec, should_stop=rec.should_stop)
    before = (tmp_path / "run" / "last.pt").read_bytes()
    other = fit(_config(tiny_data, tmp_path / "run", arch="retinanet_resnet50_fpn", resume=True))
    assert other.status == "failed" and other.bad_input
    assert "retinanet_mobilenet_v3_fpn checkpoint" in other.message
    assert (tmp_path / "run" / "last.pt").read_bytes() == before
    missing = fit(_config(tiny_data, tmp_path / "empty_out", resume=True))
    assert missing.status == "failed" and "nothing to resume" in missing.message


def test_unreadable_image_mid_training_is_skipped_and_counted(tiny_data: Path, tmp_path: Path) -> None:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    for p in sorted((data / "images").glob("*.jpg")):
        p.write_bytes(b"this is not a jpeg")
        break
    # validate on the same (broken) set so both training and validation meet the bad file
    rec = Recorder()
    result = fit(_config(data, tmp_path / "o", epochs=1, val=str(data)), on_event=rec)
    assert result.status == "finished", result.message
    assert rec.events[-1].images_skipped >= 2  # once in training, once in validation
    assert (tmp_path / "o" / "best.pt").is_file()


def test_fit_weighs_rejected_predictions_only_when_asked(tiny_data: Path, tmp_path: Path) -> None:
    # the same data with a rejected prediction on every image (the key the Train panel's snapshot writes)
    coco = json.loads((tiny_data / "annotations.json").read_text())
    for img in coco["images"]:
        img["file_name"] = str(tiny_data / img["file_name"])
        img["retinalab_rejected"] = [{"bbox": [0, 0, img["width"], img["height"] * 0.75], "category_id": 1}]
    data = tmp_path / "with_rejected.json"
    data.write_text(json.dumps(coco))
    first_losses = {}
    for weight in (1.0, 4.0):
        rec = Recorder(stop_after_batches=1)
        fit(_config(data, tmp_path / f"w{weight}", hard_negative_weight=weight), on_event=rec,
            should_stop=rec.should_stop)
        first_losses[weight] = rec.kinds("batch_end")[0].losses
    # the first step sees the same weights and images: only the classification term grows
    assert first_losses[4.0]["classification"] > first_losses[1.0]["classification"]
    assert first_losses[4.0]["bbox_regression"] == pytest.approx(first_losses[1.0]["bbox_regression"])
