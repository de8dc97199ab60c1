"""rnalm: one toolkit for RNA language models (RNA-FM, mRNA-FM, UTR-LM, LAMAR, ProtRNA).

Quick start, in fair-esm's shape::

    import rnalm
    model, alphabet = rnalm.load("path/or/name")
    batch_converter = alphabet.get_batch_converter()
    ids, strs, tokens = batch_converter([("utr1", "GGGACAUUUGCUUCUGACACAACUGUGUUCACUAGC")])
    out = model(tokens, repr_layers=[12])
"""

from rnalm.alphabet import Alphabet, BatchConverter
from rnalm.api import load
from rnalm.errors import CheckpointError, DownloadError, InvalidSequenceError, RnalmError, SequenceLengthError
from rnalm.model import EncoderConfig, RNAEncoder
from rnalm.notebook.embed import embed
from rnalm.version import __version__

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
    "embed",
    "load",
    "__version__",
]
