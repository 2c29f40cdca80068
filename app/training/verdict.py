"""How a run ended and whether the new model beats the one on screen, said plainly, and the question
before a worse one is swapped in. "Before" and "after" are the current and the new model on the same
validation images."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from app.training.model_history import fmt_metric
from app.training.train_worker import TrainOutcome


def how_it_ended(outcome: TrainOutcome, images_skipped: int = 0) -> str:
    """The panel's message for a run that ended: the outcome's message, where a failed run's last
    checkpoint is, and how many unreadable images were skipped."""
    kept = outcome.last_checkpoint or outcome.best_checkpoint
    text = outcome.message + (f" Last checkpoint kept: {kept}" if outcome.status == "failed" and kept else "")
    if images_skipped:
        text += f" {images_skipped} unreadable image(s) were skipped."
    return text


def before_after(outcome: TrainOutcome) -> str:
    """The run's result line: validation AP and AP50 of the model on screen, then of the new one."""
    before, after = outcome.metrics_before, outcome.metrics_after
    return (f"Validation AP  before {fmt_metric(before.get('AP'))}  →  after {fmt_metric(after.get('AP'))}"
            f"    (AP50 {fmt_metric(before.get('AP50'))} → {fmt_metric(after.get('AP50'))})")


def worse_than_before(outcome: TrainOutcome, num_val_images: int | None = None) -> str:
    """A plain sentence when the new model's validation AP is below the current model's, else ""."""
    before, after = outcome.metrics_before.get("AP"), outcome.metrics_after.get("AP")
    if before is None or after is None or after >= before:
        return ""
    images = "validation images" if num_val_images is None else (
        "validation image" if num_val_images == 1 else f"{num_val_images} validation images")
    few = " (one image is a small sample)" if num_val_images == 1 else ""
    return (f"The new model is worse than the current one on the same {images}{few}: AP "
            f"{fmt_metric(before)} → {fmt_metric(after)}. Keep the current model, or review more images "
            "and train again.")


def ask_use_worse_model(parent: QWidget, text: str) -> bool:
    """The question before swapping in a model that scored worse than the one in use."""
    answer = QMessageBox.question(parent, "Use a worse model?", f"{text}\n\nUse the new model anyway?",
                                  QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes
