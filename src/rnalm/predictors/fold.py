"""Secondary-structure predictors: a trained structure run, the shipped structure model, ViennaRNA.

Each is a :class:`FoldPredictor`: ``predict(records)`` (or calling it, as the fold engine does)
gives one :class:`~rnalm.structure.predict.Prediction` per record -- pairs after the chosen
post-processing, and the base-pair probability map. ``method`` names it as ``--method`` does
(``shipped``, ``run``, ``vienna``) and ``window`` is the longest record a learned model reads (its
backbone's, from the model); :func:`choose` builds the one ``rnalm fold`` and ``rnalm.fold`` ask for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

from rnalm import shipped
from rnalm.errors import RnalmError, option
from rnalm.predictors.base import Record
from rnalm.runs.structure_model import load_run_model
from rnalm.shipped import Entry
from rnalm.structure.predict import PostprocessOptions, Prediction, ProbabilityModel, model_predictor, vienna_predictor
from rnalm.structure.predict import Predictor as PredictFn

#: What ``method`` may name.
METHODS = ("shipped", "run", "vienna")


@dataclass
class FoldPredictor:
    """A structure model with its post-processing."""

    description: str
    fn: PredictFn
    #: a run's pair threshold chosen on its training split (``postprocess.json``), if it has one.
    threshold_record: Optional[dict] = None
    #: ``shipped``, ``run``, ``vienna`` (or ``model`` for any other probability model)
    method: str = "model"
    #: the longest record the model reads (nt), ``None`` for no limit
    window: Optional[int] = field(default=None)

    def predict(self, records: Sequence[Record]) -> list[Prediction]:
        return self.fn(list(records))

    __call__ = predict


def vienna(bpp: bool = True) -> FoldPredictor:
    """ViennaRNA's MFE structure (with its base-pair probabilities as the map)."""
    return FoldPredictor("ViennaRNA", vienna_predictor(bpp=bpp), method="vienna")


def _window(model: ProbabilityModel) -> Optional[int]:
    limit = getattr(model, "limit", None)
    return int(limit) if limit is not None else None


def from_model(
    description: str,
    model: ProbabilityModel,
    options: PostprocessOptions,
    threshold_record: Optional[dict] = None,
    method: str = "model",
) -> FoldPredictor:
    """Any probability model (sequences -> ``L x L`` maps) followed by ``options``; its window is
    the model's ``limit`` attribute when it has one."""
    return FoldPredictor(description, model_predictor(model, options), threshold_record, method, _window(model))


def run_defaults(
    run_dir: str | Path, device: Optional[str] = None
) -> tuple[ProbabilityModel, PostprocessOptions, Optional[dict]]:
    """A structure run's probability model, its default post-processing (its recorded threshold, if
    any) and that threshold record."""
    model = load_run_model(run_dir, device)
    record = getattr(model, "threshold_record", None)
    options = PostprocessOptions(threshold=float(record["threshold"])) if record is not None else PostprocessOptions()
    return model, options, record


def from_run(
    run_dir: str | Path, options: Optional[PostprocessOptions] = None, device: Optional[str] = None
) -> FoldPredictor:
    """A trained structure run (``rnalm finetune`` with ``task: structure``)."""
    model, defaults, record = run_defaults(run_dir, device)
    return from_model(f"run {run_dir}", model, options or defaults, record, "run")


def shipped_options(entry: Entry) -> PostprocessOptions:
    """The post-processing recorded with a shipped structure model."""
    return PostprocessOptions(**entry.postprocess)


def from_shipped(
    entry: Entry, options: Optional[PostprocessOptions] = None, verify: bool = True, device: Optional[str] = None
) -> FoldPredictor:
    """The structure model shipped as ``entry`` (its weights sha256-verified unless ``verify=False``),
    read where it is installed: its backbone is named ``shipped:NAME`` and resolved like any
    shipped reference."""
    if verify:
        entry.verify(entry.weight_files())
    model = load_run_model(entry.path, device)
    return from_model(f"shipped model {entry.name}", model, options or shipped_options(entry), None, "shipped")


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


def choose(
    method: Optional[str] = None,
    run: Optional[str | Path] = None,
    overrides: Overrides = Overrides(),
    device: Optional[str] = None,
    bpp: bool = False,
    log: Callable[[str], None] = lambda _m: None,
) -> FoldPredictor:
    """The predictor ``method`` / ``run`` name: the shipped structure model by default, a trained
    run when ``run`` is given, ViennaRNA (with base-pair probabilities when ``bpp``) for ``vienna``."""
    method = method or ("run" if run else "shipped")
    if method not in METHODS:
        raise RnalmError(f"{option('method')} must be one of {', '.join(METHODS)}, got {method!r}")
    if run and method != "run":
        raise RnalmError(f"{option('run')} and {option('method', method)} exclude each other")
    if method == "vienna":
        if overrides.given():
            raise RnalmError(
                f"{', '.join(overrides.given())} apply to learned models only; ViennaRNA's structure is "
                "its MFE structure"
            )
        return vienna(bpp=bpp)
    if method == "shipped":
        entry = shipped.structure_entry()
        if entry is None:
            raise RnalmError(
                f"no structure model is shipped with this installation (manifest "
                f"{shipped.root() / shipped.MANIFEST}); choose a predictor: {option('run')} (a trained "
                f"structure model) or {option('method', 'vienna')}"
            )
        entry.verify(entry.weight_files())
        log(f"structure model: {entry.name} (shipped; validation {entry.metric_text()})")
        return from_shipped(entry, overrides.apply(shipped_options(entry)), verify=False, device=device)
    if not run:
        raise RnalmError(f"{option('method', 'run')} needs {option('run')}")
    model, defaults, record = run_defaults(run, device)
    if record is not None and overrides.threshold is None:
        how = record.get("combine") or f"{record.get('n_sequences', '?')} sequences"
        log(
            f"threshold {defaults.threshold:.2f}: chosen on the run's training split ({how}; "
            f"{run}/postprocess.json); {option('threshold')} overrides it"
        )
    return from_model(f"run {run}", model, overrides.apply(defaults), record, "run")


__all__ = [
    "METHODS",
    "FoldPredictor",
    "Overrides",
    "choose",
    "from_model",
    "from_run",
    "from_shipped",
    "run_defaults",
    "shipped_options",
    "vienna",
]
