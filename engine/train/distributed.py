"""Multi-process training under ``torchrun`` (PyTorch DDP): process group, ranks and agreement.

``DistContext.from_env()`` reads torchrun's ``WORLD_SIZE`` / ``RANK`` / ``LOCAL_RANK``; with more than
one process it starts a process group (nccl on CUDA, gloo on CPU) and picks this rank's device. Only
rank 0 writes checkpoints, logs and events. ``agree`` turns a per-rank flag (stop requested, step
skipped) into one decision for all ranks, so no rank waits forever in a collective the others left.
A single process (the normal case, and the GUI) pays nothing for any of this.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
from torch import nn

from engine.errors import RetinaLabError

logger = logging.getLogger(__name__)


@dataclass
class DistContext:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    started_group: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @classmethod
    def from_env(cls, device: torch.device) -> DistContext:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        import torch.distributed as dist

        rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
        started = False
        if not dist.is_initialized():
            backend = "nccl" if device.type == "cuda" else "gloo"
            dist.init_process_group(backend=backend)
            started = True
        logger.info("DDP rank %d of %d (%s)", rank, world, dist.get_backend())
        return cls(rank=rank, local_rank=local_rank, world_size=world, started_group=started)

    def device_for(self, device: torch.device) -> torch.device:
        """On CUDA each local rank takes its own GPU."""
        if self.distributed and device.type == "cuda":
            gpus = torch.cuda.device_count()
            if self.local_rank >= gpus:
                raise RetinaLabError(
                    f"process {self.local_rank} on this machine has no GPU of its own ({gpus} GPU(s) here): start "
                    f"at most {gpus} process(es) per node (torchrun --nproc_per_node={gpus}) or pass --device cpu"
                )
            torch.cuda.set_device(self.local_rank)
            return torch.device("cuda", self.local_rank)
        return device

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        if not self.distributed:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [device.index] if device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def agree(self, flag: bool, device: torch.device) -> bool:
        """True on every rank when ``flag`` is true on any rank."""
        if not self.distributed:
            return flag
        import torch.distributed as dist

        t = torch.tensor([1.0 if flag else 0.0], device=device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item() > 0)

    def barrier(self) -> None:
        if self.distributed:
            import torch.distributed as dist

            dist.barrier()

    def close(self) -> None:
        if self.started_group:
            import torch.distributed as dist

            dist.destroy_process_group()
            self.started_group = False
