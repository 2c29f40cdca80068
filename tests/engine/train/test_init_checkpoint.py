"""Fine-tuning from an existing checkpoint: class-logit rows follow the class names."""

from __future__ import annotations

from types import SimpleNamespace

import torch

from engine.models import build_model
from engine.train.checkpoints import CLS_BIAS, CLS_WEIGHT, init_from_checkpoint


def test_head_rows_are_remapped_by_class_name() -> None:
    torch.manual_seed(0)
    old = build_model("retinanet_mobilenet_v3_fpn", 3, image_size=64)
    old_state = old.state_dict()
    ckpt = SimpleNamespace(state_dict=old_state, class_names=("cat", "dog", "fox"), arch="retinanet_mobilenet_v3_fpn")
    new = build_model("retinanet_mobilenet_v3_fpn", 2, image_size=64)
    fresh_bias = new.state_dict()[CLS_BIAS].clone()
    carried = init_from_checkpoint(new, ckpt, ("fox", "owl"))
    assert carried == 1
    a = new.head.classification_head.num_anchors
    w, b = new.state_dict()[CLS_WEIGHT], new.state_dict()[CLS_BIAS]
    for anchor in range(a):
        torch.testing.assert_close(w[anchor * 2 + 0], old_state[CLS_WEIGHT][anchor * 3 + 2])  # fox row copied
        torch.testing.assert_close(b[anchor * 2 + 1], fresh_bias[anchor * 2 + 1])  # owl keeps the prior
    # everything outside the class-logit layer comes from the checkpoint
    key = next(k for k in old_state if k.startswith("backbone") and old_state[k].is_floating_point())
    torch.testing.assert_close(new.state_dict()[key], old_state[key])
