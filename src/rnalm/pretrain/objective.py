"""The pretraining objective: masked tokens (+ MFE regression + per-token structure), its losses,
and the validation metrics computed from them."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Callable

import torch
import torch.nn.functional as F

from rnalm.alphabet import Alphabet
from rnalm.pretrain.config import ObjectiveConfig, PretrainConfig
from rnalm.pretrain.data import Example
from rnalm.pretrain.labels import STRUCTURE_INDEX
from rnalm.pretrain.masking import IGNORE_INDEX, mask_tokens
from rnalm.training.batching import Budget, budget_batches

#: Returns the context the forward pass runs in (bf16 autocast on GPU when asked, else nothing).
Autocast = Callable[[], AbstractContextManager]


def collate(
    examples: list[Example], labels: list, alphabet: Alphabet, obj: ObjectiveConfig, gen: torch.Generator
) -> dict[str, torch.Tensor]:
    conv = alphabet.get_batch_converter(check_length=False)
    tokens = conv.pad([alphabet.encode_normalized(e.seq, e.id) for e in examples])
    inputs, targets = mask_tokens(tokens, alphabet, gen, rate=obj.mask_rate)
    batch = {"inputs": inputs, "targets": targets}
    if obj.mfe_weight > 0 or obj.structure_weight > 0:
        b, t = tokens.shape
        mfe = torch.full((b,), float("nan"))
        struct = torch.full((b, t), IGNORE_INDEX, dtype=torch.long)
        off = int(alphabet.prepend_bos)
        for i, lab in enumerate(labels):
            if lab is None:
                continue
            mfe[i] = lab.mfe / obj.mfe_scale
            if alphabet.k_mer == 1:
                struct[i, off : off + len(lab.structure)] = torch.tensor([STRUCTURE_INDEX[c] for c in lab.structure])
        batch["mfe"], batch["structure"] = mfe, struct
    return batch


def compute_losses(
    model: torch.nn.Module, batch: dict[str, torch.Tensor], obj: ObjectiveConfig, autocast: Autocast
) -> tuple[torch.Tensor, dict[str, float]]:
    with autocast():
        out = model(batch["inputs"])
    logits = out["logits"].float()
    targets = batch["targets"]
    n_masked = int((targets != IGNORE_INDEX).sum())
    mlm = (
        F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=IGNORE_INDEX)
        if n_masked
        else logits.sum() * 0.0
    )
    total = mlm
    stats: dict[str, float] = {"mlm_loss": mlm.item(), "n_masked": n_masked}
    if n_masked:
        sel = targets != IGNORE_INDEX
        stats["mlm_correct"] = int((logits.argmax(-1)[sel] == targets[sel]).sum())
    if obj.mfe_weight > 0:
        ok = ~torch.isnan(batch["mfe"])
        if ok.any():
            mfe_loss = F.mse_loss(out["mfe"].float()[ok], batch["mfe"][ok])
            total = total + obj.mfe_weight * mfe_loss
            stats["mfe_mse"] = mfe_loss.item() * obj.mfe_scale**2
            stats["n_mfe"] = int(ok.sum())
    if obj.structure_weight > 0:
        st = batch["structure"]
        ok = st != IGNORE_INDEX
        if ok.any():
            sl = out["structure_logits"].float()
            s_loss = F.cross_entropy(sl[ok], st[ok])
            total = total + obj.structure_weight * s_loss
            stats["structure_loss"] = s_loss.item()
            stats["structure_correct"] = int((sl[ok].argmax(-1) == st[ok]).sum())
            stats["n_structure"] = int(ok.sum())
    return total, stats


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    valid: list[Example],
    labels: list,
    alphabet: Alphabet,
    cfg: PretrainConfig,
    device: torch.device,
    autocast: Autocast,
) -> dict[str, float]:
    """Validation metrics with a fixed masking seed, so numbers are comparable across steps and runs."""
    model.eval()
    lengths = [len(e.seq) // alphabet.k_mer + 2 for e in valid]
    acc: dict[str, float] = {}
    budget = Budget(tokens=cfg.optim.tokens_per_batch, max_rows=cfg.optim.max_batch)
    for k, idx in enumerate(budget_batches(lengths, budget)):
        gen = torch.Generator().manual_seed(12345 + k)
        batch = collate([valid[i] for i in idx], [labels[i] for i in idx], alphabet, cfg.objective, gen)
        batch = {kk: v.to(device) for kk, v in batch.items()}
        _, stats = compute_losses(model, batch, cfg.objective, autocast)
        w = stats["n_masked"]
        acc["mlm_loss_sum"] = acc.get("mlm_loss_sum", 0.0) + stats["mlm_loss"] * w
        for kk, v in stats.items():
            if kk != "mlm_loss":
                acc[kk] = acc.get(kk, 0.0) + v
        if "mfe_mse" in stats:
            acc["mfe_se_sum"] = acc.get("mfe_se_sum", 0.0) + stats["mfe_mse"] * stats["n_mfe"]
    res = {
        "mlm_loss": acc["mlm_loss_sum"] / max(acc.get("n_masked", 0), 1),
        "mlm_acc": acc.get("mlm_correct", 0) / max(acc.get("n_masked", 0), 1),
    }
    if "n_mfe" in acc:
        res["mfe_mse"] = acc["mfe_se_sum"] / acc["n_mfe"]
    if "n_structure" in acc:
        res["structure_acc"] = acc["structure_correct"] / acc["n_structure"]
    return res


def summarise(window: dict[str, float]) -> dict[str, float]:
    """Average a logging window: losses per micro-batch, accuracies per predicted token."""
    n_micro = max(1.0, window.get("n_micro", 1.0))
    rec: dict[str, float] = {k: window[k] / n_micro for k in ("mlm_loss", "mfe_mse", "structure_loss") if k in window}
    if window.get("n_masked"):
        rec["mlm_acc"] = window.get("mlm_correct", 0) / window["n_masked"]
    if window.get("n_structure"):
        rec["structure_acc"] = window["structure_correct"] / window["n_structure"]
    return rec
