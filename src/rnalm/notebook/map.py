"""``rnalm.map(...)``: how well embeddings separate labels -- maps, clustering and classification scores.

The computation of ``rnalm map`` (:func:`rnalm.analysis.run_map`) on what a notebook holds, returned
as a :class:`~rnalm.analysis.MapResult` (``coordinates``, ``clustering``, ``classification`` and
``per_class`` DataFrames, the ``scores`` dict of ``scores.json``, the ``vectors`` of every
representation); with ``output=`` the same folder as the command is written too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional, Sequence, Union

import pandas as pd

from rnalm.analysis import MapResult, MapSettings, read_labelled, run_map, write_map
from rnalm.analysis.maps import METHODS
from rnalm.embedding import default_model
from rnalm.errors import RnalmError
from rnalm.notebook.inputs import Sequences, as_records

Labels = Union[str, Sequence[str], Mapping[str, str], pd.Series]


def _labels_for(inputs_frame: pd.DataFrame, ids: list[str], labels: Labels) -> list[str]:
    if isinstance(labels, str):
        if labels not in inputs_frame.columns:
            raise RnalmError(
                f"labels={labels!r}: no such column; columns are {list(inputs_frame.columns)} "
                f"(pass the labels themselves, a dict id -> label, or label_field= for a FASTA path)"
            )
        return [str(v) for v in inputs_frame[labels]]
    if isinstance(labels, Mapping):
        missing = [i for i in ids if i not in labels]
        if missing:
            raise RnalmError(f"labels: no label for record {missing[0]!r} ({len(missing)} records in all)")
        return [str(labels[i]) for i in ids]
    values = [str(v) for v in labels]
    if len(values) != len(ids):
        raise RnalmError(f"labels: {len(values)} labels for {len(ids)} records")
    return values


def map(  # noqa: A001 -- rnalm.map, as the command is rnalm map
    data: Sequences,
    labels: Optional[Labels] = None,
    model: Union[str, Path, Sequence[Union[str, Path]], None] = None,
    *,
    label_field: Optional[Union[int, str]] = None,
    label_column: Optional[str] = None,
    layer: Union[int, str] = -1,
    pool: str = "mean",
    kmer: int = 3,
    methods: Sequence[str] = METHODS,
    folds: int = 5,
    seed: int = 0,
    device: Optional[str] = None,
    dtype: str = "auto",
    unknown: Optional[str] = None,
    output: Union[str, Path, None] = None,
    overwrite: bool = False,
    progress: Optional[bool] = None,
    seq_column: Optional[str] = None,
    id_column: Optional[str] = None,
    input_format: Optional[str] = None,
) -> MapResult:
    """Maps, clustering and classification of ``data`` by ``labels``, for each model and the k-mer baseline.

    ``data``: what :func:`rnalm.embed` accepts. ``labels``: a column of the DataFrame (its name),
    one label per record, or a dict id -> label; for a file path, ``label_field`` (FASTA header:
    word number after the id, or key of ``key=value``) or ``label_column`` (CSV/TSV) as ``rnalm map``
    reads them. ``model``: a name or path, or a list of them (default: the shipped ``utrlm-mini``;
    ``[]``: the k-mer baseline alone). ``methods``: any of ``umap``, ``tsne``, ``pca``.
    Seeded by ``seed``: the same call returns the same numbers.

    Example::

        >>> res = rnalm.map(df, labels="family", methods=["pca"])   # doctest: +SKIP
        >>> res.classification                                       # doctest: +SKIP
    """
    if label_field is not None or label_column is not None:
        if not isinstance(data, (str, Path)):
            raise RnalmError("label_field= and label_column= read a file; for other data pass labels=")
        records, values = read_labelled(
            data, label_column, None if label_field is None else str(label_field), input_format, id_column, seq_column
        )
    else:
        if labels is None:
            raise RnalmError("pass labels= (or label_field=/label_column= for a file)")
        inputs = as_records(data, seq_column, id_column, input_format)
        records = inputs.records
        values = _labels_for(inputs.frame, [r.id for r in records], labels)
    if model is None:
        models = [default_model()[0]]
    elif isinstance(model, (str, Path)):
        models = [str(model)]
    else:
        models = [str(m) for m in model]
    settings = MapSettings(
        models=models,
        layer=layer,
        pool=pool,
        kmer=kmer,
        methods=list(methods),
        folds=folds,
        seed=seed,
        device=device,
        dtype=dtype,
        unknown=unknown,
        progress=progress,
    )
    result = run_map(records, values, settings)
    if output is not None:
        write_map(result, output, overwrite, inputs=[data] if isinstance(data, (str, Path)) else [])
    return result


__all__ = ["map"]
