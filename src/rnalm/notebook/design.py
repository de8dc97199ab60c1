"""``rnalm.design_scan`` and ``rnalm.design_optimize``: ``rnalm design`` as DataFrames.

Example (offline, with the TE model shipped inside the package)::

    import rnalm
    effects = rnalm.design_scan("GGGACAUUUGCUUCUGACACAACUGUGUUCACUAGC", task="te")
    designs = rnalm.design_optimize("te", length=50, count=20, gc=(0.4, 0.6), no_uaug=True, seed=1)
    designs[["rank", "sequence", "te_log", "constraints"]]

Every number is a model's prediction, not a measurement.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional, Sequence, Union

import pandas as pd

from rnalm.design.jobs import Range, constraints_from, run_optimize, run_scan
from rnalm.design.objective import Objective
from rnalm.design.optimize import Settings
from rnalm.errors import RnalmError
from rnalm.io.progress import wanted
from rnalm.notebook.inputs import Sequences, as_records


def design_scan(
    data: Sequences,
    task: Optional[str] = None,
    run: Optional[str | os.PathLike] = None,
    *,
    indels: bool = False,
    seq_column: Optional[str] = None,
    id_column: Optional[str] = None,
    output: Optional[str | os.PathLike] = None,
    overwrite: bool = False,
    device: Optional[str] = None,
    progress: Optional[bool] = None,
    dtype: str = "auto",
) -> pd.DataFrame:
    """Every single substitution (``indels=True``: and every one-base insertion and deletion) of each
    sequence in ``data`` scored by a shipped task model (``task="te"``; ``"a+b"`` an ensemble) or a run
    (``run=RUN_DIR``): one row per mutant with its prediction and ``NAME_effect`` (mutant - wild type).
    ``output``: also write ``rnalm design scan``'s folder (effects.csv, heatmaps)."""
    if (task is None) == (run is None):
        raise RnalmError("pass task= (a shipped model such as te) or run= (a run directory of rnalm finetune)")
    objective = Objective.from_specs([str(task if task is not None else run)], device=device, dtype=dtype)
    inputs = as_records(data, seq_column, id_column)
    records = [(r.id, r.seq) for r in inputs.records]
    src = data if isinstance(data, (str, os.PathLike)) and Path(data).is_file() else None
    return run_scan(records, objective, indels, output, overwrite, [src], progress, _closing(progress))


def design_optimize(
    objective: Union[str, Sequence[str]] = "te",
    *,
    length: Range,
    count: int = 100,
    prefix: str = "",
    suffix: str = "",
    gc: Range = None,
    no_uaug: bool = False,
    no_oof_uorf: bool = False,
    motif_forbid: Sequence[str] = (),
    max_homopolymer: Optional[int] = None,
    mfe_range: Range = None,
    minimise: bool = False,
    target: Optional[float] = None,
    seeds: Optional[Sequences] = None,
    seed: int = 0,
    population: int = 64,
    generations: int = 30,
    output: Optional[str | os.PathLike] = None,
    html: Optional[str | os.PathLike] = None,
    overwrite: bool = False,
    device: Optional[str] = None,
    progress: Optional[bool] = None,
    dtype: str = "auto",
) -> pd.DataFrame:
    """Designs toward ``objective`` (``"te"``; a list for a weighted sum, ``"te:0.5"``; ``"a+b"`` an
    ensemble) under the constraints, ranked best first: ``rank, sequence, objective``, each model's
    prediction, ``uncertainty`` (ensemble spread), ``constraints``, ``edit_distance`` to the start, ...
    Ranges are ``(lo, hi)`` or ``"lo-hi"``. Contradictory constraints raise an error naming them;
    the same ``seed`` gives the same designs. ``output``/``html``: also write the CSV and report."""
    if minimise and target is not None:
        raise RnalmError("pass minimise=True or target=, not both")
    rules = constraints_from(length, prefix, suffix, gc, no_uaug, no_oof_uorf, motif_forbid, max_homopolymer, mfe_range)
    specs = [objective] if isinstance(objective, str) else list(objective)
    goal = "min" if minimise else ("target" if target is not None else "max")
    obj = Objective.from_specs(specs, goal, target, device, dtype=dtype)
    starts = [(r.id, r.seq) for r in as_records(seeds).records] if seeds is not None else []
    src = seeds if isinstance(seeds, (str, os.PathLike)) and Path(seeds).is_file() else None
    return run_optimize(
        obj,
        rules,
        count,
        seed,
        starts,
        Settings(population=population, generations=generations),
        output,
        html,
        overwrite,
        [src],
        progress,
        _closing(progress),
    )


def _closing(progress: Optional[bool]):
    """Where the closing line goes: standard error when a bar is shown, nowhere otherwise."""
    if wanted(progress):
        return lambda m: print(m, file=sys.stderr)
    return lambda _m: None


__all__ = ["design_optimize", "design_scan"]
