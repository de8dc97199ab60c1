"""A map run: representations of labelled records, their 2-D maps, clustering and classification
scores (:func:`run_map`, in memory), and the output folder ``rnalm map`` writes (:func:`write_map`):

* ``map_<method>_<representation>.png`` and ``.html`` -- the maps (the HTML page shows id and label on hover);
* ``confusion_<representation>_<classifier>.png`` -- out-of-fold confusion matrices;
* ``scores.json`` -- ``representations.<rep>.<kmeans|hdbscan>.{ari,nmi,silhouette}`` and
  ``representations.<rep>.<logreg|knn>.{accuracy,macro_f1}`` (with ``*_folds`` and ``per_class``), and the settings;
* ``coordinates.csv`` -- ``representation, method, id, label, x, y``.

The folder is built aside and swapped in when complete; ``--overwrite`` replaces only a map folder.
Every step is seeded: the same input, models and seed give the same files.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

import numpy as np
import pandas as pd

from rnalm.analysis import classification, clustering, maps
from rnalm.analysis.figures import confusion_png, map_png
from rnalm.analysis.html import render_map
from rnalm.analysis.representations import kmer_representation, model_name, model_representation
from rnalm.errors import RnalmError, option
from rnalm.io.output_guard import (
    OutputKind,
    claim_output,
    output_lock,
    remove_path,
    remove_stale_staging,
    staging_path,
    swap_into_place,
    write_marker,
)
from rnalm.io.seqio import Record


def is_map_output(path: Path) -> bool:
    """A folder ``rnalm map`` wrote: its scores and coordinates."""
    return (path / "scores.json").is_file() and (path / "coordinates.csv").is_file()


#: ``rnalm map --output``: ``--overwrite`` replaces only such a folder.
MAP_OUTPUT = OutputKind("map", "an rnalm map folder", is_map_output)


@dataclass
class MapSettings:
    """What a map run computes (the CLI flags of ``rnalm map``, the keywords of :func:`rnalm.map`)."""

    models: list[str] = field(default_factory=list)
    layer: Union[int, str] = -1
    pool: str = "mean"
    kmer: int = 3
    methods: list[str] = field(default_factory=lambda: list(maps.METHODS))
    folds: int = 5
    seed: int = 0
    device: Optional[str] = None
    #: the embedding's ``--dtype`` (auto: bfloat16 where the device has it natively)
    dtype: str = "auto"
    unknown: Optional[str] = None
    progress: Optional[bool] = None


@dataclass
class MapResult:
    """Everything a map run found, as tables (see :func:`run_map`)."""

    ids: list[str]
    labels: np.ndarray
    #: representation name -> N x D vectors (rows in record order)
    vectors: dict[str, np.ndarray]
    #: representation, method, id, label, x, y
    coordinates: pd.DataFrame
    #: the scores.json content
    scores: dict
    #: representation, classifier -> out-of-fold predictions
    predictions: dict[tuple[str, str], np.ndarray]
    settings: MapSettings

    @property
    def clustering(self) -> pd.DataFrame:
        """One row per representation and clustering method: ari, nmi, silhouette, clusters, noise."""
        rows = [
            {"representation": rep, "method": m, **s[m]}
            for rep, s in self.scores["representations"].items()
            for m in clustering.CLUSTERINGS
        ]
        return pd.DataFrame(rows)

    @property
    def classification(self) -> pd.DataFrame:
        """One row per representation and classifier: accuracy and macro F1 (means over the folds)."""
        rows = [
            {"representation": rep, "classifier": c, "accuracy": s[c]["accuracy"], "macro_f1": s[c]["macro_f1"]}
            for rep, s in self.scores["representations"].items()
            for c in classification.CLASSIFIERS
        ]
        return pd.DataFrame(rows)

    @property
    def per_class(self) -> pd.DataFrame:
        """Per-class precision, recall and support of each representation and classifier."""
        rows = [
            {"representation": rep, "classifier": c, "label": lab, **v}
            for rep, s in self.scores["representations"].items()
            for c in classification.CLASSIFIERS
            for lab, v in s[c]["per_class"].items()
        ]
        return pd.DataFrame(rows)


def check_settings(s: MapSettings) -> None:
    bad = [m for m in s.methods if m not in maps.METHODS]
    if bad:
        raise RnalmError(f"{option('methods')}: unknown method {bad[0]!r}; choose from {', '.join(maps.METHODS)}")
    if s.pool not in ("mean", "cls"):
        raise RnalmError(f"{option('pool')} must be mean or cls, not {s.pool!r}")
    if s.kmer < 1 or s.kmer > 8:
        raise RnalmError(f"{option('kmer')} must be between 1 and 8")


def _unique_names(models: Sequence[str], k: int) -> list[str]:
    names, seen = [], {f"kmer{k}"}
    for m in models:
        base = name = model_name(m)
        i = 2
        while name in seen:
            name, i = f"{base}_{i}", i + 1
        seen.add(name)
        names.append(name)
    return names


def run_map(
    records: list[Record],
    labels: Sequence[str],
    settings: MapSettings,
    log: Callable[[str], None] = lambda _m: None,
) -> MapResult:
    """Representations of ``records`` (the k-mer baseline, then each model), maps, clustering and classification."""
    check_settings(settings)
    y = np.asarray([str(v) for v in labels])
    if len(y) != len(records):
        raise RnalmError(f"{len(records)} records but {len(y)} labels")
    if len(set(y.tolist())) < 2:
        raise RnalmError("the records carry fewer than two distinct labels: nothing to cluster or classify")
    splits = classification.folds_for(y, settings.folds, settings.seed)
    reps = [kmer_representation(records, settings.kmer)]
    for ref, name in zip(settings.models, _unique_names(settings.models, settings.kmer)):
        log(f"embedding {len(records)} records with {ref}")
        reps.append(
            model_representation(
                ref,
                records,
                name,
                settings.layer,
                settings.pool,
                settings.device,
                settings.unknown,
                settings.progress,
                settings.dtype,
            )
        )
    ids = [r.id for r in records]
    coords, per_rep, predictions = [], {}, {}
    for rep in reps:
        X = rep.vectors
        scores, _ = clustering.cluster_scores(X, y, settings.seed)
        for clf in classification.CLASSIFIERS:
            scores[clf], predictions[(rep.name, clf)] = classification.cross_validate(X, y, splits, clf)
        scores["description"], scores["dimensions"] = rep.description, int(X.shape[1])
        per_rep[rep.name] = scores
        for method in settings.methods:
            log(f"{rep.name}: {method}")
            xy = maps.project(X, method, settings.seed)
            coords.append(
                pd.DataFrame(
                    {"representation": rep.name, "method": method, "id": ids, "label": y, "x": xy[:, 0], "y": xy[:, 1]}
                )
            )
        log(_score_line(rep.name, scores))
    columns = ["representation", "method", "id", "label", "x", "y"]
    coordinates = pd.concat(coords, ignore_index=True) if coords else pd.DataFrame(columns=columns)
    summary = {
        "settings": {**asdict(settings), "records": len(records), "labels": sorted(set(y.tolist()))},
        "representations": per_rep,
    }
    summary["settings"].pop("progress")
    return MapResult(ids, y, {r.name: r.vectors for r in reps}, coordinates, summary, predictions, settings)


def _score_line(name: str, s: dict) -> str:
    return (
        f"{name}: k-means ARI {s['kmeans']['ari']:.3f} NMI {s['kmeans']['nmi']:.3f}; "
        f"logistic regression accuracy {s['logreg']['accuracy']:.3f} macro F1 {s['logreg']['macro_f1']:.3f}; "
        f"kNN accuracy {s['knn']['accuracy']:.3f}"
    )


def safe(name: str) -> str:
    """A representation name as it appears in file names."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def _write_files(result: MapResult, out: Path) -> None:
    (out / "scores.json").write_text(json.dumps(result.scores, indent=2, sort_keys=False) + "\n")
    result.coordinates.to_csv(out / "coordinates.csv", index=False, float_format="%.6g")
    for (rep, method), frame in result.coordinates.groupby(["representation", "method"], sort=False):
        xy = frame[["x", "y"]].to_numpy()
        title = f"{method.upper()} of {rep} ({len(frame)} records)"
        s = result.scores["representations"][rep]
        shown = {f"{m} {k}": _fmt(s[m][k]) for m in clustering.CLUSTERINGS for k in ("ari", "nmi", "silhouette")}
        shown.update({f"{c} {k}": _fmt(s[c][k]) for c in classification.CLASSIFIERS for k in ("accuracy", "macro_f1")})
        map_png(out / f"map_{method}_{safe(rep)}.png", xy, result.labels, title)
        page = render_map(result.ids, result.labels, xy, title, shown)
        (out / f"map_{method}_{safe(rep)}.html").write_text(page, encoding="utf-8")
    for (rep, clf), predicted in result.predictions.items():
        classes, matrix = classification.confusion(result.labels, predicted)
        acc = result.scores["representations"][rep][clf]["accuracy"]
        confusion_png(out / f"confusion_{safe(rep)}_{clf}.png", classes, matrix, f"{rep}, {clf}: accuracy {acc:.3f}")


def _fmt(v: Optional[float]) -> str:
    return "n/a" if v is None else f"{v:.4f}"


def write_map(
    result: MapResult, output: Union[str, Path], overwrite: bool = False, inputs: Sequence[Union[str, Path]] = ()
) -> Path:
    """Write ``result`` into the folder ``output``: built aside, swapped in when complete; an existing
    ``output`` is replaced only with ``overwrite`` and only if it is a map folder."""
    out = Path(output)
    claim_output(out, MAP_OUTPUT, overwrite, inputs=inputs, overwrite_option=option("overwrite"))
    out.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(out):
        claim_output(out, MAP_OUTPUT, overwrite, inputs=inputs, overwrite_option=option("overwrite"))
        remove_stale_staging(out, MAP_OUTPUT)
        staged = staging_path(out)
        try:
            staged.mkdir()
            write_marker(staged, MAP_OUTPUT)
            _write_files(result, staged)
            swap_into_place(staged, out, MAP_OUTPUT)
        finally:
            remove_path(staged)
    return out


__all__ = ["MAP_OUTPUT", "MapResult", "MapSettings", "is_map_output", "run_map", "write_map"]
