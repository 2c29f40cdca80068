"""Training-step throughput: RetinaLab's batch-wise loss against torchvision's per-image loss.

Both sides are the same model (``build_model``, same weights) on the same batch; only the loss code
differs: ``RetinaLabNet.compute_loss`` (``engine.retinanet_loss``: padded tensors, no host-device sync)
against torchvision's stock ``RetinaNet.compute_loss`` with its ``RetinaNetClassificationHead`` (per image,
boolean-mask indexing). A step is forward + loss + backward + AdamW step, under float16 autocast with a
GradScaler and channels_last on CUDA (as ``fit`` does). The two sides alternate in rounds of ``--steps``
steps after ``--warmup`` untimed ones; on CUDA each round ends with a synchronize. Prints images/s of
each side, their ratio and the first step's losses (they agree to float tolerance: same function).
The batch is made once, on the device: this measures the step, not data loading.

    python bench/train_step.py --device cuda --batch-size 32 --image-size 320
    .venv/bin/python bench/train_step.py --device cpu --batch-size 4 --image-size 128 --steps 3 --rounds 2
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torchvision.models.detection import RetinaNet  # noqa: E402
from torchvision.models.detection.retinanet import RetinaNetClassificationHead  # noqa: E402

from engine.models import build_model  # noqa: E402


def make_batch(n: int, size: int, classes: int, device: torch.device, seed: int = 0) -> tuple[list, list]:
    g = torch.Generator().manual_seed(seed)
    images, targets = [], []
    for _ in range(n):
        h = int(size * (0.75 + 0.25 * torch.rand(1, generator=g).item()))
        images.append(torch.rand(3, h, size, generator=g).to(device))
        k = int(torch.randint(1, 6, (1,), generator=g))
        xy = torch.rand(k, 2, generator=g) * torch.tensor([size * 0.7, h * 0.7])
        wh = (0.1 + 0.3 * torch.rand(k, 2, generator=g)) * min(size, h)
        boxes = torch.cat([xy, torch.minimum(xy + wh, torch.tensor([size - 1.0, h - 1.0]))], 1)
        targets.append({"boxes": boxes.to(device), "labels": torch.randint(0, classes, (k,), generator=g).to(device)})
    return images, targets


class Side:
    def __init__(self, model: torch.nn.Module, device: torch.device, amp: bool) -> None:
        self.model, self.device, self.amp = model, device, amp
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05)
        self.scaler = torch.amp.GradScaler("cuda", enabled=amp)

    def step(self, images: list, targets: list) -> float | None:
        with torch.autocast(device_type=self.device.type, dtype=torch.float16, enabled=self.amp):
            losses = self.model(images, targets)
        loss = sum(losses.values())
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return loss.detach()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--arch", default="retinanet_mobilenet_v3_fpn")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--image-size", type=int, default=320)
    parser.add_argument("--classes", type=int, default=4)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per side and round")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    device = torch.device(args.device)
    amp = device.type == "cuda"
    torch.manual_seed(0)
    ours = build_model(args.arch, args.classes, image_size=args.image_size)
    stock = copy.deepcopy(ours)
    stock.__class__ = RetinaNet  # torchvision's compute_loss: matching and box loss image by image
    stock.head.classification_head.__class__ = RetinaNetClassificationHead  # its focal loss, per image
    sides = {}
    for name, model in (("batched", ours), ("per_image", stock)):
        model.to(device)
        if amp:
            model.to(memory_format=torch.channels_last)
        sides[name] = Side(model, device, amp)
    images, targets = make_batch(args.batch_size, args.image_size, args.classes, device)
    first = {name: float(side.step(images, targets)) for name, side in sides.items()}
    print(f"first-step loss: batched {first['batched']:.5f}  per_image {first['per_image']:.5f}")
    for _ in range(args.warmup - 1):
        for side in sides.values():
            side.step(images, targets)
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(args.rounds):
        for name, side in sides.items():
            if amp:
                torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(args.steps):
                side.step(images, targets)
            if amp:
                torch.cuda.synchronize()
            times[name].append((time.perf_counter() - start) / args.steps)
    rate = {name: args.batch_size / statistics.median(t) for name, t in times.items()}
    name = torch.cuda.get_device_name(device) if amp else "cpu"
    print(f"{args.arch}, batch {args.batch_size}, {args.image_size} px, {name}, amp={amp}: "
          f"batched {rate['batched']:.1f} img/s, per_image {rate['per_image']:.1f} img/s, "
          f"ratio {rate['batched'] / rate['per_image']:.2f} (median of {args.rounds} rounds x {args.steps} steps)")


if __name__ == "__main__":
    main()
