"""Secondary-structure predictors, one table: what ``--model`` (``rnalm fold``) and ``model=``
(``rnalm.fold``) may name, what each needs, the longest record it reads and its own post-processing.

:data:`PREDICTORS` holds one :class:`PredictorSpec` per predictor, in plain view:

========================  =============================================  ==============  ==========================
name                      what                                           limit           default post-processing
========================  =============================================  ==============  ==========================
``shipped``               structure model shipped with rnalm (default)   its window      its card's
``RUN_DIR``               a structure run of ``rnalm finetune``          its window      its recorded threshold
``rna-fm-ss-resnet``      RNA-FM SS-ResNet (``.pth``)                    1,022 nt        rna-fm's ``predict.py``
``protrna-ss-head``       ProtRNA RotaFormer head (``.h5``) + backbone   510 nt          ProtRNA's: ``> 0.25`` only
``vienna``                ViennaRNA MFE                                  ``max_length``  none (a structure)
``vienna-mea``            ViennaRNA maximum expected accuracy            ``max_length``  none (a structure)
``vienna-bpp``            ViennaRNA base-pair probabilities, thresholded ``max_length``  ``> 0.5``, loop 3, greedy
========================  =============================================  ==============  ==========================

A *path* is recognised by its content, never its name: a folder is a run, a ``.pth`` in rna-fm's
``Baseline`` layout is an SS-ResNet, a Keras HDF5 file with the RotaFormer's layers is the ProtRNA
head (its backbone from ``backbone``, default the registered ``protrna``). Every predictor is a
:class:`FoldPredictor`: ``predict(records)`` gives one :class:`~rnalm.structure.predict.Prediction`
per record; ``method`` is the summary's method column and ``window`` the longest record it folds
(past it :mod:`rnalm.structure.folding`'s ``long`` policy applies). The post-processing options
(:class:`Overrides`) apply to every probability-map predictor and replace only what they name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence, Union

import h5py
import numpy as np
import torch

from rnalm import hub, shipped
from rnalm.api import load, resolve
from rnalm.errors import CheckpointError, RnalmError, option
from rnalm.hub import Listing
from rnalm.models import detect_format
from rnalm.models.protrna import DEFAULT_THRESHOLD, ProtRNAStructureModel, load_ss_head
from rnalm.models.rnafm import ss_resnet_probabilities
from rnalm.models.rnafm.ss_convert import FORMAT_NAME as SS_RESNET_FORMAT
from rnalm.precision import Precision
from rnalm.precision import resolve as resolve_precision
from rnalm.predictors.base import Record
from rnalm.runs.structure_model import load_run_model
from rnalm.shipped import Entry
from rnalm.structure.folding import VIENNA, VIENNA_MAX_LENGTH
from rnalm.structure.predict import PostprocessOptions, Prediction, ProbabilityModel, model_predictor, vienna_predictor
from rnalm.structure.predict import Predictor as PredictFn
from rnalm.structure.vienna import vienna_fold, vienna_mea

#: Post-processing of rna-fm's ``launch/predict.py`` (``engine/predictor.py``: ``postprocess``, whose
#: output its ``.ct`` files hold): ``p > threshold`` (its default 0.5) off the diagonal, no pair with
#: ``|i - j| <= 1``, non-canonical pairs allowed (unless ``--forbid_nc``), then candidates taken by
#: decreasing probability while their row and column are free -- on a symmetric map, greedy one
#: partner per base.
RNAFM_POSTPROCESS = PostprocessOptions(threshold=0.5, min_loop=1, canonical_only=False, one_partner="greedy")
#: ProtRNA's rule (``test_downstream_ss.py``): ``sigmoid > 0.25`` and nothing else. A structure file
#: holds one partner per base, so a base above 0.25 with several partners keeps its most probable one
#: (ProtRNA's own TS0 scoring compares the thresholded matrices and never needs this).
PROTRNA_POSTPROCESS = PostprocessOptions(
    threshold=DEFAULT_THRESHOLD, min_loop=0, canonical_only=False, one_partner="greedy"
)
#: ``vienna-bpp``: ViennaRNA's base-pair probabilities through rnalm's default post-processing.
VIENNA_BPP_POSTPROCESS = PostprocessOptions()
#: The registered ProtRNA backbone the head reads unless ``backbone`` names another.
DEFAULT_PROTRNA_BACKBONE = "protrna"
#: The precision of predictors without a torch model (ViennaRNA).
NO_MODEL = Precision("float32", "ViennaRNA: dtype does not apply")
#: Bytes every HDF5 file starts with.
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


@dataclass
class FoldPredictor:
    """A structure model with its post-processing."""

    description: str
    fn: PredictFn
    #: a run's pair threshold chosen on its training split (``postprocess.json``), if it has one.
    threshold_record: Optional[dict] = None
    #: the summary's method column: the predictor's name in :data:`PREDICTORS` (``run`` for a run)
    method: str = "model"
    #: the longest record the model reads (nt), ``None`` for no limit
    window: Optional[int] = field(default=None)
    #: the post-processing applied to its maps (``None``: it predicts structures, not maps)
    options: Optional[PostprocessOptions] = None
    #: what its model computes in (ViennaRNA: float64 inside, whatever ``--dtype`` says)
    precision: Precision = NO_MODEL
    #: starts work on sequences a coming call will get (a model's ViennaRNA inputs), if it has such work
    prefetch_fn: Optional[Callable[[Sequence[str]], None]] = None
    #: a model that sorts and batches its records itself takes windows of the file of this many
    #: pair cells (sum of ``L^2``) per call, not ``--batch-size`` records (:func:`rnalm.structure.folding.fold`)
    call_cells: Optional[int] = None

    def predict(self, records: Sequence[Record]) -> list[Prediction]:
        with self.precision.autocast():  # torch calls only; ViennaRNA and post-processing are not torch
            return self.fn(list(records))

    def prefetch(self, records: Sequence[Record]) -> None:
        """Records the next calls will fold: their inputs are prepared while this call runs."""
        if self.prefetch_fn is not None:
            self.prefetch_fn([seq for _, seq in records])

    __call__ = predict


@dataclass(frozen=True)
class Overrides:
    """Post-processing the user set (``None``: the model's own)."""

    threshold: Optional[float] = None
    min_loop: Optional[int] = None
    canonical_only: Optional[bool] = None
    #: ``greedy``, ``matching`` or ``none``
    one_partner: Optional[str] = None

    def given(self) -> list[str]:
        return [option(k) for k, v in vars(self).items() if v is not None]

    def apply(self, d: PostprocessOptions) -> PostprocessOptions:
        one = d.one_partner if self.one_partner is None else (None if self.one_partner == "none" else self.one_partner)
        return PostprocessOptions(
            threshold=d.threshold if self.threshold is None else self.threshold,
            min_loop=d.min_loop if self.min_loop is None else self.min_loop,
            canonical_only=d.canonical_only if self.canonical_only is None else bool(self.canonical_only),
            one_partner=one,
        )


@dataclass(frozen=True)
class Request:
    """What building a predictor may use besides its name."""

    #: the file or folder (``None``: the predictor's registered or shipped one)
    path: Optional[Path] = None
    backbone: Optional[str] = None
    overrides: Overrides = Overrides()
    device: Optional[str] = None
    #: ViennaRNA computes base-pair probabilities too (for maps on MFE / fallback rows)
    bpp: bool = False
    max_length: Optional[int] = VIENNA_MAX_LENGTH
    log: Callable[[str], None] = lambda _m: None
    #: ``--dtype`` of a learned model
    dtype: Optional[str] = "float32"

    def precision(self) -> Precision:
        return resolve_precision(self.dtype, _device(self.device))


def options_text(o: Optional[PostprocessOptions]) -> str:
    """``p > 0.25, min loop 0, any pair, greedy`` -- a post-processing in words."""
    if o is None:
        return "none (predicts a structure)"
    pairs = "AU/GC/GU only" if o.canonical_only else "any pair"
    return f"p > {o.threshold:g}, min loop {o.min_loop}, {pairs}, one partner {o.one_partner or 'not enforced'}"


@dataclass(frozen=True)
class PredictorSpec:
    """One row of the table: a structure predictor, what it needs, its limit and post-processing."""

    name: str
    description: str
    #: the backbone it reads, in words
    backbone: str
    licence: str
    #: registered checkpoints it needs (``rnalm download NAME``), in order
    downloads: tuple[str, ...]
    #: the longest record, in words
    limit: str
    #: its own post-processing, in words
    postprocess: str
    build: Callable[[Request], FoldPredictor]
    #: other names ``--model`` takes for it
    aliases: tuple[str, ...] = ()
    #: a path in this predictor's format (checked by content), or ``None`` when it takes no path
    accepts: Optional[Callable[[Path], bool]] = None

    @property
    def needs_download(self) -> bool:
        return bool(self.downloads)


# ------------------------------------------------------------------------------ building blocks
def from_model(
    description: str,
    model: ProbabilityModel,
    options: PostprocessOptions,
    threshold_record: Optional[dict] = None,
    method: str = "model",
) -> FoldPredictor:
    """Any probability model (sequences -> ``L x L`` maps) followed by ``options``; its window is
    the model's ``limit`` attribute when it has one, its precision its ``precision`` attribute, its
    windows of the file its ``call_cells`` attribute."""
    limit = getattr(model, "limit", None)
    window = int(limit) if limit is not None else None
    precision = getattr(model, "precision", NO_MODEL)
    return FoldPredictor(
        description,
        model_predictor(model, options),
        threshold_record,
        method,
        window,
        options,
        precision,
        getattr(model, "prefetch", None),
        getattr(model, "call_cells", None),
    )


def vienna(bpp: bool = True) -> FoldPredictor:
    """ViennaRNA's MFE structure (with its base-pair probabilities as the map when ``bpp``)."""
    return FoldPredictor("ViennaRNA MFE", vienna_predictor(bpp=bpp), method=VIENNA)


def _no_overrides(name: str, overrides: Overrides) -> None:
    if overrides.given():
        raise RnalmError(
            f"{', '.join(overrides.given())} apply to probability-map predictors; {option('model', name)} predicts "
            f"a structure (for ViennaRNA's probabilities with post-processing: {option('model', 'vienna-bpp')})"
        )


def _mea_predict(batch: Sequence[Record]) -> list[Prediction]:
    out = []
    for rid, seq in batch:
        r = vienna_mea(seq, rid)
        out.append(Prediction(r.structure, r.probs, None))
    return out


def _vienna_window(req: Request) -> Optional[int]:
    """A ViennaRNA predictor folds what ``max_length`` allows; past it ``long`` applies."""
    return req.max_length


def _build_vienna(req: Request) -> FoldPredictor:
    _no_overrides(VIENNA, req.overrides)
    return vienna(bpp=req.bpp)


def _build_vienna_mea(req: Request) -> FoldPredictor:
    _no_overrides("vienna-mea", req.overrides)
    vienna_predictor(bpp=False)  # fails early when ViennaRNA is missing
    return FoldPredictor("ViennaRNA MEA (gamma 1)", _mea_predict, method="vienna-mea", window=_vienna_window(req))


class ViennaProbabilities:
    """ViennaRNA's equilibrium base-pair probabilities as a probability model."""

    def __call__(self, sequences: Sequence[str]) -> list[np.ndarray]:
        return [vienna_fold(s, f"#{i + 1}", bpp=True).probs for i, s in enumerate(sequences)]  # type: ignore[misc]


def _build_vienna_bpp(req: Request) -> FoldPredictor:
    vienna_predictor(bpp=False)
    options = req.overrides.apply(VIENNA_BPP_POSTPROCESS)
    p = from_model("ViennaRNA base-pair probabilities", ViennaProbabilities(), options, method="vienna-bpp")
    p.window = _vienna_window(req)
    return p


def run_defaults(
    run_dir: Union[str, Path], device: Optional[str] = None, dtype: Optional[str] = "float32"
) -> tuple[ProbabilityModel, PostprocessOptions, Optional[dict]]:
    """A structure run's probability model, its default post-processing (its recorded threshold, if
    any) and that threshold record."""
    model = load_run_model(run_dir, device, dtype)
    record = getattr(model, "threshold_record", None)
    options = PostprocessOptions(threshold=float(record["threshold"])) if record is not None else PostprocessOptions()
    return model, options, record


def from_run(
    run_dir: Union[str, Path],
    options: Optional[PostprocessOptions] = None,
    device: Optional[str] = None,
    dtype: Optional[str] = "float32",
) -> FoldPredictor:
    """A trained structure run (``rnalm finetune`` with ``task: structure``)."""
    model, defaults, record = run_defaults(run_dir, device, dtype)
    return from_model(f"run {run_dir}", model, options or defaults, record, "run")


def shipped_options(entry: Entry) -> PostprocessOptions:
    """The post-processing recorded with a shipped structure model."""
    return PostprocessOptions(**entry.postprocess)


def from_shipped(
    entry: Entry,
    options: Optional[PostprocessOptions] = None,
    verify: bool = True,
    device: Optional[str] = None,
    dtype: Optional[str] = "float32",
) -> FoldPredictor:
    """The structure model shipped as ``entry`` (its weights sha256-verified unless ``verify=False``),
    read where it is installed: its backbone is named ``shipped:NAME`` and resolved like any
    shipped reference."""
    if verify:
        entry.verify(entry.weight_files())
    model = load_run_model(entry.path, device, dtype)
    return from_model(f"shipped model {entry.name}", model, options or shipped_options(entry), None, "shipped")


def _no_backbone(name: str, req: Request) -> None:
    if req.backbone:
        raise RnalmError(f"{option('backbone')} applies to {option('model', 'protrna-ss-head')} only, not to {name}")


def _build_shipped(req: Request) -> FoldPredictor:
    _no_backbone("the shipped model", req)
    entry = shipped.structure_entry()
    if entry is None:
        raise RnalmError(
            f"no structure model is shipped with this installation (manifest {shipped.root() / shipped.MANIFEST}); "
            f"choose another predictor: {option('model', 'RUN_DIR')} (a trained structure model), "
            f"{option('model', 'vienna')} (ViennaRNA) or one listed by `rnalm models`"
        )
    entry.verify(entry.weight_files())
    req.log(f"structure model: {entry.name} (shipped; validation {entry.metric_text()})")
    return from_shipped(
        entry, req.overrides.apply(shipped_options(entry)), verify=False, device=req.device, dtype=req.dtype
    )


def _build_run(req: Request) -> FoldPredictor:
    _no_backbone("a run", req)
    run = req.path
    if run is None:
        raise RnalmError(f"a run is named by its directory: {option('model', 'RUN_DIR')}")
    model, defaults, record = run_defaults(run, req.device, req.dtype)
    if record is not None and req.overrides.threshold is None:
        how = record.get("combine") or f"{record.get('n_sequences', '?')} sequences"
        req.log(
            f"threshold {defaults.threshold:.2f}: chosen on the run's training split ({how}; "
            f"{run}/postprocess.json); {option('threshold')} overrides it"
        )
    return from_model(f"run {run}", model, req.overrides.apply(defaults), record, "run")


def _build_ss_resnet(req: Request) -> FoldPredictor:
    _no_backbone("RNA-FM's SS-ResNet (its backbone is inside the file)", req)
    path = req.path or resolve("rna-fm-ss-resnet")
    model = ss_resnet_probabilities(path, device=_device(req.device))
    options = req.overrides.apply(RNAFM_POSTPROCESS)
    p = from_model(f"RNA-FM SS-ResNet {path}", model, options, method="rna-fm-ss-resnet")
    p.precision = req.precision()
    return p


def _build_protrna(req: Request) -> FoldPredictor:
    path = req.path or resolve("protrna-ss-head")
    head = load_ss_head(path)
    encoder, alphabet = load(req.backbone or DEFAULT_PROTRNA_BACKBONE, device=_device(req.device))
    device = next(encoder.parameters()).device
    # N (and --unknown N) is ProtRNA's own unknown nucleotide x, as its converter reads it
    model = ProtRNAStructureModel(encoder, alphabet, head.to(device), unknown="x")
    options = req.overrides.apply(PROTRNA_POSTPROCESS)
    p = from_model(f"ProtRNA RotaFormer {path}", model, options, method="protrna-ss-head")
    p.precision = req.precision()
    return p


def _device(device: Optional[str]) -> str:
    """``--device``: as given, else CUDA when available (the commands' default), else the CPU."""
    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


# ------------------------------------------------------------------------------ content probes
def is_run_dir(path: Path) -> bool:
    """A folder: ``rnalm finetune``'s run directory (the loader says what is wrong with it)."""
    return path.is_dir()


def is_ss_resnet(path: Path) -> bool:
    """A torch file in rna-fm ``Baseline``'s layout (backbone + ``downstream_modules``)."""
    try:
        return path.is_file() and detect_format(path)[0].name == SS_RESNET_FORMAT
    except CheckpointError:
        return False


def is_protrna_head(path: Path) -> bool:
    """A Keras HDF5 weights file whose layers are the RotaFormer's (``evoformer_ensemble_*``)."""
    if not path.is_file():
        return False
    with open(path, "rb") as fh:
        if fh.read(len(HDF5_MAGIC)) != HDF5_MAGIC:
            return False
    try:
        with h5py.File(path, "r") as f:
            names = [n.decode() if isinstance(n, bytes) else str(n) for n in f.attrs.get("layer_names", [])]
    except OSError:
        return False
    return any(n.startswith("evoformer_ensemble_") for n in names)


# ------------------------------------------------------------------------------ the table
PREDICTORS: tuple[PredictorSpec, ...] = (
    PredictorSpec(
        "shipped",
        "the structure model shipped with rnalm (the default)",
        "shipped backbone (installed)",
        "MIT",
        (),
        "its window (from the model)",
        "its card's (threshold chosen at training)",
        _build_shipped,
    ),
    PredictorSpec(
        "RUN_DIR",
        "a structure model trained by `rnalm finetune` (task: structure)",
        "the run's backbone",
        "yours",
        (),
        "its backbone's window",
        "p > its recorded threshold (else 0.5), min loop 3, any pair, one partner greedy",
        _build_run,
        accepts=is_run_dir,
    ),
    PredictorSpec(
        "rna-fm-ss-resnet",
        "RNA-FM SS-ResNet (RNA-FM-ResNet_PDB-All.pth), or a .pth in its layout",
        "RNA-FM encoder (inside the file)",
        "MIT",
        ("rna-fm-ss-resnet",),
        "1,022 nt",
        options_text(RNAFM_POSTPROCESS) + " (rna-fm's predict.py)",
        _build_ss_resnet,
        aliases=("RNA-FM-ResNet_PDB-All", "rna-fm-ss"),
        accepts=is_ss_resnet,
    ),
    PredictorSpec(
        "protrna-ss-head",
        "ProtRNA RotaFormer head (ssHead_RF_bprna.h5), or a .h5 in its layout, on --backbone",
        "protrna backbone (or --backbone: 1,280 wide, ProtRNA's layout)",
        "MIT",
        ("protrna-ss-head", "protrna"),
        "510 nt (the backbone's)",
        options_text(PROTRNA_POSTPROCESS) + " (ProtRNA's rule: p > 0.25 only)",
        _build_protrna,
        aliases=("ssHead_RF_bprna",),
        accepts=is_protrna_head,
    ),
    PredictorSpec(
        VIENNA,
        "ViennaRNA minimum free energy structure (RNAfold defaults)",
        "none",
        "ViennaRNA licence",
        (),
        "--max-length (default 4,000 nt)",
        options_text(None),
        _build_vienna,
    ),
    PredictorSpec(
        "vienna-mea",
        "ViennaRNA maximum expected accuracy structure (RNAfold -p --MEA, gamma 1)",
        "none",
        "ViennaRNA licence",
        (),
        "--max-length (default 4,000 nt)",
        options_text(None),
        _build_vienna_mea,
    ),
    PredictorSpec(
        "vienna-bpp",
        "ViennaRNA base-pair probabilities (RNAfold -p) through the post-processing options",
        "none",
        "ViennaRNA licence",
        (),
        "--max-length (default 4,000 nt)",
        options_text(VIENNA_BPP_POSTPROCESS),
        _build_vienna_bpp,
    ),
)
#: By every name ``--model`` takes (the shipped model's own name is added at lookup).
BY_NAME: dict[str, PredictorSpec] = {n: s for s in PREDICTORS for n in (s.name, *s.aliases) if n != "RUN_DIR"}
#: What ``method`` (the summary column) and the legacy ``--method`` may say.
NAMES = tuple(s.name for s in PREDICTORS if s.name != "RUN_DIR")


def spec_for(model: Union[str, Path, None]) -> tuple[PredictorSpec, Optional[Path]]:
    """The table row ``model`` names, and the path it gave (a name gives none)."""
    name = "shipped" if model is None else str(model)
    entry = shipped.structure_entry() if name not in BY_NAME else None
    if name in BY_NAME or (entry is not None and name == entry.name):
        return BY_NAME.get(name, BY_NAME["shipped"]), None
    path = Path(name).expanduser()
    if not path.exists():
        raise RnalmError(
            f"{option('model', name)}: no such file or directory, and not a structure predictor's name "
            f"({', '.join(NAMES)}; `rnalm models` lists them)"
        )
    for spec in PREDICTORS:
        if spec.accepts is not None and spec.accepts(path):
            return spec, path
    raise RnalmError(
        f"{path} is not a structure model rnalm knows: {option('model')} takes an `rnalm finetune` run "
        f"directory, RNA-FM's SS-ResNet .pth or ProtRNA's RotaFormer head .h5 (a backbone goes to "
        f"{option('backbone')}), or one of {', '.join(NAMES)}"
    )


def choose(
    model: Union[str, Path, None] = None,
    backbone: Optional[str] = None,
    overrides: Overrides = Overrides(),
    device: Optional[str] = None,
    bpp: bool = False,
    max_length: Optional[int] = VIENNA_MAX_LENGTH,
    log: Callable[[str], None] = lambda _m: None,
    dtype: Optional[str] = "float32",
) -> FoldPredictor:
    """The predictor ``model`` names (a name of :data:`PREDICTORS` or a path; ``None``: the shipped
    model), with its own post-processing and the ``overrides`` on top."""
    spec, path = spec_for(model)
    if backbone and spec.name != "protrna-ss-head":
        _no_backbone(spec.name, Request(backbone=backbone))
    resolve_precision(dtype, _device(device))  # a misspelt dtype is an error whatever the predictor
    return spec.build(Request(path, backbone, overrides, device, bpp, max_length, log, dtype))


# ------------------------------------------------------------------------------ rnalm models
def _cached(spec: PredictorSpec, rows: dict[str, Listing], entry: Optional[Entry]) -> str:
    if spec.name == "shipped":
        return "installed" if entry is not None else "not installed"
    if not spec.downloads:
        return "-"
    return ", ".join(f"{n}: {rows[n].cached}" if n in rows else f"{n}: ?" for n in spec.downloads)


def listings(cache_dir: Union[str, Path, None] = None) -> Iterator[Listing]:
    """One ``rnalm models`` row per structure predictor (source ``structure``), from :data:`PREDICTORS`."""
    rows = {r.name: r for r in hub.listings(cache_dir)}
    installed = shipped.structure_entry()
    for spec in PREDICTORS:
        entry = installed if spec.name == "shipped" else None
        post = options_text(shipped_options(entry)) + " (its card's)" if entry is not None else spec.postprocess
        yield Listing(
            name=spec.name,
            source="structure",
            format="",
            size=None,
            sha256="",
            cached=_cached(spec, rows, installed),
            licence=spec.licence,
            description=spec.description + (f" ({entry.name})" if entry is not None else ""),
            location="",
            aliases=spec.aliases + ((entry.name,) if entry is not None else ()),
            kind="structure predictor",
            needs=spec.backbone,
            limit=spec.limit,
            postprocess=post,
            downloads=spec.downloads,
        )


__all__ = [
    "BY_NAME",
    "NAMES",
    "PREDICTORS",
    "PROTRNA_POSTPROCESS",
    "RNAFM_POSTPROCESS",
    "VIENNA_BPP_POSTPROCESS",
    "FoldPredictor",
    "Overrides",
    "PredictorSpec",
    "Request",
    "ViennaProbabilities",
    "choose",
    "from_model",
    "from_run",
    "from_shipped",
    "is_protrna_head",
    "is_run_dir",
    "is_ss_resnet",
    "listings",
    "options_text",
    "run_defaults",
    "shipped_options",
    "spec_for",
    "vienna",
]
