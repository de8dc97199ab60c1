#!/usr/bin/env bash
# UTR-LM ablation on the shared corpus: the same model, data and budget with
#   (a) MLM only, (b) MLM + MFE, (c) MLM + MFE + secondary structure.
# Usage: recipes/pretrain/ablation.sh [extra key=value overrides for all three runs]
# The CPU budget used for BENCHMARKS.md: optim.max_steps=400 optim.tokens_per_batch=4096.
set -euo pipefail
cd "$(dirname "$0")/../.."
cfg=recipes/pretrain/utrlm_shared.yaml
rnalm pretrain --config "$cfg" output=runs/pretrain/ablation_mlm "$@"
rnalm pretrain --config "$cfg" output=runs/pretrain/ablation_mlm_mfe objective.mfe_weight=1.0 "$@"
rnalm pretrain --config "$cfg" output=runs/pretrain/ablation_mlm_mfe_ss objective.mfe_weight=1.0 \
  objective.structure_weight=1.0 "$@"
