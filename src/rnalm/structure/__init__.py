"""RNA secondary structure: formats, metrics, post-processing, ViennaRNA.

Modules, one job each:

* :mod:`~rnalm.structure.pairs` -- :class:`Structure` (0-based pairs ``i < j``), dot-bracket and
  matrix conversions, pseudoknot pages;
* :mod:`~rnalm.structure.formats` -- ct / bpseq / dbn readers and writers, bpRNA JSON lines,
  ArchiveII CSV and splits;
* :mod:`~rnalm.structure.metrics` -- precision / recall / F1 / MCC and the shifted-pair variant,
  per sequence and averaged over sequences;
* :mod:`~rnalm.structure.postprocess` -- probability map -> valid pairs;
* :mod:`~rnalm.structure.vienna` -- the ViennaRNA baseline; :mod:`~rnalm.structure.bpp` -- its base-pair
  probabilities as an input of the pairwise head (``structure.vienna_bpp``), folded once and cached;
* :mod:`~rnalm.structure.threshold` -- choosing the pair threshold on training sequences;
* the ``rnalm fold`` engine: :mod:`~rnalm.structure.checks` (letters, ``--unknown``),
  :mod:`~rnalm.structure.predictor` (model and ViennaRNA predictions), :mod:`~rnalm.structure.folding`
  (who folds which record -- the model within its window, ViennaRNA past it -- and the row each
  becomes), :mod:`~rnalm.structure.outputs` (summary table, per-record files),
  :mod:`~rnalm.structure.plots`, :mod:`~rnalm.structure.journal` (``--resume``), and
  :mod:`~rnalm.structure.predict` putting them together for a folder.

Nothing here trains: ``task: structure`` of ``rnalm finetune`` (data loader, pairwise head, loss,
trained runs as ``rnalm fold --model`` models) is :mod:`rnalm.finetune.structure`.
"""

from rnalm.structure.formats import (
    StructureFormatError,
    read_archiveii_csv,
    read_archiveii_splits,
    read_bprna_jsonl,
    read_bpseq,
    read_ct,
    read_dbn,
    read_structures,
    write_bpseq,
    write_ct,
    write_dbn,
)
from rnalm.structure.metrics import average_scores, evaluate, score_pairs
from rnalm.structure.pairs import Structure, StructureError
from rnalm.structure.postprocess import postprocess

__all__ = [
    "Structure",
    "StructureError",
    "StructureFormatError",
    "read_ct",
    "read_bpseq",
    "read_dbn",
    "read_structures",
    "write_ct",
    "write_bpseq",
    "write_dbn",
    "read_bprna_jsonl",
    "read_archiveii_csv",
    "read_archiveii_splits",
    "score_pairs",
    "evaluate",
    "average_scores",
    "postprocess",
]
