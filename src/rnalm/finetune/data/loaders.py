"""Loaders for labelled sequence data: a generic reader and the published layouts.

A loader turns a :class:`~rnalm.runs.config.DataConfig` into a :class:`DataBundle`: the
train split, optional valid/test splits, and notes that end up in ``metrics.json`` so a reader of
the results knows which published preprocessing was applied. The table of loaders by
name is :data:`rnalm.finetune.data.loader_table.LOADERS`; each validates its own ``data.options`` keys.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from rnalm.runs.config import DataConfig, expand_path
from rnalm.runs.errors import ConfigError, DataError
from rnalm.runs.table import (
    Records,
    column_index,
    iter_table,
    open_text,
    parse_float,
    read_fasta,
    read_labelled,
    read_table,
)


@dataclass
class DataBundle:
    train: Records
    valid: Optional[Records] = None
    test: Optional[Records] = None
    #: rows of ``data.extra_train``: training only, never held out (:mod:`rnalm.finetune.run_splits`).
    extra_train: Optional[Records] = None
    #: what the label is, in words, for reports.
    label_name: str = "label"
    notes: list[str] = field(default_factory=list)
    #: the published preprocessing standardises labels with training statistics.
    force_standardize: bool = False


def loader_options(cfg: DataConfig, defaults: dict) -> dict:
    unknown = sorted(set(cfg.options) - set(defaults))
    if unknown:
        raise ConfigError(f"data.options {unknown} are not options of loader {cfg.loader!r}; known: {sorted(defaults)}")
    return {**defaults, **cfg.options}


def data_path(value: Optional[str]) -> Optional[Path]:
    p = expand_path(value)
    return Path(p) if p else None


#: :func:`~rnalm.finetune.data.loader_table.load_data` checks ``data.train`` before any loader runs.
TRAIN_REQUIRED = "data.train is required (the training file, or the file to cross-validate)"


def required_path(value: Optional[str]) -> Path:
    """The path of a file the config names (``data.train``, or a value already checked to be set)."""
    p = data_path(value)
    if p is None:
        raise ConfigError(TRAIN_REQUIRED)
    return p


def required_records(recs: Optional[Records]) -> Records:
    """The training records of a loader (``data.train`` is always set when a loader runs)."""
    if recs is None:
        raise ConfigError(TRAIN_REQUIRED)
    return recs


# ------------------------------------------------------------------------------------ generic
def load_generic(cfg: DataConfig, task: str) -> DataBundle:
    """CSV/TSV with ``seq_column``/``label_column`` (and optional id/group columns), or FASTA with
    the label in header field ``fasta_label_field``; separate train/valid/test files."""
    loader_options(cfg, {})

    def read(p: Optional[str]) -> Optional[Records]:
        if not p:
            return None
        return read_labelled(
            required_path(p),
            cfg.format,
            cfg.seq_column,
            cfg.label_column,
            cfg.id_column,
            cfg.group_column,
            cfg.fasta_label_field,
        )

    return DataBundle(required_records(read(cfg.train)), read(cfg.valid), read(cfg.test), label_name=cfg.label_column)


def load_lamar(cfg: DataConfig, task: str) -> DataBundle:
    """LAMAR's fine-tuning CSVs: exactly the columns ``seq,label`` (train/valid/test files)."""
    loader_options(cfg, {})

    def read(p: Optional[str]) -> Optional[Records]:
        return read_table(required_path(p), ",", "seq", "label") if p else None

    return DataBundle(
        required_records(read(cfg.train)),
        read(cfg.valid),
        read(cfg.test),
        label_name="label",
        notes=["LAMAR layout: CSV seq,label"],
    )


def load_nrc(cfg: DataConfig, task: str) -> DataBundle:
    """nRC-style FASTA: ``>ID CLASS`` headers (the ncRNA family dataset)."""
    loader_options(cfg, {})
    if task != "classification":
        raise ConfigError("data.loader=nrc reads class labels: set task=classification")

    def read(p: Optional[str]) -> Optional[Records]:
        return read_fasta(required_path(p), 1) if p else None

    return DataBundle(
        required_records(read(cfg.train)),
        read(cfg.valid),
        read(cfg.test),
        label_name="class",
        notes=["nRC layout: FASTA with the class as the second header field"],
    )


# ------------------------------------------------------------------------------------ Sample 2019
def _read_columns(path: Path, columns: dict[str, str]) -> tuple[list[int], dict[str, list[str]]]:
    """Selected columns of a CSV (role -> column name) plus the 1-based line of each row."""
    header, rows = iter_table(path, ",")
    idx = {
        role: column_index(header, name, path, role if role in ("seq", "label", "id", "group") else "extra")
        for role, name in columns.items()
    }
    need = max(idx.values())
    lines: list[int] = []
    out: dict[str, list[str]] = {role: [] for role in columns}
    for line, row in rows:
        if len(row) <= need:
            raise DataError(f"{path}:{line}: row has {len(row)} fields, expected at least {need + 1}")
        lines.append(line)
        for role, i in idx.items():
            out[role].append(row[i])
    if not lines:
        raise DataError(f"{path}: no data rows after the header")
    return lines, out


def _reads(values: list[str], lines: list[int], path: Path, column: str) -> list[float]:
    out = []
    for v, line in zip(values, lines):
        try:
            out.append(float(v))
        except ValueError:
            raise DataError(f"{path.name}:{line}: read count {v!r} in column {column!r} is not a number") from None
    return out


def load_sample_random50(cfg: DataConfig, task: str) -> DataBundle:
    """Sample et al. 2019 random 50-nt library (GEO GSM3130435, ``egfp_unmod_1``).

    The published split: sort by ``total_reads`` (descending), keep the ``keep`` most-read
    sequences (280,000), the ``n_test`` (20,000) most-read of those are the test set, the rest
    train; MRL (``rl``) standardised with the training split's statistics.
    """
    o = loader_options(
        cfg,
        {"seq_column": "utr", "label_column": "rl", "reads_column": "total_reads", "keep": 280_000, "n_test": 20_000},
    )
    path = required_path(cfg.train)
    lines, cols = _read_columns(path, {"seq": o["seq_column"], "label": o["label_column"], "reads": o["reads_column"]})
    reads = _reads(cols["reads"], lines, path, o["reads_column"])
    order = sorted(range(len(lines)), key=lambda i: -reads[i])[: int(o["keep"])]
    if len(order) <= o["n_test"]:
        raise DataError(
            f"{path}: {len(order)} rows, not more than options.n_test={o['n_test']}; nothing left to train on"
        )
    recs = Records()
    for i in order:
        recs.append(
            f"{path.stem.split('.')[0]}_{lines[i] - 1}", cols["seq"][i], cols["label"][i], f"{path.name}:{lines[i]}"
        )
    n_test = int(o["n_test"])
    test, train = recs.subset(range(n_test)), recs.subset(range(n_test, len(recs)))
    return DataBundle(
        train,
        None,
        test,
        label_name=o["label_column"],
        force_standardize=True,
        notes=[
            f"Sample 2019 GSM3130435 split: {len(order)} most-read sequences kept, "
            f"the {n_test} most-read are the test set"
        ],
    )


def load_sample_varlen(cfg: DataConfig, task: str) -> DataBundle:
    """Sample et al. 2019 varying-length library (GEO GSM4084997, 25-100 nt).

    Rows with ``total_reads`` below ``min_reads`` (10) are dropped; for each of the ``random`` and
    ``human`` sets, the ``n_test_per_length`` (100) most-read sequences of every length form that
    set's test set (reported separately); everything else trains. Labels standardised on train.
    """
    o = loader_options(
        cfg,
        {
            "seq_column": "utr",
            "label_column": "rl",
            "reads_column": "total_reads",
            "set_column": "set",
            "min_reads": 10,
            "n_test_per_length": 100,
            "test_sets": ["random", "human"],
        },
    )
    path = required_path(cfg.train)
    lines, cols = _read_columns(
        path, {"seq": o["seq_column"], "label": o["label_column"], "reads": o["reads_column"], "set": o["set_column"]}
    )
    reads = _reads(cols["reads"], lines, path, o["reads_column"])
    kept = [i for i in range(len(lines)) if reads[i] >= o["min_reads"]]
    if not kept:
        raise DataError(f"{path}: no row has {o['reads_column']} >= {o['min_reads']}")
    by_key: dict[tuple[str, int], list[int]] = {}
    for i in kept:
        s = cols["set"][i].strip()
        if s in o["test_sets"]:
            by_key.setdefault((s, len(cols["seq"][i].strip())), []).append(i)
    test_idx: set[int] = set()
    for key in sorted(by_key):
        ranked = sorted(by_key[key], key=lambda i: -reads[i])
        test_idx.update(ranked[: int(o["n_test_per_length"])])
    train, test = Records(), Records(extra={"subset": []})
    for i in kept:
        rid = f"{path.stem.split('.')[0]}_{lines[i] - 1}"
        where = f"{path.name}:{lines[i]}"
        if i in test_idx:
            test.append(rid, cols["seq"][i], cols["label"][i], where)
            test.extra["subset"].append(cols["set"][i].strip())
        else:
            train.append(rid, cols["seq"][i], cols["label"][i], where)
    if not len(train) or not len(test):
        raise DataError(f"{path}: the published split leaves {len(train)} training and {len(test)} test rows")
    return DataBundle(
        train,
        None,
        test,
        label_name=o["label_column"],
        force_standardize=True,
        notes=[
            f"Sample 2019 GSM4084997 split: total_reads >= {o['min_reads']}; test = the {o['n_test_per_length']} "
            f"most-read sequences of each length in sets {o['test_sets']} ({len(test)} rows)"
        ],
    )


def load_sample_snv(cfg: DataConfig, task: str) -> DataBundle:
    """Sample et al. 2019 designed-library SNV subset (``snv_phenotype_log_diff.csv``): 50-nt human
    5' UTRs and their variants, MRL in ``hrl``. Rows are grouped by wild type (``mother``) so that a
    variant never lands in a different fold than its wild type; ``info4`` (normal / variant)
    becomes the per-subset breakdown in the metrics."""
    o = loader_options(
        cfg,
        {
            "seq_column": "utr",
            "label_column": "hrl",
            "id_column": "id",
            "group_column": "mother",
            "subset_column": "info4",
        },
    )
    path = required_path(cfg.train)
    recs = read_table(
        path,
        ",",
        o["seq_column"],
        o["label_column"],
        o["id_column"],
        o["group_column"],
        extra_columns=[o["subset_column"]] if o["subset_column"] else [],
    )
    if o["subset_column"]:
        recs.extra["subset"] = recs.extra.pop(o["subset_column"])
    test = (
        read_table(required_path(cfg.test), ",", o["seq_column"], o["label_column"], o["id_column"])
        if cfg.test
        else None
    )
    return DataBundle(
        recs,
        None,
        test,
        label_name=o["label_column"],
        notes=[f"Sample 2019 SNV set: label {o['label_column']}, rows grouped by {o['group_column']!r} (wild type)"],
    )


# ------------------------------------------------------------------------------------ Cao et al.
CAO_CELL_LINES = {"hek293": "HEK293", "hek": "HEK293", "muscle": "MUSCLE", "pc3": "PC3"}
#: fixed library flanks around the 100-nt endogenous 5' UTR fragment of each 140-nt construct.
CAO_PREFIX = "TAAACTTAAGCTTGGTACCG"
CAO_SUFFIX = "GCCACCATGGTGAGCAAGGG"


def _log_base(log: object) -> Optional[float]:
    """``data.options.log`` of the Cao loader: ``true`` = natural log, a number > 1 = that base, ``false`` = none."""
    if log is True:
        return math.e
    if log is False:
        return None
    if isinstance(log, (int, float)) and log > 1:
        return float(log)
    raise ConfigError(f"data.options.log={log!r} must be true (natural log), a base above 1 (e.g. 2) or false")


def load_cao(cfg: DataConfig, task: str) -> DataBundle:
    """Cao et al. endogenous 5' UTR library (``final_endogenous.txt``): ``sequence<TAB>annotation``.

    Annotations of measured constructs read ``ENST|CELL|rnaseq_rpkm=..|te=..|geneName=..|k`` (k = the
    fragment of that transcript); designed constructs without measurements (``GENE|>ucsc|strand``)
    are skipped. ``target``: ``te`` (translation efficiency) or ``rnaseq`` (expression level,
    RPKM); both are natural-log transformed as UTR-LM's ``te_log``/``rnaseq_log`` (``log``: ``true``, a
    base such as 2 -- LAMAR's HEK293 labels follow log2 TE of the same transcripts -- or ``false``). ``region``:
    ``insert`` (the 100-nt UTR fragment between the fixed flanks, UTR-LM's input) or ``construct``
    (all 140 nt). Fragments of one transcript share a label, so they are grouped for splitting.
    """
    o = loader_options(
        cfg, {"cell_line": "HEK293", "target": "te", "region": "insert", "log": True, "group_by_transcript": True}
    )
    cell = CAO_CELL_LINES.get(str(o["cell_line"]).lower())
    if cell is None:
        raise ConfigError(f"data.options.cell_line={o['cell_line']!r} is not one of HEK293, MUSCLE, PC3")
    if o["target"] not in ("te", "rnaseq"):
        raise ConfigError(f"data.options.target={o['target']!r} must be 'te' or 'rnaseq'")
    if o["region"] not in ("insert", "construct"):
        raise ConfigError(f"data.options.region={o['region']!r} must be 'insert' or 'construct'")
    key = "te" if o["target"] == "te" else "rnaseq_rpkm"
    base = _log_base(o["log"])
    path = required_path(cfg.train)
    recs = Records()
    skipped = 0
    with open_text(path) as fh:
        for n, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) != 2:
                raise DataError(f"{path.name}:{n}: expected 'sequence<TAB>annotation', got {len(parts)} fields")
            seq, ann = parts[0].strip(), parts[1].strip()
            fields = ann.split("|")
            if len(fields) < 4 or "=" not in ann:
                skipped += 1  # designed construct without a measurement
                continue
            if fields[1] != cell:
                continue
            values = dict(f.split("=", 1) for f in fields if "=" in f)
            if key not in values:
                raise DataError(f"{path.name}:{n}: annotation {ann!r} has no {key}= field")
            where = f"{path.name}:{n}"
            value = parse_float(values[key], where, key)
            if base is not None:
                if value <= 0:
                    raise DataError(f"{where}: {key}={value} cannot be log-transformed (not positive)")
                value = math.log(value) if base == math.e else math.log(value, base)
            if o["region"] == "insert":
                if not (seq.upper().startswith(CAO_PREFIX) and seq.upper().endswith(CAO_SUFFIX)):
                    raise DataError(
                        f"{where}: construct does not carry the library flanks; use data.options.region=construct"
                    )
                seq = seq[len(CAO_PREFIX) : len(seq) - len(CAO_SUFFIX)]
            frag = fields[-1] if len(fields) >= 6 else str(n)
            recs.append(
                f"{fields[0]}|{cell}|{frag}",
                seq,
                repr(value),
                where,
                group=fields[0] if o["group_by_transcript"] else None,
            )
    if not len(recs):
        raise DataError(f"{path}: no measured constructs for cell line {cell}")
    name = f"{'ln ' if o['log'] else ''}{key} ({cell})"
    return DataBundle(
        recs,
        None,
        None,
        label_name=name,
        notes=[
            f"Cao et al. endogenous library, {cell}: {len(recs)} constructs, label {name}, region {o['region']}; "
            f"{skipped} unmeasured designed constructs skipped"
            + ("; fragments grouped by transcript" if o["group_by_transcript"] else "")
        ],
    )


__all__ = [
    "DataBundle",
    "TRAIN_REQUIRED",
    "data_path",
    "required_path",
    "required_records",
    "load_cao",
    "load_generic",
    "load_lamar",
    "load_nrc",
    "load_sample_random50",
    "load_sample_snv",
    "load_sample_varlen",
    "loader_options",
]
