"""Runs: what a trained model is on disk and how it is rebuilt, below the tasks that make runs.

Layout, reading and writing:

* :mod:`~rnalm.runs.rundir` -- :class:`~rnalm.runs.rundir.RunDir`, the one owner of the run-directory
  layout (``config.yaml``, ``run_info.json``, weights, label state, ``fold_<i>/`` ...);
* :mod:`~rnalm.runs.config` -- the run config (:class:`~rnalm.runs.config.FinetuneConfig`);
  :mod:`~rnalm.runs.config_file` -- reading it (YAML + overrides, checked against heads and tasks);
* :mod:`~rnalm.runs.splits` -- seeded hold-out and k-fold splits (stratified, grouped);
* :mod:`~rnalm.runs.table` -- labelled records and the CSV/TSV table reader;
* :mod:`~rnalm.runs.errors` -- bad data, bad configuration, unusable run directories.

The one model builder and what it builds from:

* :mod:`~rnalm.runs.builder` -- config + backbone -> model and its feature source;
* :mod:`~rnalm.runs.backbones` -- the language-model backbone (frozen, full, LoRA) and frozen features;
  :mod:`~rnalm.runs.embedding_cache` -- the on-disk cache of frozen embeddings;
* :mod:`~rnalm.runs.model` -- :class:`~rnalm.runs.model.SequenceModel`, batches and their features;
  :mod:`~rnalm.runs.sequences` -- input normalisation and one-hot encoding;
* :mod:`~rnalm.runs.heads` -- the table of heads (:mod:`~rnalm.runs.head_base`, the pairwise head in
  :mod:`~rnalm.runs.pairwise_head` / :mod:`~rnalm.runs.pairwise_task_head`);
* :mod:`~rnalm.runs.tasks` -- the table of task types (:mod:`~rnalm.runs.task_base`: task and label
  state; :mod:`~rnalm.runs.structure_task` with :mod:`~rnalm.runs.pair_loss`,
  :mod:`~rnalm.runs.pair_batching`; figures in :mod:`~rnalm.runs.plots`);
* :mod:`~rnalm.runs.feature_model` / :mod:`~rnalm.runs.feature_file` -- the gradient-boosting model of a
  ``backbone.name: features`` run.

Loading a trained run or a cross-validated ensemble:

* :mod:`~rnalm.runs.predict` -- a regression / classification run (``rnalm predict``);
* :mod:`~rnalm.runs.structure_model` -- a structure run as ``rnalm fold --model``'s probability model.
"""
