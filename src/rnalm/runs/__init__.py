"""Runs: what a trained model is on disk, below the tasks that make runs.

* :mod:`~rnalm.runs.rundir` -- :class:`~rnalm.runs.rundir.RunDir`, the one owner of the run-directory
  layout (``config.yaml``, ``run_info.json``, weights, label state, ``fold_<i>/`` ...);
* :mod:`~rnalm.runs.splits` -- seeded hold-out and k-fold splits (stratified, grouped);
* :mod:`~rnalm.runs.errors` -- bad data, bad configuration, unusable run directories.
"""
