"""Combine finished structure runs into one ensemble run whose maps are the mean of theirs.

    python -m rnalm.finetune.structure.combine -o OUT_DIR RUN_DIR RUN_DIR [...] [--max-sequences 400]

``train.members`` trains models that differ only in their seed; this joins models that differ in
their *training data* too (e.g. one trained on bpRNA alone and one with ArchiveII rows added by
``data.extra_train``). On bpRNA VL0 that is what helps: two runs that differ in their data average to
F1 0.553 against 0.537 for the better alone, two seeds of one run to 0.532 (BENCHMARKS.md, Structure:
decoding rules and a two-run ensemble). ``rnalm fold``
and :mod:`rnalm.runs.structure_model` already average the maps of a run's ``member_<i>/`` models,
so the result is an ordinary ensemble run:

1. every source must be a finished single-model structure run (no folds or members) whose config
   builds the same model: equal ``task``, ``backbone``, ``head`` and ``structure`` sections
   (``structure.select_threshold`` aside); ``data`` and ``train`` may differ;
2. ``OUT_DIR`` (which must not exist) gets the **first** run's ``config.yaml``, ``label_state.json``
   and ``run_info.json`` (plus ``members`` and ``combined_from``: each source's path, weights
   sha256, ``data`` section and seed), and ``member_<i>/`` with each source's weights, label state,
   config, run information and metrics; it is built beside ``OUT_DIR`` and renamed into place;
3. the pair threshold is chosen on the mean maps over the first run's training split
   (:func:`rnalm.finetune.structure.calibrate.calibrate`), whose validation rows are then scored --
   so list first the run whose split the ensemble should be judged on.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional, Sequence

import yaml

from rnalm.errors import RnalmError
from rnalm.finetune.structure.calibrate import add_selection_options, calibrate, report
from rnalm.io.digest import sha256_file
from rnalm.io.jsonfile import read_json_object, write_json
from rnalm.io.permissions import honour_umask
from rnalm.runs.rundir import CONFIG_FILE, INFO_FILE, LABEL_FILE, METRICS_FILE, WEIGHTS_FILE, RunDir
from rnalm.structure.threshold import MAX_SEQUENCES

#: Config sections that decide the model a run builds: they must be equal in every source.
MODEL_SECTIONS = ("task", "backbone", "head", "structure")
#: Keys of those sections that do not change the model (training-time choices).
IGNORED_KEYS = {"structure": ("select_threshold",), "backbone": ("cache", "cache_dir")}
#: What each member folder keeps of its source run.
MEMBER_FILES = (WEIGHTS_FILE, LABEL_FILE, CONFIG_FILE, INFO_FILE, METRICS_FILE)


def _model_config(cfg: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name in MODEL_SECTIONS:
        section = cfg.get(name)
        if isinstance(section, dict):
            section = {k: v for k, v in section.items() if k not in IGNORED_KEYS.get(name, ())}
        out[name] = section
    return out


def _read_source(run_dir: Path) -> tuple[dict, dict]:
    """The config and run information of one source, or an error naming what is wrong with it."""
    run = RunDir(run_dir)
    if not run.is_finished():
        raise RnalmError(f"{run_dir}: no {CONFIG_FILE} / {INFO_FILE}; not a finished `rnalm finetune` run")
    cfg = yaml.safe_load(run.config.read_text(encoding="utf-8")) or {}
    info = read_json_object(run.info)
    if cfg.get("task") != "structure":
        raise RnalmError(
            f"{run_dir}: task {cfg.get('task')!r}; only structure runs combine here "
            f"(other tasks train ensembles with train.members)"
        )
    if info.get("folds") or info.get("members"):
        raise RnalmError(f"{run_dir}: a cross-validated or ensemble run; combine single-model runs")
    for name in (WEIGHTS_FILE, LABEL_FILE, METRICS_FILE):
        if not (run_dir / name).is_file():
            raise RnalmError(f"{run_dir}: no {name}; did the training finish?")
    return cfg, info


def _differences(a: dict, b: dict, prefix: str = "") -> list[str]:
    keys = sorted(set(a) | set(b))
    out = []
    for k in keys:
        va, vb = a.get(k), b.get(k)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += _differences(va, vb, f"{prefix}{k}.")
        elif va != vb:
            out.append(f"{prefix}{k}: {va!r} vs {vb!r}")
    return out


def _members_metrics(members: list[dict]) -> dict:
    """The ensemble's metrics.json before its own figures are computed: the split sizes of the first
    run (whose split it is judged on), the size and training time of each member, and their figures."""
    first = members[0]
    out = {k: first[k] for k in ("task", "metric", "n_train", "n_valid", "n_test") if k in first}
    out["trainable_parameters"] = first.get("trainable_parameters")  # per member, as train.members records it
    out["train_seconds"] = round(sum(m.get("train_seconds", 0.0) for m in members), 2)
    out["members"] = members
    return out


def combine(
    run_dirs: Sequence[str | Path],
    out_dir: str | Path,
    max_sequences: int = MAX_SEQUENCES,
    device: Optional[str] = None,
) -> dict:
    """Write the ensemble of ``run_dirs`` to ``out_dir`` and choose its threshold; returns
    :func:`~rnalm.finetune.structure.calibrate.calibrate`'s summary."""
    sources = [Path(r) for r in run_dirs]
    out_dir = Path(out_dir)
    if len(sources) < 2:
        raise RnalmError(f"give two or more runs to combine, got {len(sources)}")
    if len({s.resolve() for s in sources}) < len(sources):
        raise RnalmError("a run is named twice; each source is one member")
    if out_dir.exists():
        raise RnalmError(f"{out_dir} exists; -o names a new directory (rnalm never writes into one it did not make)")
    read = [_read_source(s) for s in sources]
    first = _model_config(read[0][0])
    for s, (cfg, _) in zip(sources[1:], read[1:]):
        diff = _differences(first, _model_config(cfg))
        if diff:
            raise RnalmError(
                f"{s}: builds another model than {sources[0]} ({'; '.join(diff[:4])}); "
                f"only runs whose {', '.join(MODEL_SECTIONS)} sections agree combine"
            )
    cfg0, info0 = read[0]
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        combined_from = []
        for i, (src, (cfg, _)) in enumerate(zip(sources, read)):
            member = RunDir(tmp).member(i).path
            member.mkdir()
            for name in MEMBER_FILES:
                shutil.copyfile(src / name, member / name)
            combined_from.append(
                {
                    "member": i,
                    "run": str(src),
                    "weights_sha256": sha256_file(src / WEIGHTS_FILE),
                    "data": cfg.get("data"),
                    "seed": (cfg.get("train") or {}).get("seed"),
                }
            )
        shutil.copyfile(sources[0] / CONFIG_FILE, tmp / CONFIG_FILE)
        shutil.copyfile(sources[0] / LABEL_FILE, tmp / LABEL_FILE)
        info = {**info0, "folds": None, "members": list(range(len(sources))), "combined_from": combined_from}
        write_json(tmp / INFO_FILE, info)
        write_json(tmp / METRICS_FILE, _members_metrics([read_json_object(s / METRICS_FILE) for s in sources]))
        summary = calibrate(tmp, max_sequences, device)
        honour_umask(tmp)
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {**summary, "run_dir": str(out_dir)}


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m rnalm.finetune.structure.combine",
        description="Combine finished structure runs into one ensemble run (mean of their maps), "
        "with its threshold chosen on the first run's training split.",
    )
    ap.add_argument(
        "runs", nargs="+", type=Path, help="two or more structure run directories (the first sets the split)"
    )
    ap.add_argument("-o", "--output", type=Path, required=True, help="the ensemble run directory to create")
    add_selection_options(ap, "the first run's")
    args = ap.parse_args(argv)
    print(
        f"combining {len(args.runs)} runs into {args.output}: their maps of the first run's training and "
        f"validation sequences are computed (ViennaRNA maps from the runs' caches where they have them)",
        file=sys.stderr,
    )
    return report(lambda: combine(args.runs, args.output, args.max_sequences, args.device))


if __name__ == "__main__":
    sys.exit(main())
