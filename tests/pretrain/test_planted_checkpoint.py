"""Files planted in a pretraining checkpoint: an error naming the bad file when resuming.

An earlier version: a pickle planted in a checkpoint gave a raw traceback, not the file's name.
"""

from __future__ import annotations

import os

import pytest
import torch

from rnalm.errors import CheckpointError
from rnalm.pretrain.config import OptimConfig
from rnalm.pretrain.trainer import pretrain

from .test_pretrain import tiny_cfg, write_corpus


class RunsCode:
    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


@pytest.mark.parametrize("planted", ["state.pt", "model/model.safetensors"])
def test_pickle_planted_in_a_pretrain_checkpoint_is_named(tmp_path, planted):
    corpus = write_corpus(tmp_path / "c.fa", n=40)
    cfg = tiny_cfg(
        tmp_path, corpus, save_every=2, optim=OptimConfig(lr=3e-3, warmup_steps=1, max_steps=2, tokens_per_batch=300)
    )
    pretrain(cfg)
    (ck,) = sorted((tmp_path / "run" / "checkpoints").glob("step-*"))
    marker = tmp_path / "ran"
    torch.save({"optimizer": RunsCode(marker)}, ck / planted)
    with pytest.raises(CheckpointError) as info:
        pretrain(cfg, resume=True)
    msg = str(info.value)
    assert msg.startswith(f"{ck / planted}: ") and "weights_only" not in msg and not marker.exists()
