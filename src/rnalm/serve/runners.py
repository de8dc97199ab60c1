"""One function per job kind: options and the job's input file in, one result file out.

Each calls what the matching command calls (``rnalm predict``: the task predictor's table writer;
``rnalm fold``: :func:`rnalm.structure.predict.fold_records`; ``rnalm embed``:
:func:`rnalm.embedding.embed_file`), writes into a staging name and renames it into place, so a
result is either complete or absent and a re-run after a crash writes the same bytes.
``report(n)`` is told the records done; it raises :class:`Stopped` when the job was cancelled.
Each returns the result file's name and what the models computed in (``dtype`` resolved for the
worker's device, :meth:`rnalm.precision.Precision.summary`), which the job records.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path
from typing import Any, Callable, Optional

from rnalm import shipped
from rnalm.embedding import EmbedOptions, embed_file
from rnalm.errors import RnalmError
from rnalm.io.seqio import iter_records, unique_ids
from rnalm.predictors import fold as folding
from rnalm.predictors import task
from rnalm.runs.prediction_table import CHUNK, write_table
from rnalm.serve.config import ServeConfig
from rnalm.structure.predict import fold_records

Report = Callable[[int], None]
#: (the result file's name, what the models computed in)
Result = tuple[str, str]
#: the dtype of a job queued before jobs named one: what the command line does by default
DEFAULT_DTYPE = "auto"
#: a job's result file, by kind
RESULTS = {"predict": "predictions.csv", "fold": "structures.zip", "embed": "embeddings.h5"}
#: a zip's entries carry this time, so the same rows give the same bytes
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class Stopped(Exception):
    """The job was cancelled (or taken from this worker) while it ran."""


def _fmt(path: Path) -> Optional[str]:
    return {".fasta": "fasta", ".csv": "csv", ".tsv": "tsv"}.get(path.suffix)


def _staged(final: Path) -> Path:
    return final.with_name(f".{final.name}.partial")


def _publish(staged: Path, final: Path) -> None:
    os.replace(staged, final)


class _Counted:
    """A scorer that reports the records it has scored (the table writer asks nothing else of it).
    Chunks and batches are the CLI's, so the CSV is byte for byte ``rnalm predict``'s."""

    def __init__(self, scorer: Any, report: Report) -> None:
        self.scorer, self.report, self.n = scorer, report, 0
        self.strict, self.columns, self.read = scorer.strict, scorer.columns, scorer.read

    def score(self, records, where):
        rows = self.scorer.score(records, where)
        self.n += len(records)
        self.report(self.n)
        return rows


class Models:
    """The predictors a worker has loaded, kept for its next jobs."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.loaded: dict[tuple, Any] = {}

    def run_dir(self, name: str) -> str:
        if name not in self.config.runs:
            raise RnalmError(f"no run named {name!r} is registered on this server; see GET /api/models")
        return self.config.runs[name]

    def task(self, name: str, dtype: str) -> task.TaskPredictor:
        key = ("task", name, dtype)
        if key not in self.loaded:
            quiet = lambda _m: None  # noqa: E731
            if name in self.config.runs:
                self.loaded[key] = task.from_run(self.run_dir(name), None, self.config.device, quiet, dtype)
            else:
                entry = shipped.task_entry(name)
                self.loaded[key] = task.from_shipped(entry, None, self.config.device, quiet, dtype)
        return self.loaded[key]

    def fold(self, method: str, probabilities: bool, dtype: str) -> folding.FoldPredictor:
        key = ("fold", method, probabilities, dtype)
        if key not in self.loaded:
            # a built-in predictor by its name; a run offered at start (--run NAME=DIR) by its folder
            model = method if method in ("shipped", "vienna") else self.run_dir(method)
            self.loaded[key] = folding.choose(model, device=self.config.device, bpp=probabilities, dtype=dtype)
        return self.loaded[key]

    def embedding_model(self, name: Optional[str]) -> str:
        if name in self.config.models:
            return self.config.models[name]
        entry = shipped.default_backbone() if name is None else shipped.find(name, "backbone")
        if entry is None:
            raise RnalmError(f"no embedding model named {name!r} is shipped or registered; see GET /api/models")
        return shipped.ref(entry.name)


def predict(models: Models, options: dict, source: Path, out: Path, report: Report) -> Result:
    predictor = models.task(options.get("run") or options["task"], options.get("dtype", DEFAULT_DTYPE))
    table = predictor.source(source, _fmt(source), options.get("seq_column"), options.get("id_column"))
    scorer = _Counted(predictor.scorer(options.get("unknown"), bool(options.get("strict")), 64), report)
    final = out / RESULTS["predict"]
    staged = _staged(final)
    with open(staged, "w", newline="", encoding="utf-8") as fh:
        write_table(scorer, table, fh, CHUNK, False)  # type: ignore[arg-type]
    _publish(staged, final)
    return final.name, predictor.precision.summary()


class _Progress:
    """What :func:`fold_records` advances."""

    def __init__(self, report: Report) -> None:
        self.report, self.n = report, 0

    def update(self, n: int = 1) -> None:
        self.n += n
        self.report(self.n)


def fold(models: Models, options: dict, source: Path, out: Path, report: Report) -> Result:
    files = list(options.get("files") or ("ct", "bpseq", "dbn"))
    records = [
        (r.id, r.seq)
        for r in unique_ids(
            iter_records(source, _fmt(source), options.get("id_column"), options.get("seq_column")), source
        )
    ]
    predictor = models.fold(options.get("method") or "shipped", "npy" in files, options.get("dtype", DEFAULT_DTYPE))
    work = out / ".fold.partial"
    shutil.rmtree(work, ignore_errors=True)
    fold_records(
        records,
        predictor,
        work,
        options.get("max_length") or 10_000,
        8,
        False,
        _Progress(report),
        files,
        options.get("long") or "vienna",
        options.get("unknown"),
        bool(options.get("strict")),
    )
    final = out / RESULTS["fold"]
    staged = _staged(final)
    _zip(work, staged)
    _publish(staged, final)
    shutil.rmtree(work, ignore_errors=True)
    return final.name, predictor.precision.summary()


def _zip(folder: Path, target: Path) -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            name = path.relative_to(folder).as_posix()
            if name.startswith("."):
                continue
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, path.read_bytes())


def embed(models: Models, options: dict, source: Path, out: Path, report: Report) -> Result:
    storage = options.get("format") or "hdf5"
    opts = EmbedOptions(
        layers=options.get("layers"),
        pools=options.get("pool") or ["mean"],
        output_format=storage,
        long=options.get("long") or "window",
        device=models.config.device,
        dtype=options.get("dtype", DEFAULT_DTYPE),
        unknown=options.get("unknown"),
        input_format=_fmt(source),
        id_column=options.get("id_column"),
        seq_column=options.get("seq_column"),
        progress=False,
        overwrite=True,
    )
    work = out / (".embeddings.partial" + (".h5" if storage == "hdf5" else ""))
    if work.is_dir():
        shutil.rmtree(work)
    elif work.exists():
        work.unlink()
    summary = embed_file(models.embedding_model(options.get("model")), source, work, opts)
    report(summary.n_records)
    if storage == "hdf5":
        final = out / RESULTS["embed"]
        _publish(work, final)
    else:
        final = out / "embeddings.zip"
        staged = _staged(final)
        _zip(work, staged)
        _publish(staged, final)
        shutil.rmtree(work, ignore_errors=True)
    return final.name, summary.precision


RUNNERS: dict[str, Callable[[Models, dict, Path, Path, Report], Result]] = {
    "predict": predict,
    "fold": fold,
    "embed": embed,
}
