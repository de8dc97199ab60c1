"""Fine-tuning and evaluation for sequence-level tasks (``rnalm finetune``).

One config covers UTR-LM's, LAMAR's and RNA-FM's workflows: any backbone :func:`rnalm.load`
accepts (or none: one-hot input; or ``features``: a gradient-boosted feature baseline), frozen /
full / LoRA training, MLP, LAMAR, ResNet-1D and Optimus-style CNN heads, hold-out or k-fold
evaluation, and a run directory holding everything needed to reproduce and to predict
(:mod:`rnalm.runs`, which also rebuilds a trained run to predict with it)::

    from rnalm.finetune import finetune
    from rnalm.runs.prediction_table import predict_run_file
    result = finetune("recipes/hek293_te/onehot.yaml", ["train.epochs=5"])
    predict_run_file(result.run_dir, "new_utrs.fa", "predictions.csv")
"""

from rnalm.finetune.runner import RunResult, finetune
from rnalm.runs.config import FinetuneConfig
from rnalm.runs.config_file import load_finetune_config
from rnalm.runs.errors import ConfigError, DataError, RunDirError

__all__ = ["ConfigError", "DataError", "FinetuneConfig", "RunDirError", "RunResult", "finetune", "load_finetune_config"]
