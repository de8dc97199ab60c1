#!/usr/bin/env bash
# UTR-LM ablation on the shared corpus: the same model, data and budget with
#   (a) MLM only, (b) MLM + MFE, (c) MLM + MFE + secondary structure, and (d) no pretraining
# (the same architecture with its random initial weights), each then probed on HEK293 TE with
# a frozen backbone and UTR-LM's MLP head on <cls> and on the mean (3'-most 100 nt).
# Usage: recipes/pretrain/ablation.sh [extra key=value overrides for the pretraining runs]
# The CPU budget used for BENCHMARKS.md:
#   recipes/pretrain/ablation.sh optim.max_steps=400 optim.tokens_per_batch=4096 optim.warmup_steps=40 \
#       eval_every=100 save_every=100
set -euo pipefail
cd "$(dirname "$0")/../.."
cfg=recipes/pretrain/utrlm_shared.yaml
rnalm pretrain --config "$cfg" -o runs/pretrain/ablation_mlm "$@"
rnalm pretrain --config "$cfg" -o runs/pretrain/ablation_mlm_mfe objective.mfe_weight=1.0 "$@"
rnalm pretrain --config "$cfg" -o runs/pretrain/ablation_mlm_mfe_ss objective.mfe_weight=1.0 \
  objective.structure_weight=1.0 "$@"
rnalm pretrain --config "$cfg" -o runs/pretrain/ablation_none "$@" optim.max_steps=0
for v in mlm mlm_mfe mlm_mfe_ss none; do
  for pool in cls mean; do
    rnalm finetune --config recipes/hek293_te/lm.yaml backbone.name=runs/pretrain/ablation_$v/final \
      data.max_length=100 head.pooling=$pool -o runs/ablation/hek100_${v}_$pool --overwrite
  done
done
