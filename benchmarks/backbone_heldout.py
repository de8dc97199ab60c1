"""Masked-LM accuracy of several backbones on one pretraining run's held-out split.

A pretraining run reports its validation accuracy for its own weights only; comparing it with an
earlier backbone needs the earlier one scored on the same held-out sequences with the same masking.
This re-reads the run's corpus split (``config.yaml`` next to ``final/``) and scores each model
with the packaging check's procedure (:func:`rnalm.packaging.check.backbone_metrics`).

    python benchmarks/backbone_heldout.py --run runs/pretrain/utrlm_mini_v2 --model utrlm-mini \\
        --model runs/pretrain/utrlm_mini_v2/final
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rnalm.api import load
from rnalm.configfile import load_config
from rnalm.packaging.check import backbone_metrics
from rnalm.pretrain.config import PretrainConfig
from rnalm.pretrain.data import load_corpus


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", required=True, help="pretraining output folder (config.yaml + final/)")
    ap.add_argument("--model", action="append", required=True, help="shipped name or native folder (repeatable)")
    args = ap.parse_args()
    run = Path(args.run)
    pcfg = load_config(PretrainConfig, run / "config.yaml")
    model, alphabet = load(str(run / "final"))
    _, valid, _ = load_corpus(pcfg.data, alphabet, model.config.max_length)
    seqs, ids = [e.seq for e in valid], [e.id for e in valid]
    where = ", ".join(pcfg.data.paths)
    print(f"held-out: {len(seqs)} sequences of {where} (valid_fraction {pcfg.data.valid_fraction})")
    print("| model | MLM accuracy | MLM loss |\n|---|---|---|")
    for name in args.model:
        m = backbone_metrics(name, seqs, ids)  # loads a shipped name or a folder, as rnalm.load does
        print(f"| {name} | {m['mlm_acc']:.4f} | {m.get('mlm_loss', float('nan')):.4f} |")


if __name__ == "__main__":
    main()
