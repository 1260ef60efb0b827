"""Process-group set-up for ``torchrun`` (DDP): NCCL on GPUs, gloo on CPU; a no-op for one process."""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the job (``rank`` 0 of 1 without torchrun)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1


def init_distributed(device: str) -> DistInfo:
    """Join the torchrun job described by the environment (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if not dist.is_initialized():
        backend = "nccl" if device.startswith("cuda") and torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend)
        atexit.register(_destroy_process_group)  # also run by the CLI's fast exit (hdrbench.cli.entry)
    info = DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
    if device.startswith("cuda") and torch.cuda.is_available():
        torch.cuda.set_device(info.local_rank)
    return info


def _destroy_process_group() -> None:
    """Leave the job cleanly at exit (NCCL warns, at interpreter teardown, about a group never destroyed)."""
    if dist.is_initialized():
        dist.destroy_process_group()


def rank_device(device: str, info: DistInfo) -> torch.device:
    """``cuda:<local_rank>`` for a CUDA job, else ``device``."""
    if device.startswith("cuda") and info.active:
        return torch.device("cuda", info.local_rank)
    return torch.device(device)


def barrier(info: DistInfo) -> None:
    if info.active:
        dist.barrier()


def broadcast_object(obj: Any, info: DistInfo) -> Any:
    """Rank 0's ``obj`` on every rank."""
    if not info.active:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather_to_main(obj: Any, info: DistInfo) -> list[Any]:
    """Every rank's ``obj`` on rank 0 (in rank order); an empty list elsewhere."""
    if not info.active:
        return [obj]
    out: list[Any] | None = [None] * info.world_size if info.is_main else None
    dist.gather_object(obj, out, dst=0)
    return out or []


def mean_over_ranks(value: float, info: DistInfo) -> float:
    if not info.active:
        return value
    t = torch.tensor([value], dtype=torch.float64)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t)
    return float(t.item()) / info.world_size
