"""Fine-tuning and evaluation for sequence-level tasks (``rnalm finetune`` / ``rnalm predict``).

One config covers UTR-LM's, LAMAR's and RNA-FM's workflows: any backbone :func:`rnalm.load`
accepts (or none: one-hot input; or ``features``: a gradient-boosted feature baseline), frozen /
full / LoRA training, MLP, LAMAR, ResNet-1D and Optimus-style CNN heads, hold-out or k-fold
evaluation, and a run directory holding everything needed to reproduce and to predict::

    from rnalm.finetune import finetune, predict_file
    result = finetune("recipes/hek293_te/onehot.yaml", ["train.epochs=5"])
    predict_file(result.run_dir, "new_utrs.fa", "predictions.csv")
"""
from rnalm.finetune.config import FinetuneConfig
from rnalm.finetune.predict import Predictor, predict_file
from rnalm.finetune.run_config import load_finetune_config
from rnalm.finetune.runner import RunResult, finetune
from rnalm.runs.errors import ConfigError, DataError, RunDirError

__all__ = ["ConfigError", "DataError", "FinetuneConfig", "Predictor", "RunDirError", "RunResult", "finetune",
           "load_finetune_config", "predict_file"]
