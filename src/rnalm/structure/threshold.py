"""The base-pair decision threshold, chosen on the **training** split of a structure run.

A pairwise head's probabilities are not calibrated to 0.5: a head may be precise but shy (ViennaRNA
BPP input: precision 0.59 / recall 0.40 at 0.5 on bpRNA), and its F1 then depends strongly on the
threshold. Choosing the threshold on held-out data would leak it into the reported figures, so with
``structure.select_threshold: true`` (or afterwards, ``python -m rnalm.finetune.structure.calibrate RUN_DIR``)
it is chosen on the run's own training sequences:

* at most :data:`MAX_SEQUENCES` training sequences (a subset drawn with the run's seed; all of them
  when there are fewer) are run through the best model -- rows of ``data.train`` only: rows added by
  ``data.extra_train`` train but would fit the threshold to another distribution than the
  validation rows';
* for every threshold of :data:`THRESHOLD_GRID` the structures after the standard post-processing
  (min hairpin loop 3, greedy one partner) are scored; the threshold with the highest mean
  per-sequence F1 wins, ties going to the one closest to 0.5 (then the lower one);
* the choice is recorded in :data:`RECORD_FILE` (``postprocess.json``) of the model's directory
  (per fold ``fold_<i>/postprocess.json`` for cross-validated runs, whose top-level record holds
  the **mean** of the fold thresholds -- what ``rnalm fold --model`` uses with the averaged fold
  models); metrics and predictions are then computed at it, the 0.5 figures kept under
  ``<metric>_t050`` keys.

``rnalm fold --model RUN_DIR`` uses the recorded threshold unless ``--threshold`` is given.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from rnalm.errors import RnalmError
from rnalm.io.atomic import atomic_write_text
from rnalm.structure.metrics import score_pairs
from rnalm.structure.postprocess import candidate_mask, greedy_pairs, postprocess

#: Thresholds tried (pair when probability > threshold).
THRESHOLD_GRID: tuple[float, ...] = tuple(round(0.05 * k, 2) for k in range(1, 20))
#: Training sequences scored at most (a seeded subset), to bound the CPU time.
MAX_SEQUENCES = 400
#: The record, in the model's directory.
RECORD_FILE = "postprocess.json"
#: The default threshold, whose figures are kept under ``<metric>_t050``.
DEFAULT_THRESHOLD = 0.5
SUFFIX_T050 = "_t050"


def subset_indices(n: int, max_sequences: Optional[int] = MAX_SEQUENCES, seed: int = 0) -> list[int]:
    """All of ``range(n)``, or ``max_sequences`` of them drawn with ``seed`` (sorted)."""
    if max_sequences is None or max_sequences <= 0 or n <= max_sequences:
        return list(range(n))
    rng = np.random.default_rng(seed)
    return sorted(int(i) for i in rng.choice(n, size=max_sequences, replace=False))


def pairs_by_threshold(
    probs: np.ndarray,
    grid: Sequence[float],
    min_loop: int = 3,
    canonical_only: bool = False,
    one_partner: Optional[str] = "greedy",
    sequence: Optional[str] = None,
) -> list[list[tuple[int, int]]]:
    """:func:`~rnalm.structure.postprocess.postprocess` of ``probs`` at every threshold of ``grid``.

    Greedy one-partner resolution accepts candidates by decreasing probability, so its result at a
    threshold ``t`` is the part with probability ``> t`` of its result at any lower threshold:
    one greedy pass at the lowest threshold serves the whole grid (same answers, tested).
    """
    if one_partner != "greedy":
        return [postprocess(probs, sequence, t, min_loop, canonical_only, one_partner) for t in grid]
    p = np.asarray(probs, dtype=np.float64)
    p = (p + p.T) / 2
    lo = min(grid)
    accepted = greedy_pairs(p, candidate_mask(p.shape[0], sequence, min_loop, canonical_only) & (p > lo))
    vals = np.asarray([p[i, j] for i, j in accepted])
    return [[pr for pr, v in zip(accepted, vals) if v > t] for t in grid]


def choose_threshold(
    probs: Sequence[np.ndarray],
    true_pairs: Sequence,
    grid: Sequence[float] = THRESHOLD_GRID,
    min_loop: int = 3,
    canonical_only: bool = False,
    one_partner: Optional[str] = "greedy",
    sequences: Optional[Sequence[str]] = None,
) -> dict[str, Any]:
    """The threshold of ``grid`` with the best mean per-sequence F1 (ties: closest to 0.5, then lower).

    Returns ``{"threshold", "f1", "f1_t050", "f1_by_threshold"}``; ``f1_t050`` is the F1 at 0.5
    (scored even when 0.5 is not on the grid).
    """
    grid = sorted({float(t) for t in grid})
    if not grid:
        raise ValueError("empty threshold grid")
    if len(probs) != len(true_pairs):
        raise ValueError(f"{len(probs)} probability maps for {len(true_pairs)} structures")
    if not len(probs):
        raise ValueError("no sequences to choose a threshold on")
    full = grid if DEFAULT_THRESHOLD in grid else sorted(grid + [DEFAULT_THRESHOLD])
    sums = np.zeros(len(full))
    for k, (p, t) in enumerate(zip(probs, true_pairs)):
        seq = sequences[k] if sequences is not None else None
        for g, pred in enumerate(pairs_by_threshold(p, full, min_loop, canonical_only, one_partner, seq)):
            sums[g] += score_pairs(pred, t, len(p)).f1
    f1 = {t: float(s / len(probs)) for t, s in zip(full, sums)}
    best = max(f1[t] for t in grid)
    ties = [t for t in grid if f1[t] >= best - 1e-12]
    chosen = min(ties, key=lambda t: (abs(t - DEFAULT_THRESHOLD), t))
    return {
        "threshold": chosen,
        "f1": f1[chosen],
        "f1_t050": f1[DEFAULT_THRESHOLD],
        "f1_by_threshold": {f"{t:.2f}": round(f1[t], 6) for t in grid},
    }


def make_record(
    choice: dict[str, Any],
    n_sequences: int,
    n_train: int,
    seed: int,
    max_sequences: Optional[int],
    min_loop: int = 3,
    canonical_only: bool = False,
    one_partner: Optional[str] = "greedy",
    how: str = "structure.select_threshold",
) -> dict[str, Any]:
    """The JSON record of a threshold chosen by :func:`choose_threshold` on training sequences."""
    return {
        "threshold": choice["threshold"],
        "source": "train",
        "chosen_by": how,
        "n_sequences": n_sequences,
        "n_train": n_train,
        "subset_seed": seed,
        "max_sequences": max_sequences,
        "f1_train": round(choice["f1"], 6),
        "f1_train_t050": round(choice["f1_t050"], 6),
        "criterion": "mean per-sequence F1 on training sequences; ties -> closest to 0.5",
        "postprocess": {"min_loop": min_loop, "canonical_only": canonical_only, "one_partner": one_partner},
        "f1_by_threshold": choice["f1_by_threshold"],
    }


def cv_record(fold_records: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Top-level record of a cross-validated run: the mean of the fold thresholds (the folds'
    models are averaged by ``rnalm fold --model``, so one threshold must serve them together)."""
    th = [r["threshold"] for r in fold_records.values()]
    first = next(iter(fold_records.values()))
    return {
        "threshold": round(float(np.mean(th)), 4),
        "source": "train",
        "chosen_by": first.get("chosen_by"),
        "combine": f"mean of the {len(th)} fold thresholds",
        "folds": {str(i): r["threshold"] for i, r in fold_records.items()},
        "n_sequences": int(sum(r["n_sequences"] for r in fold_records.values())),
        "f1_train": round(float(np.mean([r["f1_train"] for r in fold_records.values()])), 6),
        "f1_train_t050": round(float(np.mean([r["f1_train_t050"] for r in fold_records.values()])), 6),
        "postprocess": first.get("postprocess"),
    }


def write_record(directory: Path, record: dict[str, Any]) -> Path:
    return atomic_write_text(Path(directory) / RECORD_FILE, json.dumps(record, indent=2) + "\n")


def read_record(run_dir: Path) -> Optional[dict[str, Any]]:
    """The run's threshold record, ``None`` when it has none (trained at the fixed 0.5)."""
    path = Path(run_dir) / RECORD_FILE
    if not path.is_file():
        return None
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
        float(rec["threshold"])
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as exc:
        raise RnalmError(f"{path}: unreadable threshold record ({exc})") from None
    return rec


def describe(record: Optional[dict[str, Any]]) -> str:
    """``"0.50"`` (no record) or ``"0.35 (train)"``."""
    if record is None:
        return f"{DEFAULT_THRESHOLD:.2f}"
    return f"{float(record['threshold']):.2f} ({record.get('source', 'train')})"


__all__ = [
    "DEFAULT_THRESHOLD",
    "MAX_SEQUENCES",
    "RECORD_FILE",
    "SUFFIX_T050",
    "THRESHOLD_GRID",
    "choose_threshold",
    "cv_record",
    "describe",
    "make_record",
    "pairs_by_threshold",
    "read_record",
    "subset_indices",
    "write_record",
]
