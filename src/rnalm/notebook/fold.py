"""``rnalm.fold``: secondary structures of sequences or a DataFrame, as a DataFrame.

The rows are those of ``rnalm fold`` (:mod:`rnalm.structure.folding`): the same predictor choice,
the same ViennaRNA fallback for records longer than the model reads, the same notes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from rnalm.io.progress import Progress
from rnalm.notebook.inputs import Sequences, as_records
from rnalm.predictors.fold import Overrides, choose
from rnalm.structure.folding import VIENNA_MAX_LENGTH, FoldPolicy, precheck
from rnalm.structure.folding import fold as fold_rows

#: The columns :func:`fold` adds to the input, in order (``probabilities`` only when asked for).
COLUMNS = ("length", "method", "structure", "pairs", "energy", "note")


def fold(
    data: Sequences,
    model: Optional[str | Path] = None,
    *,
    backbone: Optional[str] = None,
    long: str = "vienna",
    max_length: Optional[int] = VIENNA_MAX_LENGTH,
    unknown: Optional[str] = None,
    strict: bool = False,
    threshold: Optional[float] = None,
    min_loop: Optional[int] = None,
    canonical_only: Optional[bool] = None,
    one_partner: Optional[str] = None,
    device: Optional[str] = None,
    progress: Optional[bool] = None,
    probabilities: bool = False,
    batch_size: int = 8,
    seq_column: Optional[str] = None,
    id_column: Optional[str] = None,
    input_format: Optional[str] = None,
    dtype: Optional[str] = "auto",
) -> pd.DataFrame:
    """Fold every record of ``data`` and return the input as a DataFrame with the structure columns.

    ``data`` is anything :func:`rnalm.notebook.inputs.as_records` takes: sequences, ``(id,
    sequence)`` pairs, a dict, a Series, a DataFrame (its columns are kept) or a FASTA/CSV/TSV path.
    ``model`` names the predictor as ``rnalm fold --model`` does (the table
    :data:`rnalm.predictors.fold.PREDICTORS`): the shipped structure model by default, a trained run
    directory, ``"rna-fm-ss-resnet"`` or a ``.pth`` in its layout, ``"protrna-ss-head"`` or a ``.h5``
    in its layout (reading ``backbone``, default ``"protrna"``), ``"vienna"`` (MFE), ``"vienna-mea"``,
    ``"vienna-bpp"``. ``threshold``, ``min_loop``, ``canonical_only`` and ``one_partner`` replace the
    predictor's own post-processing of its probability maps. Added columns:
    ``length``, ``method`` (the predictor's name, ``run`` for a run, ``vienna`` for fallback rows;
    empty when not folded),
    ``structure`` (dot-bracket; empty when not folded), ``pairs``, ``energy`` (kcal/mol: ViennaRNA's
    energy of the structure -- its MFE on ``vienna`` rows, the predicted structure's energy on model
    rows where ViennaRNA can score it, else NaN) and ``note``; with ``probabilities=True`` also
    ``probabilities``, each record's ``L x L`` pair-probability array (``None`` when not folded).

    Records longer than the predictor reads (its limit: ``rnalm models``) are folded by ViennaRNA
    (``long="vienna"``; ``"skip"`` leaves them unfolded, ``"error"`` raises), up to ``max_length``
    nt (ViennaRNA's time grows as L^3). A record folding cannot read (letters other than A, C, G,
    U, T, N) gets a note unless ``unknown`` names a replacement (``"N"``: unpaired); ``strict=True`` raises instead.
    ``dtype``: what a learned model computes in -- ``"auto"`` (bfloat16 where the device computes it
    natively, else float32), ``"float32"`` or ``"bfloat16"``; ViennaRNA is not affected.

    >>> import rnalm
    >>> df = rnalm.fold(["GGGGAAAACCCC", "GCGCUUCGGCGC"], model="vienna")
    >>> print(df[["id", "structure", "pairs", "energy"]].to_string(index=False))
       id    structure  pairs  energy
    seq_1 ((((....))))      4    -5.4
    seq_2 ((((....))))      4    -5.5
    """
    inputs = as_records(data, seq_column, id_column, input_format)
    records = [(r.id, r.seq) for r in inputs.records]
    policy = FoldPolicy(long, max_length, unknown, strict, probabilities)
    overrides = Overrides(threshold, min_loop, canonical_only, one_partner)
    predictor = choose(model, backbone, overrides, device, bpp=probabilities, max_length=max_length, dtype=dtype)
    precheck(records, predictor, policy)
    done = []
    with Progress(len(records), "fold", show=progress) as bar:
        for result in fold_rows(records, predictor, policy, batch_size):
            done.append(result)
            bar.update(1)
    frame = inputs.frame.copy()
    frame["length"] = [d.length for d in done]
    frame["method"] = [d.method for d in done]
    frame["structure"] = [d.structure for d in done]
    frame["pairs"] = pd.array([d.pairs for d in done], dtype="Int64")
    frame["energy"] = np.array([np.nan if d.energy is None else round(d.energy, 2) for d in done], dtype=np.float64)
    frame["note"] = [d.note for d in done]
    if probabilities:
        frame["probabilities"] = [None if d.prediction is None else d.prediction.probs for d in done]
    return frame


__all__ = ["COLUMNS", "fold"]
