"""``task: structure`` of ``rnalm finetune``: what training a base-pair model needs beyond the task itself.

* :mod:`~rnalm.finetune.structure.data` -- the ``structure`` data loader;
* :mod:`~rnalm.finetune.structure.features` -- language-model pair inputs (encoder run once, nucleotide slice);
* :mod:`~rnalm.finetune.structure.calibrate` -- choosing a trained run's pair threshold afterwards.

What rebuilds a trained structure model is in :mod:`rnalm.runs`: the task
(:mod:`~rnalm.runs.structure_task`), the pairwise head (:mod:`~rnalm.runs.pairwise_head`,
:mod:`~rnalm.runs.pairwise_task_head`), its loss and batches (:mod:`~rnalm.runs.pair_loss`,
:mod:`~rnalm.runs.pair_batching`) and a trained run as ``rnalm fold --model``'s model
(:mod:`~rnalm.runs.structure_model`). The libraries without training it builds on (pairs,
formats, metrics, post-processing, ViennaRNA) are :mod:`rnalm.structure`.
"""
