"""Rejected predictions as hard negatives: the weight lands on exactly the intended anchors and class,
weight 1 (off) leaves the loss as it was, and rejected boxes travel from the store to the loss."""

from __future__ import annotations

import json

import torch
from torchvision.ops import box_iou

from engine.focal_loss import sigmoid_focal_loss
from engine.models import build_model
from engine.retinanet_loss import HARD_NEGATIVE_IOU, hard_negative_weights, match_anchors, with_rejected
from engine.types import AnnotatedImage, Annotations, Box


def _model_batch(seed: int = 0):
    torch.manual_seed(seed)
    model = build_model("retinanet_mobilenet_v3_fpn", 3, image_size=128)
    model.train()
    images = [torch.rand(3, 128, 128), torch.rand(3, 128, 128)]
    dataset_targets = [
        {"boxes": torch.tensor([[10.0, 10, 60, 70]]), "labels": torch.tensor([0]),
         "rejected_boxes": torch.tensor([[70.0, 60, 120, 120], [12.0, 8, 60, 72]]),
         "rejected_labels": torch.tensor([2, 1])},
        {"boxes": torch.zeros((0, 4)), "labels": torch.zeros((0,), dtype=torch.int64),
         "rejected_boxes": torch.tensor([[20.0, 30, 90, 100]]), "rejected_labels": torch.tensor([0])},
    ]
    return model, images, dataset_targets


def _losses(model, images, targets, weight: float) -> dict[str, torch.Tensor]:
    model.hard_negative_weight = weight
    torch.manual_seed(0)
    return model(images, [{k: v.clone() for k, v in t.items()} for t in targets])


def test_weights_fall_on_background_anchors_near_a_rejected_box_in_its_class_only() -> None:
    model, images, dataset_targets = _model_batch()
    targets = [with_rejected(t) for t in dataset_targets]
    images_t, targets_t = model.transform(images, targets)
    anchors = model.anchor_generator(images_t, list(model.backbone(images_t.tensors).values()))
    matched = match_anchors(targets_t, anchors, model.proposal_matcher)
    weights = hard_negative_weights(targets_t, anchors, matched, 3, 5.0)

    expected = torch.ones_like(weights)
    for i, (t, dt) in enumerate(zip(targets_t, dataset_targets)):
        # rejected rows never match: the matching is the one of the labels alone
        labels_only = {"boxes": t["boxes"][t["labels"] >= 0], "labels": t["labels"][t["labels"] >= 0]}
        assert torch.equal(matched[i], match_anchors([labels_only], [anchors[i]], model.proposal_matcher)[0])
        close = box_iou(dt["rejected_boxes"], anchors[i]) >= HARD_NEGATIVE_IOU
        for row, cls in enumerate(dt["rejected_labels"].tolist()):
            expected[i, close[row] & (matched[i] == -1), cls] = 5.0
    assert torch.equal(weights, expected)
    assert (weights == 5.0).sum() > 0
    # the rejected box of class 1 sits on the label of class 0: its anchors that match the label stay at 1
    near_label = (box_iou(dataset_targets[0]["rejected_boxes"][1:], anchors[0])[0] >= HARD_NEGATIVE_IOU)
    assert (near_label & (matched[0] >= 0)).any()
    assert (weights[0, near_label & (matched[0] >= 0)] == 1.0).all()


def test_weight_one_is_todays_loss_and_a_larger_weight_adds_exactly_the_weighted_negative_terms() -> None:
    model, images, dataset_targets = _model_batch(1)
    plain = [{"boxes": t["boxes"], "labels": t["labels"]} for t in dataset_targets]
    merged = [with_rejected(t) for t in dataset_targets]
    today = _losses(model, images, plain, 1.0)
    off = _losses(model, images, merged, 1.0)
    assert torch.equal(off["classification"], today["classification"])
    assert torch.equal(off["bbox_regression"], today["bbox_regression"])

    on = _losses(model, images, merged, 3.0)
    assert torch.equal(on["bbox_regression"], today["bbox_regression"])
    # expected extra: (3 - 1) x the focal loss of the hard-negative elements, per image over its positives
    images_t, targets_t = model.transform(images, merged)
    features = list(model.backbone(images_t.tensors).values())
    logits = model.head(features)["cls_logits"]
    anchors = model.anchor_generator(images_t, features)
    matched = match_anchors(targets_t, anchors, model.proposal_matcher)
    hit = hard_negative_weights(targets_t, anchors, matched, 3, 2.0) - 1.0
    negative_loss = sigmoid_focal_loss(logits, torch.zeros_like(logits))
    extra = 2.0 * (negative_loss * hit).sum(dim=(1, 2)) / (matched >= 0).sum(dim=1).clamp(min=1)
    torch.testing.assert_close(on["classification"], today["classification"] + extra.sum() / 2, rtol=1e-5, atol=1e-6)
    assert on["classification"] > today["classification"]


def test_a_training_step_without_hard_negatives_ignores_rejected_boxes() -> None:
    from engine.train.step import TrainStep

    model, images, dataset_targets = _model_batch(2)
    seen = []
    original = model.forward
    model.forward = lambda imgs, targets=None: seen.append(targets) or original(imgs, targets)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    TrainStep(model, opt, sched, device=torch.device("cpu"), amp=False, grad_clip=0.0)(images, dataset_targets)
    TrainStep(model, opt, sched, device=torch.device("cpu"), amp=False, grad_clip=0.0,
              hard_negatives=True)(images, dataset_targets)
    assert [len(t["boxes"]) for t in seen[0]] == [1, 0]
    assert [len(t["boxes"]) for t in seen[1]] == [3, 1] and seen[1][0]["labels"].tolist() == [0, -3, -2]


def test_rejected_boxes_travel_from_the_store_through_the_coco_snapshot_to_the_dataset(tmp_path) -> None:
    from PIL import Image

    from app.training.data_selection import write_coco_snapshot
    from engine.dataset import DetectionDataset, load_annotations
    from engine.project import Project
    from engine.types import Detection

    Image.new("RGB", (80, 60), "gray").save(tmp_path / "a.jpg")
    with Project.open(tmp_path) as project:
        image = project.images()[0]
        project.add_box(image, Box(5, 5, 30, 30, "cat"))
        wrong, right = project.set_predictions(image, [Detection(40, 10, 70, 50, "cat", 0.9),
                                                       Detection(6, 5, 30, 31, "dog", 0.8)])
        project.reject_box(wrong.id)
        project.delete_box(right.id)
        project.set_status(image, "reviewed")
        ann = project.training_data()
    assert [b.xyxy for b in ann.images[0].rejected] == [(40.0, 10.0, 70.0, 50.0)]
    train_json, _ = write_coco_snapshot(ann, Annotations(ann.root, ann.class_names, ()), tmp_path / "run")
    coco = json.loads(train_json.read_text())
    assert len(coco["annotations"]) == 1  # the rejected box is no label for other COCO readers
    loaded = load_annotations(train_json, "coco")
    assert loaded.images[0].rejected == (Box(40.0, 10.0, 70.0, 50.0, "cat"),)
    _, target = DetectionDataset(loaded, loaded.class_names)[0]
    assert target["boxes"].tolist() == [[5.0, 5.0, 30.0, 30.0]]
    assert target["rejected_boxes"].tolist() == [[40.0, 10.0, 70.0, 50.0]]
    assert target["rejected_labels"].tolist() == [loaded.class_names.index("cat")]
    plain = DetectionDataset(Annotations(loaded.root, loaded.class_names,
                                         (AnnotatedImage(**{**loaded.images[0].__dict__, "rejected": ()}),)),
                             loaded.class_names)[0][1]
    assert "rejected_boxes" not in plain and plain["labels"].tolist() == target["labels"].tolist()
