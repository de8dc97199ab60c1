"""The feature baseline every report should show: hand-made 5' UTR features + gradient boosting.

Features (one row per sequence, names in :func:`feature_names`): length, nucleotide and GC
fractions, upstream AUG counts (all, in frame and out of frame with the coding sequence that
starts right after the UTR, in a strong Kozak context), upstream ORFs closed by an in-frame stop
inside the UTR and overlapping ones that are not, the distance of the first uAUG from the 3' end,
the Kozak context of the main start codon (purine at -3, agreement of the last six nucleotides
with GCCRCC), ViennaRNA's minimum free energy (total and per nucleotide) and, optionally, k-mer
frequencies. The model is scikit-learn's ``HistGradientBoosting{Regressor,Classifier}``.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from rnalm.runs.config import FeatureSettings
from rnalm.runs.errors import ConfigError
from rnalm.runs.feature_file import read_feature_model, write_feature_model

STOPS = ("UAA", "UAG", "UGA")
KOZAK = "GCCRCC"  # positions -6..-1 before the AUG; R = A or G


def feature_names(settings: FeatureSettings) -> list[str]:
    names = [
        "length",
        "log_length",
        "frac_A",
        "frac_C",
        "frac_G",
        "frac_U",
        "gc",
        "n_uAUG",
        "n_uAUG_inframe",
        "n_uAUG_outframe",
        "n_uAUG_strong_kozak",
        "n_uORF",
        "n_oORF",
        "first_uAUG_from_end",
        "kozak_minus3_purine",
        "kozak_match",
    ]
    if settings.mfe:
        names += ["mfe", "mfe_per_nt"]
    if settings.kmer:
        names += ["kmer_" + "".join(k) for k in itertools.product("ACGU", repeat=settings.kmer)]
    return names


def _rna(seq: str) -> str:
    return seq.upper().replace("T", "U")


def sequence_features(seq: str, settings: FeatureSettings, mfe: Optional[float] = None) -> list[float]:
    s = _rna(seq)
    n = len(s)
    counts = {b: s.count(b) for b in "ACGU"}
    row = [float(n), math.log1p(n)] + [counts[b] / n for b in "ACGU"] + [(counts["G"] + counts["C"]) / n]
    augs = [i for i in range(n - 2) if s[i : i + 3] == "AUG"]
    inframe = sum(1 for i in augs if (n - i) % 3 == 0)
    strong = sum(1 for i in augs if i >= 3 and s[i - 3] in "AG" and i + 3 < n and s[i + 3] == "G")
    closed = 0
    for i in augs:
        for j in range(i + 3, n - 2, 3):
            if s[j : j + 3] in STOPS:
                closed += 1
                break
    first = (n - augs[0]) / n if augs else -1.0
    tail = s[-6:].rjust(6, "-")
    match = sum(1 for a, b in zip(tail, KOZAK) if (a in "AG" if b == "R" else a == b))
    row += [
        float(len(augs)),
        float(inframe),
        float(len(augs) - inframe),
        float(strong),
        float(closed),
        float(len(augs) - closed),
        first,
        float(tail[3] in "AG"),
        float(match),
    ]
    if settings.mfe:
        assert mfe is not None, "features.mfe needs the sequence's MFE"
        row += [float(mfe), float(mfe) / n]
    if settings.kmer:
        k = int(settings.kmer)
        total = max(n - k + 1, 1)
        index = {"".join(t): i for i, t in enumerate(itertools.product("ACGU", repeat=k))}
        km = np.zeros(len(index))
        for i in range(n - k + 1):
            col = index.get(s[i : i + k])
            if col is not None:
                km[col] += 1
        row += list(km / total)
    return row


class MfeCache:
    """Minimum free energies on disk: one append-only ``sha256<TAB>mfe`` file per ViennaRNA version
    (folding thousands of long UTRs takes minutes; a second run, fold or recipe reads them back)."""

    def __init__(self, root: Path, version: str) -> None:
        self.path = Path(root) / f"vienna-{version}" / "mfe.tsv"
        self.values: dict[str, float] = {}
        if self.path.is_file():
            for line in self.path.read_text().splitlines():
                key, _, value = line.partition("\t")
                try:
                    self.values[key] = float(value)
                except ValueError:
                    continue  # a torn last line from an interrupted run

    @staticmethod
    def key(seq: str) -> str:
        return hashlib.sha256(seq.encode()).hexdigest()

    def get(self, seq: str) -> Optional[float]:
        return self.values.get(self.key(seq))

    def put_many(self, items: dict[str, float]) -> None:
        if not items:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as fh:
            fh.write("".join(f"{self.key(s)}\t{v!r}\n" for s, v in items.items()))
        self.values.update({self.key(s): v for s, v in items.items()})


def mfe_values(seqs: Sequence[str], cache_root: Optional[Path]) -> list[float]:
    """ViennaRNA minimum free energies (kcal/mol), cached on disk by ViennaRNA version and sequence."""
    try:
        import RNA
    except ImportError as exc:
        raise ConfigError(
            "backbone.features.mfe needs ViennaRNA (pip install ViennaRNA), or set backbone.features.mfe=false"
        ) from exc
    cache = MfeCache(cache_root, RNA.__version__) if cache_root else None
    out: list = []
    new: dict[str, float] = {}
    for s in seqs:
        r = _rna(s)
        e = cache.get(r) if cache is not None else None
        if e is None:
            e = new.get(r)
        if e is None:
            e = float(RNA.fold(r)[1])
            new[r] = e
            if cache is not None and len(new) >= 256:
                cache.put_many(new)
                new = {}
        out.append(e)
    if cache is not None:
        cache.put_many(new)
    return out


def feature_matrix(seqs: Sequence[str], settings: FeatureSettings, cache_root: Optional[Path]) -> np.ndarray:
    mfes = mfe_values(seqs, cache_root) if settings.mfe else [None] * len(seqs)
    return np.asarray([sequence_features(s, settings, m) for s, m in zip(seqs, mfes)], dtype=np.float64)


class FeatureModel:
    """Gradient-boosted trees on :func:`feature_matrix`; outputs shaped like a neural head's."""

    def __init__(self, settings: FeatureSettings, task: str, seed: int) -> None:
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        kw = dict(
            max_iter=settings.max_iter,
            learning_rate=settings.learning_rate,
            max_leaf_nodes=settings.max_leaf_nodes,
            l2_regularization=settings.l2_regularization,
            early_stopping=False,
            random_state=seed,
        )
        self.task = task
        self.model = (
            HistGradientBoostingRegressor(**kw) if task == "regression" else HistGradientBoostingClassifier(**kw)
        )

    def fit(self, x: np.ndarray, y: np.ndarray) -> "FeatureModel":
        self.model.fit(x, y)
        return self

    def outputs(self, x: np.ndarray, n_classes: int = 0) -> np.ndarray:
        """Regression: (N, 1) predictions; classification: (N, C) log-probabilities (so a softmax
        of the output gives back the model's probabilities, as for a neural head's logits)."""
        if self.task == "regression":
            return self.model.predict(x).reshape(-1, 1)
        probs = np.full((x.shape[0], n_classes), 1e-12)
        probs[:, self.model.classes_.astype(int)] = np.clip(self.model.predict_proba(x), 1e-12, None)
        return np.log(probs)

    def save(self, path: Path) -> None:
        """Write the fitted trees with skops (no pickle) next to a small JSON header."""
        write_feature_model(self.model, self.task, path)

    @staticmethod
    def load(path: Path) -> "FeatureModel":
        """Read a saved feature model without running code from it: only the exact types rnalm
        writes are rebuilt (:mod:`rnalm.runs.feature_file` says which, and why)."""
        model, task = read_feature_model(path)
        obj = FeatureModel.__new__(FeatureModel)
        obj.task, obj.model = task, model
        return obj


__all__ = ["FeatureModel", "feature_matrix", "feature_names", "mfe_values", "sequence_features"]
