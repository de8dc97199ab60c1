"""Several processes under ``torchrun``: the process group, FSDP sharding and DDP wrapping.

Without ``torchrun`` (or with one process) nothing is set up and training runs plain.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.distributed.fsdp import fully_shard
from torch.nn.parallel import DistributedDataParallel

from rnalm.model import RNAEncoder


@dataclass
class Dist:
    """This process's place among the ``torchrun`` processes (rank 0 of 1 without torchrun)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    #: the process group was created here (and is torn down here), not by a caller
    owned: bool = False

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str) -> Dist:
    if "WORLD_SIZE" not in os.environ or int(os.environ["WORLD_SIZE"]) == 1:
        return Dist()
    backend = "nccl" if device.startswith("cuda") else "gloo"
    owned = not dist.is_initialized()
    if owned:
        dist.init_process_group(backend)
    d = Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)), owned)
    if device.startswith("cuda"):
        torch.cuda.set_device(d.local_rank)
    return d


def finish_distributed(d: Dist) -> None:
    """Wait for every rank, then tear down the process group this run created. A rank that exits
    with a live gloo group can abort in the group's destructor ("terminate called without an
    active exception") after its work is done, failing the whole torchrun job."""
    if d.world > 1 and d.owned:
        if dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()


def apply_fsdp(model: RNAEncoder) -> None:
    """Shard each transformer layer, then the root (embeddings, final norm, heads)."""
    for layer in model.layers:
        fully_shard(layer)
    fully_shard(model)


def barrier(d: Dist) -> None:
    """Wait for every rank (nothing to wait for in a single process)."""
    if d.world > 1:
        dist.barrier()


def wrap_for_ddp(model: RNAEncoder, d: Dist, sharded: bool, device: torch.device) -> torch.nn.Module:
    """The module the training step calls: a DDP wrapper when several processes replicate the model."""
    if d.world > 1 and not sharded:
        return DistributedDataParallel(model, device_ids=[d.local_rank] if device.type == "cuda" else None)
    return model
