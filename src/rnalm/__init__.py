"""rnalm: one toolkit for RNA language models (RNA-FM, mRNA-FM, UTR-LM, LAMAR, ProtRNA).

Quick start, in fair-esm's shape::

    import rnalm
    model, alphabet = rnalm.load("utrlm-mini")        # or rnalm.pretrained.rna_fm_t12(), a path, a name
    batch_converter = alphabet.get_batch_converter()
    ids, strs, tokens = batch_converter([("utr1", "GGGACAUUUGCUUCUGACACAACUGUGUUCACUAGC")])
    out = model(tokens, repr_layers=[-1])

From a notebook: ``rnalm.predict(sequences_or_dataframe, task="te")`` returns a DataFrame, as do
``rnalm.design_scan(...)`` and ``rnalm.design_optimize(...)``; ``rnalm.map(df, labels="family")``
maps, clusters and classifies labelled sequences.

The names below are imported on first use (PEP 562), so ``import rnalm`` costs what the caller uses:
``rnalm.predict`` never loads scikit-learn or matplotlib, which only ``rnalm.map`` needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rnalm.errors import CheckpointError, DownloadError, InvalidSequenceError, RnalmError, SequenceLengthError
from rnalm.lazy import attach
from rnalm.version import __version__

if TYPE_CHECKING:
    from rnalm import pretrained
    from rnalm.alphabet import Alphabet, BatchConverter
    from rnalm.api import load
    from rnalm.model import EncoderConfig, RNAEncoder
    from rnalm.notebook.design import design_optimize, design_scan
    from rnalm.notebook.embed import embed
    from rnalm.notebook.fold import fold
    from rnalm.notebook.map import map
    from rnalm.notebook.predict import predict

#: public name -> the module that defines it, imported when the name is first read
_LAZY = {
    "Alphabet": "rnalm.alphabet",
    "BatchConverter": "rnalm.alphabet",
    "EncoderConfig": "rnalm.model",
    "RNAEncoder": "rnalm.model",
    "design_optimize": "rnalm.notebook.design",
    "design_scan": "rnalm.notebook.design",
    "embed": "rnalm.notebook.embed",
    "fold": "rnalm.notebook.fold",
    "load": "rnalm.api",
    "map": "rnalm.notebook.map",
    "predict": "rnalm.notebook.predict",
}
_LAZY_MODULES = ("pretrained",)

__all__ = [
    "Alphabet",
    "BatchConverter",
    "CheckpointError",
    "DownloadError",
    "EncoderConfig",
    "InvalidSequenceError",
    "RNAEncoder",
    "RnalmError",
    "SequenceLengthError",
    "design_optimize",
    "design_scan",
    "embed",
    "fold",
    "load",
    "map",
    "predict",
    "pretrained",
    "__version__",
]

__getattr__, __dir__ = attach(__name__, _LAZY, _LAZY_MODULES)
