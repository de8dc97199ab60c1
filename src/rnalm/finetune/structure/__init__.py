"""``task: structure`` of ``rnalm finetune``: base-pair maps as a fine-tuning task type.

* :mod:`~rnalm.finetune.structure.task` -- the task (targets, loss, batches, metrics, threshold);
* :mod:`~rnalm.finetune.structure.data` -- the ``structure`` data loader;
* :mod:`~rnalm.finetune.structure.head`, :mod:`~rnalm.finetune.structure.task_head`,
  :mod:`~rnalm.finetune.structure.loss`, :mod:`~rnalm.finetune.structure.batching`,
  :mod:`~rnalm.finetune.structure.features` -- the trainable pairwise head and what it needs;
* :mod:`~rnalm.finetune.structure.run_model` -- a trained run as ``rnalm fold --run``'s model;
* :mod:`~rnalm.finetune.structure.calibrate` -- choosing a trained run's pair threshold afterwards.

The libraries without training it builds on (pairs, formats, metrics, post-processing, ViennaRNA)
are :mod:`rnalm.structure`.
"""
