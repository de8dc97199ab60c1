"""Models shipped inside the package: a small backbone and task models that work offline.

The shipped models live next to this file, one folder per model, listed in ``manifest.json``::

    {"format": "rnalm-shipped", "version": 1, "models": [
      {"name": "utrlm-mini", "kind": "backbone", "task": null, "dir": "utrlm-mini",
       "files": {"config.json": "<sha256>", "model.safetensors": "<sha256>", "card.md": "...", "check.csv": "..."},
       "size": 4850000, "licence": "MIT", "data_licence": "...", "description": "...",
       "backbone": null, "backbone_sha256": "<state sha256>", "dtype": "float32",
       "metric": {"name": "mlm_acc", "value": 0.386, "split": "valid", "n": 5000},
       "check": {"file": "check.csv", "n": 64, "seed": 0, "metric": "mlm_acc", "value": 0.39}},
      {"name": "utrlm-mini-te", "kind": "task", "task": "te", "dir": "utrlm-mini-te", "backbone": "utrlm-mini", ...},
      ...]}

``kind`` is ``backbone`` (an rnalm native directory; ``rnalm.load("utrlm-mini")``), ``task`` (a
fine-tuning run directory reduced to what ``rnalm predict`` needs; ``rnalm predict --task te``) or
``structure`` (a structure run; ``rnalm fold`` without ``--run``). ``task`` is the short alias the
commands take. Task and structure models name their backbone by its shipped name
(``shipped:utrlm-mini`` in their ``run_info.json``), never by a local path. Each folder holds a
``card.md`` (data, recipe command, steps, validation metrics, licences, file sha256s) and
``check.csv``, a small fixed validation subset whose metric is recorded in the manifest, so a test
can prove the installed files reproduce what was measured when they were packaged
(:func:`rnalm.packaging.check.check_entry`).

Entries are written by ``python -m rnalm.packaging`` (see :mod:`rnalm.packaging`).
The folder searched is this package's, unless ``$RNALM_SHIPPED_DIR`` names another (tests, or a
site-wide install of larger models), or :func:`using_root` overrides it for a block of code.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional, Union

from rnalm.errors import RnalmError
from rnalm.hub import Listing
from rnalm.io.digest import sha256_file

#: Environment variable naming another folder of shipped models (with its own manifest.json).
ENV_DIR = "RNALM_SHIPPED_DIR"
MANIFEST = "manifest.json"
FORMAT = "rnalm-shipped"
VERSION = 1
KINDS = ("backbone", "task", "structure")
#: Prefix that names a shipped model explicitly wherever a checkpoint path is accepted.
PREFIX = "shipped:"
#: The backbone ``rnalm embed`` and ``rnalm demo`` use when no model is named.
DEFAULT_BACKBONE = "utrlm-mini"
#: Task aliases the commands know, with what each predicts (for help texts and the demo).
TASK_ALIASES: dict[str, str] = {
    "te": "5' UTR translation efficiency (log TE, HEK293)",
    "halflife": "3' UTR effect on mRNA half-life (BEAS-2B)",
    "ires": "IRES probability",
    "family": "ncRNA family (13 Rfam classes, nRC)",
    "mrl": "mean ribosome load of a 5' UTR (HEK293T polysome profiling, 50-nt human 5' UTRs and variants)",
    "fold": "secondary structure (pair probabilities -> dot-bracket)",
}

#: What each shipped task model predicts: the name its prediction columns take
#: (:mod:`rnalm.runs.prediction_columns`) and the unit, as its training labels were measured.
#: The manifest records them per model (``prediction``); these are the defaults for packaging.
TASK_PREDICTIONS: dict[str, dict[str, str]] = {
    "te": {
        "name": "te_log",
        "unit": "log translation efficiency (Ribo-seq over RNA-seq, HEK293), as in the training labels",
    },
    "halflife": {"name": "halflife", "unit": "mRNA half-life in hours (BEAS-2B reporter), as in the training labels"},
    "ires": {"name": "ires", "unit": "probability that the sequence is an IRES (training label 1)"},
    "family": {"name": "family", "unit": "ncRNA family (Rfam class), with one probability column per class"},
    "mrl": {
        "name": "mrl",
        "unit": "mean ribosome load (ribosomes per mRNA, eGFP reporter in HEK293T), as in the training labels",
    },
}
#: The aliases ``rnalm predict --task`` takes (the others name structure models), for help texts.
PREDICT_TASKS = ", ".join(k for k in TASK_PREDICTIONS)

_ROOT_OVERRIDE: list[Path] = []


class ShippedModelError(RnalmError):
    """A shipped model is missing, unknown, or its files do not match the manifest."""


@dataclass(frozen=True)
class Entry:
    """One shipped model, as listed in the manifest."""

    name: str
    kind: str
    dir: str
    root: Path
    task: Optional[str] = None
    files: dict = field(default_factory=dict)
    size: int = 0
    licence: str = ""
    data_licence: str = ""
    description: str = ""
    backbone: Optional[str] = None
    backbone_sha256: Optional[str] = None
    dtype: str = "float32"
    metric: dict = field(default_factory=dict)
    check: dict = field(default_factory=dict)
    postprocess: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def path(self) -> Path:
        return self.root / self.dir

    @property
    def card(self) -> Path:
        return self.path / "card.md"

    @property
    def prediction(self) -> dict:
        """What a task model's prediction columns are called and hold: ``{"name", "unit", "columns"}``
        (from the manifest; for a model packaged without them, the task alias's defaults)."""
        return dict(self.raw.get("prediction") or TASK_PREDICTIONS.get(self.task or "", {}))

    @property
    def window(self) -> dict:
        """The stretch of a sequence a task model reads: ``{"max_nt", "truncate", "text"}`` (the text,
        e.g. ``the 3'-most 100 nt``, is what ``rnalm models -v`` and the card show); empty if not recorded."""
        return dict(self.raw.get("window") or {})

    @property
    def window_text(self) -> str:
        return str(self.window.get("text", ""))

    def metric_text(self) -> str:
        """``spearman 0.610 (valid, n=1090, onehot.yaml 0.581)`` -- the card's headline validation
        figure, with the recipe's one-hot baseline on the same rows when one was recorded."""
        m = self.metric or {}
        if m.get("value") is None:
            return "-"
        base = self.baselines[0] if self.baselines else None
        where = ", ".join(
            str(x)
            for x in (
                m.get("split"),
                f"n={m['n']}" if m.get("n") else None,
                f"{base['name']} {base['value']:.3f}" if base else None,
            )
            if x
        )
        return f"{m.get('name')} {m['value']:.3f}" + (f" ({where})" if where else "")

    @property
    def baselines(self) -> list[dict]:
        """Baselines validated on the same rows (``--baseline`` when packaged); the first is the
        recipe's one-hot run: ``[{"name", "source", "metric", "value", "n", "beaten"}, ...]``."""
        return list(self.raw.get("baselines") or [])

    def verify(self, names: Optional[list[str]] = None) -> None:
        """Check the files' sha256 against the manifest (all files, or ``names``)."""
        for fname in names or list(self.files):
            want = self.files.get(fname)
            p = self.path / fname
            if not p.is_file():
                raise ShippedModelError(
                    f"shipped model {self.name}: file {p} is missing; reinstall rnalm "
                    f"(or re-ship the model with python -m rnalm.packaging)"
                )
            if want is not None and sha256_file(p) != want:
                raise ShippedModelError(
                    f"shipped model {self.name}: {p} does not match the sha256 in "
                    f"{self.root / MANIFEST} (expected {want}); the file was modified or corrupted"
                )

    def weight_files(self) -> list[str]:
        return [f for f in self.files if f.endswith((".safetensors", ".skops"))]


# ------------------------------------------------------------------------------------ location
def package_root() -> Path:
    return Path(__file__).resolve().parent


def root() -> Path:
    """The folder holding ``manifest.json``: :func:`using_root`, else ``$RNALM_SHIPPED_DIR``, else the package's."""
    if _ROOT_OVERRIDE:
        return _ROOT_OVERRIDE[-1]
    env = os.environ.get(ENV_DIR)
    return Path(env).expanduser() if env else package_root()


@contextlib.contextmanager
def using_root(path: Union[str, Path]) -> Iterator[Path]:
    """Resolve shipped names under ``path`` inside the block (packaging writes into a chosen folder)."""
    p = Path(path).expanduser().resolve()
    _ROOT_OVERRIDE.append(p)
    try:
        yield p
    finally:
        _ROOT_OVERRIDE.pop()


# ------------------------------------------------------------------------------------ manifest
def empty_manifest() -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, "models": []}


def read_manifest(folder: Union[str, Path, None] = None) -> dict[str, Any]:
    """The parsed manifest (an empty one when the folder has none)."""
    folder = Path(folder) if folder is not None else root()
    p = folder / MANIFEST
    if not p.is_file():
        return empty_manifest()
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ShippedModelError(f"{p}: unreadable manifest of shipped models: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("models"), list):
        raise ShippedModelError(
            f"{p}: not a manifest of shipped models (format {data.get('format')!r})"
            if isinstance(data, dict)
            else f"{p}: not a manifest of shipped models"
        )
    if data.get("version", 0) > VERSION:
        raise ShippedModelError(f"{p}: manifest version {data['version']} is newer than this rnalm supports")
    return data


def _entry(d: dict, folder: Path) -> Entry:
    try:
        return Entry(
            name=d["name"],
            kind=d["kind"],
            dir=d["dir"],
            root=folder,
            task=d.get("task"),
            files=dict(d.get("files") or {}),
            size=int(d.get("size") or 0),
            licence=d.get("licence", ""),
            data_licence=d.get("data_licence", ""),
            description=d.get("description", ""),
            backbone=d.get("backbone"),
            backbone_sha256=d.get("backbone_sha256"),
            dtype=d.get("dtype", "float32"),
            metric=dict(d.get("metric") or {}),
            check=dict(d.get("check") or {}),
            postprocess=dict(d.get("postprocess") or {}),
            raw=d,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ShippedModelError(f"{folder / MANIFEST}: malformed entry {d!r:.200}: {exc}") from None


def entries(folder: Union[str, Path, None] = None) -> list[Entry]:
    """All shipped models, in manifest order."""
    folder = Path(folder) if folder is not None else root()
    return [_entry(d, folder) for d in read_manifest(folder)["models"]]


def find(name: str, kind: Optional[str] = None, folder: Union[str, Path, None] = None) -> Optional[Entry]:
    """The entry called ``name`` (or with task alias ``name``), optionally of one kind; None if absent."""
    key = name[len(PREFIX) :] if name.startswith(PREFIX) else name
    key = key.strip().lower()
    found = [e for e in entries(folder) if kind is None or e.kind == kind]
    for e in found:
        if e.name.lower() == key:
            return e
    for e in found:
        if e.task and e.task.lower() == key:
            return e
    return None


def get(name: str, kind: Optional[str] = None, folder: Union[str, Path, None] = None) -> Entry:
    """Like :func:`find`, but a missing model is a :class:`ShippedModelError` listing what is installed."""
    e = find(name, kind, folder)
    if e is not None:
        return e
    have = [x for x in entries(folder) if kind is None or x.kind == kind]
    listing = ", ".join(f"{x.name}" + (f" ({x.task})" if x.task else "") for x in have) or "none"
    what = {"backbone": "backbone", "task": "task model", "structure": "structure model"}.get(kind or "", "model")
    raise ShippedModelError(
        f"no {what} {name!r} is shipped with this installation (shipped: {listing}; "
        f"manifest {(Path(folder) if folder else root()) / MANIFEST})"
    )


def task_entry(alias: str, folder: Union[str, Path, None] = None) -> Entry:
    """The shipped task model for ``alias`` (``te``, ``halflife``, ``ires``, ``family``, ``mrl``) or its name."""
    e = find(alias, None, folder)
    if e is not None and e.kind == "structure":
        raise ShippedModelError(f"{alias!r} is the shipped structure model; use `rnalm fold` (--model shipped) instead")
    if e is None or e.kind != "task":
        have = [x for x in entries(folder) if x.kind == "task"]
        listing = ", ".join(f"{x.task or x.name} ({x.name})" for x in have) or "none"
        known = ", ".join(a for a in TASK_ALIASES if a != "fold")
        raise ShippedModelError(
            f"no shipped task model {alias!r} in this installation (installed: {listing}; "
            f"tasks rnalm knows: {known}); use --run RUN_DIR for a model you trained"
        )
    return e


def structure_entry(folder: Union[str, Path, None] = None) -> Optional[Entry]:
    """The shipped structure model (task alias ``fold``), or None when none is installed."""
    for e in entries(folder):
        if e.kind == "structure":
            return e
    return None


def default_backbone(folder: Union[str, Path, None] = None) -> Optional[Entry]:
    """The backbone used when no model is named: :data:`DEFAULT_BACKBONE`, else the first shipped one."""
    bbs = [e for e in entries(folder) if e.kind == "backbone"]
    return next((e for e in bbs if e.name == DEFAULT_BACKBONE), bbs[0] if bbs else None)


def is_ref(ref: Union[str, Path]) -> bool:
    """True for ``shipped:NAME``, or a plain name of a shipped backbone that is not an existing path."""
    s = str(ref)
    if s.startswith(PREFIX):
        return True
    if Path(s).exists() or "/" in s or os.sep in s:
        return False
    try:
        return find(s, "backbone") is not None
    except ShippedModelError:
        return False


def ref(name: str) -> str:
    """How a task model's run files name a shipped backbone."""
    return PREFIX + name


# ------------------------------------------------------------------------------------ listing
def _reads(e: Entry) -> str:
    """``reads the 3'-most 100 nt; columns te_log; `` for a task model whose manifest states them."""
    cols = e.prediction.get("columns") if e.kind == "task" else None
    return (f"reads {e.window_text}; " if e.window_text else "") + (f"columns {', '.join(cols)}; " if cols else "")


def listings(cache_dir: Union[str, Path, None] = None) -> Iterator[Listing]:
    """Rows for ``rnalm models`` (source ``shipped``); ``cache_dir`` is unused (nothing is downloaded)."""
    try:
        found = entries()
    except ShippedModelError:
        return
    for e in found:
        fmt = (
            {"backbone": "rnalm native", "task": "rnalm task run", "structure": "rnalm structure run"}[e.kind]
            if e.kind in KINDS
            else e.kind
        )
        desc = e.description or (TASK_ALIASES.get(e.task or "", "") if e.task else "")
        if e.backbone:
            desc = f"{desc} (backbone {e.backbone})" if desc else f"backbone {e.backbone}"
        yield Listing(
            name=e.name,
            source="shipped",
            format=fmt,
            size=e.size or None,
            sha256="in manifest",
            cached="shipped",
            licence=e.licence or "-",
            description=desc,
            location=str(e.path),
            notes=_reads(e) + f"card: {e.card}; data licence: {e.data_licence or 'not stated'}",
            kind=e.kind,
            task=e.task or "",
            metric=e.metric_text(),
        )


__all__ = [
    "DEFAULT_BACKBONE",
    "ENV_DIR",
    "Entry",
    "KINDS",
    "MANIFEST",
    "PREFIX",
    "ShippedModelError",
    "TASK_ALIASES",
    "TASK_PREDICTIONS",
    "default_backbone",
    "entries",
    "find",
    "get",
    "is_ref",
    "listings",
    "read_manifest",
    "ref",
    "root",
    "structure_entry",
    "task_entry",
    "using_root",
]
