"""Detector: plain Detections in original pixels, same boxes as a plain forward, paths, bad files, COCO names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engine.checkpoint import save_checkpoint
from engine.errors import ImageLoadError, ModelError
from engine.infer import Detector, ImagePrediction
from engine.models import build_model
from engine.types import Detection

ARCH = "retinanet_mobilenet_v3_fpn"
CLASSES = ("cat", "dog", "bird")
SIZE = 128


def _model(num_classes: int = len(CLASSES)) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_model(ARCH, num_classes, image_size=SIZE)
    with torch.no_grad():  # a random model that is confident enough to produce boxes
        model.head.classification_head.cls_logits.bias.fill_(-2.0)
    return model


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    return _model()


@pytest.fixture(scope="module")
def detector(model: torch.nn.Module) -> Detector:
    return Detector.from_model(model, CLASSES, image_size=SIZE, arch=ARCH, device="cpu")


def _image(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(small).resize((width, height), Image.BILINEAR))


def _plain_forward(model: torch.nn.Module, image: np.ndarray, thresh: float) -> dict[str, torch.Tensor]:
    model.eval()
    model.score_thresh = thresh
    with torch.no_grad():
        return model([torch.from_numpy(image.copy()).permute(2, 0, 1).float() / 255])[0]


@pytest.mark.parametrize("shape", [(300, 451), (90, 60)])
def test_boxes_match_a_plain_torchvision_forward(detector: Detector, model: torch.nn.Module, shape) -> None:
    image = _image(*shape)
    ours = detector.predict([image], score_thresh=0.1)[0]
    ref = _plain_forward(model, image, 0.1)
    h, w = shape
    ref_boxes = ref["boxes"].clone()
    ref_boxes[:, 0::2] = ref_boxes[:, 0::2].clamp(0, w)
    ref_boxes[:, 1::2] = ref_boxes[:, 1::2].clamp(0, h)
    keep = (ref_boxes[:, 2] > ref_boxes[:, 0]) & (ref_boxes[:, 3] > ref_boxes[:, 1])  # zero-area boxes dropped
    assert len(ours) == int(keep.sum()) > 0
    torch.testing.assert_close(torch.tensor([d.xyxy for d in ours]), ref_boxes[keep], atol=1e-3, rtol=0)
    torch.testing.assert_close(torch.tensor([d.score for d in ours]), ref["scores"][keep], atol=1e-5, rtol=0)
    assert [d.label for d in ours] == [CLASSES[i] for i in ref["labels"][keep].tolist()]


def test_detections_are_plain_clipped_sorted_and_thresholded(detector: Detector) -> None:
    image = _image(200, 300, seed=1)
    results = detector.predict([image, image[:, :150]], score_thresh=0.12, batch_size=2)
    assert len(results) == 2
    for dets, width in zip(results, (300, 150)):
        assert dets and all(type(d) is Detection for d in dets)
        for d in dets:
            assert all(type(v) is float for v in (*d.xyxy, d.score))
            assert 0 <= d.x1 < d.x2 <= width and 0 <= d.y1 < d.y2 <= 200
            assert d.score >= 0.12 and d.label in CLASSES
        scores = [d.score for d in dets]
        assert scores == sorted(scores, reverse=True)
    # an image's boxes do not depend on what it is batched with (up to float rounding)
    _assert_same(detector.predict([image], score_thresh=0.12)[0], results[0])
    for dets in detector.predict([image[:, :150], image, image], score_thresh=0.12, batch_size=3)[1:]:
        _assert_same(dets, results[0])


def _assert_same(a: list[Detection], b: list[Detection]) -> None:
    """Same detections up to float rounding; the random model's scores tie, so equal boxes may swap."""
    assert len(a) == len(b) > 0
    boxes_a, boxes_b = torch.tensor([d.xyxy for d in a]), torch.tensor([d.xyxy for d in b])
    scores_a, scores_b = torch.tensor([d.score for d in a]), torch.tensor([d.score for d in b])
    labels_a, labels_b = [d.label for d in a], [d.label for d in b]
    # one anchor can give the same box for two classes: match on box, score and label together
    distance = (boxes_a[:, None] - boxes_b[None]).abs().amax(dim=2)
    distance = distance + (scores_a[:, None] - scores_b[None]).abs() * 100
    distance = distance + torch.tensor([[la != lb for lb in labels_b] for la in labels_a]) * 1e6
    nearest = distance.argmin(dim=1)
    assert (boxes_a - boxes_b[nearest]).abs().max() < 1e-3
    assert (scores_a - scores_b[nearest]).abs().max() < 1e-5
    assert labels_a == [labels_b[i] for i in nearest.tolist()]


def test_long_lists_keep_their_order(detector: Detector, monkeypatch: pytest.MonkeyPatch) -> None:
    """predict decodes and runs a window of batches at a time; results still line up with inputs."""
    monkeypatch.setattr("engine.infer._WINDOW_BATCHES", 2)
    a, b = _image(64, 96, seed=4), _image(96, 64, seed=5)
    results = detector.predict([a, b, a, b, a], score_thresh=0.1, batch_size=1)  # windows of 2, 2, 1
    assert len(results) == 5
    expected_a, expected_b = detector.predict([a, b], score_thresh=0.1)
    for i, dets in enumerate(results):
        _assert_same(dets, expected_a if i % 2 == 0 else expected_b)


def test_predict_restores_the_models_mode(model: torch.nn.Module) -> None:
    det = Detector.from_model(model, CLASSES, image_size=SIZE, device="cpu")
    model.train()
    det.predict([_image(64, 64)])
    assert model.training


def test_paths_and_grey_arrays(detector: Detector, tmp_path: Path) -> None:
    image = _image(120, 160, seed=2)
    path = tmp_path / "a.png"
    Image.fromarray(image).save(path)
    assert detector.predict([path], score_thresh=0.1) == detector.predict([image], score_thresh=0.1)
    grey = image[:, :, 0]
    assert detector.predict([grey]) == detector.predict([np.repeat(grey[:, :, None], 3, axis=2)])
    with pytest.raises(ValueError, match="uint8"):
        detector.predict([image.astype(np.float32)])
    with pytest.raises(ImageLoadError):
        detector.predict([tmp_path / "missing.jpg"])
    with pytest.raises(ValueError, match="score_thresh"):
        detector.predict([image], score_thresh=1.5)


def test_predict_paths_skips_unreadable_files_in_order(detector: Detector, tmp_path: Path) -> None:
    paths = []
    for i, size in enumerate([(100, 80), (64, 200), (90, 90)]):
        p = tmp_path / f"img{i}.jpg"
        Image.fromarray(_image(*size, seed=i)).save(p)
        paths.append(p)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    paths.insert(1, broken)
    results = list(detector.predict_paths(paths, score_thresh=0.1, batch_size=2))
    assert [r.path for r in results] == paths
    assert [r.ok for r in results] == [True, False, True, True]
    assert isinstance(results[1].error, ImageLoadError) and "broken.jpg" in str(results[1].error)
    assert (results[2].width, results[2].height) == (200, 64)
    assert isinstance(results[0], ImagePrediction)
    assert results[3].detections == tuple(detector.predict([paths[3]], score_thresh=0.1)[0])


def test_from_checkpoint_gives_the_same_detections(detector: Detector, model: torch.nn.Module, tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "m.pt", model=model, arch=ARCH, class_names=CLASSES, image_size=SIZE,
                           alpha=0.25, gamma=2.0)
    assert Detector.from_checkpoint(path, device="auto").device == ("cuda" if torch.cuda.is_available() else "cpu")
    loaded = Detector.from_checkpoint(path, device="cpu", backend="torch")
    assert (loaded.class_names, loaded.arch, loaded.image_size, loaded.device) == (CLASSES, ARCH, SIZE, "cpu")
    image = _image(150, 100, seed=3)
    _assert_same(loaded.predict([image])[0], detector.predict([image])[0])  # channels-last: float rounding only
    assert not loaded.model.training
    on_onnx = Detector.from_checkpoint(path, device="cpu", backend="onnxruntime")
    assert (on_onnx.backend, on_onnx.class_names, on_onnx.image_size) == ("onnxruntime", CLASSES, SIZE)
    _assert_same(on_onnx.predict([image])[0], detector.predict([image])[0])


def test_coco_slots_map_to_names_and_unused_slots_never_appear() -> None:
    from engine.models import coco_categories

    slots = coco_categories()
    model = _model(91)
    bias = torch.full((9, 91), -20.0)
    for column in (0, 12, 1):  # __background__, N/A, person
        bias[:, column] = 3.0
    with torch.no_grad():
        model.head.classification_head.cls_logits.bias.copy_(bias.flatten())
    det = Detector.from_model(model, slots, image_size=SIZE, device="cpu")
    assert len(det.class_names) == 80 and det.class_names[0] == "person"
    dets = det.predict([_image(100, 100)], score_thresh=0.5)[0]
    assert dets and {d.label for d in dets} == {"person"}


def test_bad_device_and_class_count_are_model_errors(model: torch.nn.Module) -> None:
    if not torch.cuda.is_available():
        with pytest.raises(ModelError, match="CUDA"):
            Detector.from_model(model, CLASSES, image_size=SIZE, device="cuda")
    with pytest.raises(ModelError, match="device"):
        Detector.from_model(model, CLASSES, image_size=SIZE, device="tpu")
    with pytest.raises(ModelError, match="3 class columns"):
        Detector.from_model(model, ("cat",), image_size=SIZE, device="cpu")
