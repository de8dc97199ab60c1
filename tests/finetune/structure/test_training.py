"""A tiny training run: the one-hot head learns a planted hairpin on random sequences.

Each sequence (20-28 nt) holds one Watson-Crick stem of 5 pairs closing a 3-6 nt loop at a random
place; everything else is random. Learning it needs what real structure learning needs: base
complementarity from pair features and stacking along the anti-diagonal from the 2-D convolutions.
"""

from __future__ import annotations

import random

import torch

from rnalm.runs.pair_batching import target_maps
from rnalm.runs.pair_loss import masked_bce_loss
from rnalm.runs.pairwise_head import one_hot_head, one_hot_inputs
from rnalm.structure.metrics import evaluate
from rnalm.structure.postprocess import postprocess

from .conftest import planted  # one_thread is a conftest fixture too


def _f1(head, data) -> float:
    head.eval()
    with torch.no_grad():
        x, m = one_hot_inputs([s.sequence for s in data])
        p = torch.sigmoid(head(x, m)).numpy()
    preds = [postprocess(p[b, : len(s), : len(s)], s.sequence) for b, s in enumerate(data)]
    return evaluate(preds, [s.pairs for s in data], [len(s) for s in data])["f1_seq_mean"]


def test_one_hot_head_learns_planted_hairpin(one_thread):
    rng = random.Random(0)
    torch.manual_seed(0)
    head = one_hot_head(proj_dim=8, channels=16, blocks=2, dilations=(1, 2), dropout=0.0)
    test = [planted(random.Random(1000 + k), "planted") for k in range(64)]
    before = _f1(head, test)
    opt = torch.optim.Adam(head.parameters(), lr=5e-3)
    head.train()
    for _ in range(300):
        batch = [planted(rng, "planted") for _ in range(16)]
        x, m = one_hot_inputs([s.sequence for s in batch])
        loss = masked_bce_loss(head(x, m), target_maps(batch), m, pos_weight=5.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = _f1(head, test)
    assert before < 0.2
    assert after > 0.9, f"F1 {after:.3f} after training"
