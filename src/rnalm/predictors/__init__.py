"""Predictors: the one way every consumer gets predictions, whatever makes them.

A predictor has a ``description`` (what predicts, for logs and reports) and
``predict(records)`` for ``(id, sequence)`` records (:class:`~rnalm.predictors.base.Predictor`).

* :mod:`~rnalm.predictors.task` -- :class:`~rnalm.predictors.task.TaskPredictor`: a fine-tuning
  run (a cross-validated run averages its fold models) or a task model shipped with rnalm; rows of
  ``id``, ``prediction`` and class probabilities;
* :mod:`~rnalm.predictors.fold` -- :class:`~rnalm.predictors.fold.FoldPredictor`: a trained
  structure run, the shipped structure model, or ViennaRNA; secondary structures with their
  base-pair probability maps.
"""
