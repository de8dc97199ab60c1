#!/usr/bin/env bash
# Re-package the shipped task models from their runs (see README "Shipped models"), each with the
# baselines validated on the same rows: the recipe's one-hot run first (the target every shipped
# task model must beat; tests/shipped/test_manifest.py checks it), then the other baselines.
# Run from the repository root after training the runs named below (BENCHMARKS.md has the commands).
# PREVIOUS=DIR (a previous release's shipped folder, e.g. from
#   git archive COMMIT src/rnalm/shipped | tar -x -C /tmp/prev; PREVIOUS=/tmp/prev/src/rnalm/shipped)
# also scores each previous task model on the same validation rows, lists it on the card and refuses
# to ship a model that does not beat it.
#   [PREVIOUS=DIR] recipes/ship.sh [backbone2|te|halflife|ires|family|mrl|fold ...]     (default: all)
# backbone2 packages utrlm-mini-v2 (utrlm-mini pretrained further on a broader corpus, BENCHMARKS.md
# "Backbone v2"), the backbone of the task models that moved to it; utrlm-mini stays for the others.
set -euo pipefail
PY=${PYTHON:-python}
ship() { "$PY" -m rnalm.packaging --dtype float16 "$@"; }
previous() { if [[ -n "${PREVIOUS:-}" ]]; then echo "--previous=$PREVIOUS/$1"; fi; }
want() { [[ " ${TASKS} " == *" $1 "* ]]; }
# --replaces NAME when NAME is still shipped: the new model takes its task alias under a new name, and
# NAME goes only once the new one is packaged
replaces() {
  if "$PY" -c "import sys; from rnalm import shipped; sys.exit(shipped.find('$1') is None)"; then echo "--replaces=$1"; fi
}
TASKS="${*:-backbone2 te halflife ires family mrl fold}"
BB2=utrlm-mini-v2
CNN="Optimus-style CNN over one-hot + frozen utrlm-mini embeddings"

# backbones are stored in float16 since 2026-12-02 (BENCHMARKS.md, Half-life and IRES: more members): utrlm-mini, whose
# pretraining run is not re-packaged here, was rewritten in place by python -m rnalm.packaging --backbones-float16
if want backbone2; then
  "$PY" -m rnalm.packaging runs/pretrain/utrlm_mini_v2 --name $BB2 --dtype float16 \
    --description "utrlm-mini (UTR-LM's size: 6 layers x 128, 16 heads, rotary; 1.2 M parameters) pretrained further by rnalm: 2,000 more steps x 8,192 tokens of masked LM (bfloat16, two CPU cores) on a corpus broadened with RNAStralign's ncRNA sequences (60,562 deduplicated sequences, 49,648 of <= 512 nt for training). The corpus leaves out the separate validation files (HEK293 TE, 3' UTR half-life, RNAStralign val) but contains, unlabelled, the sequences of hold-outs that recipes carve out of training files (IRES, ncRNA family, bpRNA VL0), so figures on those hold-outs are transductive for the backbone (sequences seen, labels never)." \
    --data-licence "sequences only, from: zhw-e8/LAMAR data (MIT: HEK293 5' UTRs, BEAS-2B 3' UTRs, IRES; training files only); zzz2010/5UTR_Optimizer (MIT); ml4bio/RNA-FM tutorial data (MIT); roxie-zhang/ProtRNA bpRNA VL0 (Apache-2.0); sinc-lab/sincFold ArchiveII (GPL-3.0); IcarPA-TBlab/nrc (GPL-3.0); pjsample/human_5utr_modeling (GPL-3.0); andrewjjung47/rna_sdb RNAStralign train (Apache-2.0)" \
    --command "rnalm corpus --data ../shared/data --output runs/corpus/corpus_v2.fa && OMP_NUM_THREADS=2 rnalm pretrain --config recipes/pretrain/utrlm_shared.yaml -o runs/pretrain/utrlm_mini_v2 model.init_from=utrlm-mini 'data.paths=[runs/corpus/corpus_v2.fa]' objective.structure_weight=0 objective.label_cache=null optim.max_steps=2000 optim.lr=5e-4 optim.warmup_steps=100 eval_every=250 save_every=250" \
    --note "Starts from the shipped utrlm-mini (1,000 steps of masked LM + secondary-structure supervision on the earlier corpus) and continues with masked LM only: the structure loss served a structure model that no longer reads a language model. On this run's 1,006 held-out sequences (python benchmarks/backbone_heldout.py) it scores masked-token accuracy 0.469 against 0.421 for utrlm-mini. It has no structure head. Task models move to it only where they beat the utrlm-mini model on validation (BENCHMARKS.md, Backbone v2)."
fi
if want te; then
  # float32 members since 2026-12-01 (BENCHMARKS.md, TE members trained in float32): the bfloat16 ensemble scored 0.629
  ship runs/hek293_te/lm_cnn_members_fp32 --name utrlm-mini-te --task te $(previous utrlm-mini-te) \
    --description "5' UTR translation efficiency (log TE, HEK293): $CNN, 3'-most 100 nt; mean of 5 models (seeds 42-46)" \
    --data-licence "MIT: zhw-e8/LAMAR UTR5TEPred data (Cao et al. 2021 HEK293 endogenous 5' UTRs), train.csv / valid.csv" \
    --command "rnalm finetune --config recipes/hek293_te/lm_cnn.yaml train.threads=1 train.members=5 train.dtype=float32" \
    --baseline onehot.yaml=runs/hek293_te/onehot --baseline features.yaml=runs/hek293_te/features \
    --note "An ensemble: five models of the recipe on the same split, differing only in their seed (initial weights, batch order), trained in float32, predicting with their mean. On the 1,090 validation rows the members score Spearman 0.604, 0.608, 0.594, 0.587 and 0.613 and the ensemble 0.647; the previous shipped model, the same five seeds trained in bfloat16, scored 0.629 there (members 0.551-0.606; BENCHMARKS.md, TE members trained in float32). On Cao et al.'s MUSCLE rows unrelated to any training UTR (456 transcripts, benchmarks/te_zero_shot.py), the nearest check here of UTR-LM's designed UTRs in C2C12 cells, it scores Spearman 0.094 (previous 0.061): it is a HEK293 model and transfers little to another cell type."
fi
if want halflife; then
  # float32 members since 2026-12-01 (BENCHMARKS.md, TE members trained in float32): the bfloat16 ensemble scored 0.633
  # five members since 2026-12-02 (BENCHMARKS.md, Half-life and IRES: more members): the three-member ensemble scored 0.646;
  # the run continued the three-member one (--resume train.members=6), its first five members copied into lm_cnn_m5
  ship runs/utr3_halflife/lm_cnn_m5 --name utrlm-mini-halflife --task halflife $(previous utrlm-mini-halflife) \
    --description "3' UTR effect on mRNA half-life (hours, BEAS-2B): $CNN, 160 nt; mean of 5 models (seeds 42-46)" \
    --data-licence "MIT: zhw-e8/LAMAR UTR3DegPred data (Zhao et al. 2014), train.csv / valid.csv" \
    --command "rnalm finetune --config recipes/utr3_halflife/lm_cnn.yaml train.threads=1 train.members=5 train.dtype=float32" \
    --baseline onehot.yaml=runs/utr3_halflife/onehot --baseline features.yaml=runs/utr3_halflife/features \
    --note "An ensemble: five models of the same recipe on the same split, differing only in their seed (initial weights, batch order), trained in float32, predicting with their mean. On the 196 validation rows the members score Spearman 0.579, 0.615, 0.593, 0.615 and 0.607 and their mean 0.651; the previous shipped model, the first three of these members, scored 0.646 there, and a sixth member (seed 47, 0.594) would have taken the six to 0.655 but does not fit the 30 MB of shipped weights (BENCHMARKS.md, Half-life and IRES: more members). On this small validation set one seed can move the figure by 0.08, which the ensemble averages out; the margin over the previous model is within that noise. Since 2026-12-02 its backbone utrlm-mini is stored in float16 (validation Spearman of the three-member model 0.646220 with the float32-stored backbone, 0.646330 with the float16 one)."
fi
if want ires; then
  # on utrlm-mini-v2 since 2026-12-01: replaces utrlm-mini-ires (the same recipe on utrlm-mini, AUROC 0.872 on the same rows)
  # six members since 2026-12-02 (BENCHMARKS.md, IRES: six members instead of three): the three-member ensemble scored 0.890
  # calibration.json: python -m rnalm.finetune.calibrate_probabilities runs/ires/lm_cnn_bb2_m6 (BENCHMARKS.md, Calibrated probabilities)
  ship runs/ires/lm_cnn_bb2_m6 --name utrlm-mini-v2-ires --task ires --backbone $BB2 $(previous utrlm-mini-v2-ires) $(replaces utrlm-mini-ires) \
    --include calibration.json \
    --description "IRES vs non-IRES classification: Optimus-style CNN (global max pooling) over one-hot + frozen utrlm-mini-v2 embeddings (5'-most 1,022 nt); mean of 6 models (seeds 42-47)" \
    --data-licence "MIT: zhw-e8/LAMAR IRESPred data, train.csv (seed 42: 20% of its 20-mer homology groups held out, stratified)" \
    --command "rnalm finetune --config recipes/ires/lm_cnn.yaml train.threads=1 train.members=6 backbone.name=runs/pretrain/utrlm_mini_v2/final" \
    --baseline onehot.yaml=runs/ires/onehot --baseline features.yaml=runs/ires/features \
    --note "Validation sequences share no 20-mer with training sequences (data.homology_kmer: 20), so this figure is for IRES families the model has not seen. An ensemble: six models of the recipe on the same split, differing only in their seed, predicting with their mean probability. On the 449 validation rows the members score AUROC 0.853, 0.877, 0.829, 0.885, 0.859 and 0.871 and the ensemble 0.901; the first three alone (shipped before) scored 0.890, the same three-member ensemble on utrlm-mini 0.872 and the one-hot CNN 0.828 (BENCHMARKS.md, Backbone v2 and IRES: six members instead of three). On the grouped hold-outs drawn by seeds 1 and 2 a single language-model CNN had scored below the one-hot CNN (0.876 vs 0.909 and 0.850 vs 0.883, without early stopping); ensembles were not run on those hold-outs, so the language model's margin on unseen IRES families is not established. Probabilities are reported at temperature 1.30 (calibration.json), fitted on the 449 validation rows because the mean of the members was overconfident; fitted on one half of those rows and scored on the other (5 seeded splits) it lowers the log-loss from 0.432 to 0.424 and the expected calibration error from 0.080 to 0.075. The predicted class and AUROC are unchanged by it."
fi
if want family; then
  # float32 members since 2026-12-02 (BENCHMARKS.md, IRES and family members trained in float32): the bfloat16 ensemble scored 0.910
  # five members since 2026-12-02 (BENCHMARKS.md, ncRNA family: five members): the three-member ensemble scored 0.926. The run
  # continued the three-member one (--resume train.members=5). Its temperature (0.97) raised the cross-fitted log-loss
  # (0.2339 -> 0.2362; python -m rnalm.finetune.calibrate_probabilities runs/ncrna_family/lm_cnn_m5), so by the calibration
  # study's rule it ships without one
  ship runs/ncrna_family/lm_cnn_m5 --name utrlm-mini-family --task family $(previous utrlm-mini-family) \
    --description "ncRNA family (13 Rfam classes, nRC data): Optimus-style CNN (global max pooling) over one-hot + frozen utrlm-mini embeddings; mean of 5 models (seeds 42-46)" \
    --data-licence "GPL-3.0: IcarPA-TBlab/nrc ncRNA family data, train.fasta (seeded, stratified 10% held out)" \
    --command "rnalm finetune --config recipes/ncrna_family/lm_cnn.yaml train.threads=1 train.members=5 train.dtype=float32" \
    --baseline onehot.yaml=runs/ncrna_family/onehot --baseline features.yaml=runs/ncrna_family/features \
    --note "An ensemble: five models of the recipe on the same split, differing only in their seed, trained in float32, predicting with their mean class probabilities. On the 632 validation rows the members score accuracy 0.883, 0.897, 0.889, 0.896 and 0.908 and the ensemble 0.938; the previous shipped model, the first three of these members, scored 0.926 there (with four members: 0.929; BENCHMARKS.md, ncRNA family: five members). Probabilities are the members' mean, without a temperature: fitted on the 632 rows it came out at 0.97, and fitted on one half of the rows and scored on the other (5 seeded splits) it raised the log-loss from 0.234 to 0.236 (expected calibration error 0.033 -> 0.031), so by the rule of BENCHMARKS.md's calibration study it is not applied. The predicted class is unaffected either way. Since 2026-12-02 its backbone utrlm-mini is stored in float16 (validation accuracy of the three-member model unchanged, 0.925633)."
fi
if want mrl; then
  # a hold-out run of the grouped-CV recipe: 10 % of the wild-type families (with their variants) held out
  MRL_HOLDOUT="cv.folds=0 data.max_length=50 data.truncate=keep_3prime train.threads=1"
  ship runs/mrl_sample2019_snv/holdout_features --name features-mrl --task mrl \
    --description "Mean ribosome load of a 5' UTR (Sample et al. 2019, HEK293T): hand-made features (length, GC, uAUG/uORF, Kozak, ViennaRNA MFE, 3-mers) + gradient boosting, 3'-most 50 nt" \
    --data-licence "GPL-3.0: pjsample/human_5utr_modeling SNV data (Sample et al. 2019), snv_phenotype_log_diff.csv (seed 42: 10% of wild-type families, with their variants, held out)" \
    --command "rnalm finetune --config recipes/mrl_sample2019_snv/features.yaml output_dir=runs/mrl_sample2019_snv/holdout_features $MRL_HOLDOUT" \
    --baseline onehot.yaml=runs/mrl_sample2019_snv/holdout_onehot --baseline lm_cnn.yaml=runs/mrl_sample2019_snv/holdout_lm_cnn \
    --note "Chosen over the language-model recipes on 10-fold CV grouped by wild type (Spearman 0.755 ± 0.061, against 0.537 for the one-hot CNN, 0.518 for utrlm-mini + MLP and 0.621 for utrlm-mini + CNN; BENCHMARKS.md): with 2,700 training sequences the hand-made features win. Trained on 50-nt UTRs only. Optimus 5-Prime, trained on 280,000 random UTRs, scores higher: on these 303 validation rows its published predictions reach Spearman 0.888 (old_pred) and 0.898 (retrained_pred), on all 3,002 rows 0.833 and 0.857."
fi
if want fold; then
  # replaces utrlm-mini-fold (frozen utrlm-mini + one Turner 2004 map, F1 0.493 on the same 225 rows);
  # since 2026-12-01 the mean of two runs of that head (on VL0 alone: 0.537 shipped before; with ArchiveII: 0.529)
  ship runs/ss_bprna/bpp3_ensemble --name vienna3-fold $(replaces utrlm-mini-fold) --include postprocess.json \
    --description "RNA secondary structure: mean of two 2-D residual pairwise heads on one-hot nucleotides + ViennaRNA base-pair probabilities under three energy models (Turner 2004, Andronescu 2007, Langdon 2018), one trained on bpRNA VL0, one on VL0 + ArchiveII; needs ViennaRNA" \
    --data-licence "Apache-2.0: roxie-zhang/ProtRNA downstream_ss bpRNA-1m VL0 (80% train / 20% held out, seed 42, <= 200 nt); GPL-3.0: sinc-lab/sincFold ArchiveII (<= 200 nt, second member only, less rows sharing a 20-mer with the held-out VL0 rows)" \
    --command "rnalm finetune --config recipes/ss_bprna/onehot_bpp3.yaml train.threads=1 train.epochs=10 train.patience=4 && rnalm finetune --config recipes/ss_bprna/onehot_archiveii_bpp3.yaml train.threads=1 train.epochs=10 train.patience=4 && python -m rnalm.finetune.structure.combine runs/ss_bprna/onehot_bpp3 runs/ss_bprna/onehot_archiveii_bpp3 -o runs/ss_bprna/bpp3_ensemble" \
    --baseline onehot.yaml=runs/ss_bprna/onehot --baseline onehot_bpp.yaml=runs/ss_bprna/onehot_bpp --baseline onehot_bpp3.yaml=runs/ss_bprna/onehot_bpp3 \
    --note "An ensemble of two runs of the same head that differ in their training data: the mean of their probability maps, with the pair threshold (0.30) chosen on 400 training structures of VL0. On the 225 held-out VL0 structures it scores F1 0.553 against 0.537 for the first member alone (shipped before as vienna3-fold) and 0.529 for the second at its threshold chosen the same way (BENCHMARKS.md, Structure: decoding rules and a two-run ensemble). Two seeds of the VL0-only run average to 0.532 there: the gain comes from the members' different training data. Each sequence is folded three times by ViennaRNA; the two heads share those maps. Chosen on one hold-out of 225 structures from the same distribution as training; families unseen in training score lower (BENCHMARKS.md, ArchiveII)."
fi
