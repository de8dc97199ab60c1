"""``rnalm finetune --config FILE [key=value ...]``: train and evaluate a sequence-level predictor
or a secondary-structure model (``task: structure``)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Optional

from rnalm.cli.options import add_dtype, add_output, add_quiet, progress_choice
from rnalm.configfile import ConfigError
from rnalm.errors import cli_spelling
from rnalm.finetune.runner import finetune
from rnalm.runs.config import expand_path
from rnalm.runs.config_file import load_finetune_config
from rnalm.runs.rundir import METRICS_FILE


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "finetune",
        help="fine-tune / evaluate a predictor of a sequence property (regression or classification) "
        "or of secondary structure (task=structure; then `rnalm fold --model RUN_DIR`)",
        description="Trains a head (optionally with its language-model backbone) on labelled sequences and writes a "
        "run directory: resolved config, best weights, trainer_state.json, metrics.json, predictions.csv "
        "and figures. Every config key can be overridden as section.key=value, e.g. train.lr=1e-4 "
        "cv.folds=10 backbone.name=path/to/model. Ready-made configs for public datasets (HEK293 TE, "
        "3' UTR half-life, IRES, ncRNA family, secondary structure) are the recipes/ folder of rnalm's "
        "source repository; they are not installed with the package.",
    )
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides (YAML values)")
    p.add_argument(
        "--config", "-c", help="YAML config (examples: recipes/ in rnalm's source repository, not installed)"
    )
    add_output(p, "run directory (same as output_dir=...; default: the config's output_dir)", required=False)
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing run directory, only if it is an rnalm fine-tuning run that holds none of "
        "the data files (same as overwrite=true)",
    )
    g.add_argument(
        "--resume",
        action="store_true",
        help="continue the interrupted run in --output (or the config's output_dir) from its last checkpoint, "
        "with the config saved there",
    )
    p.add_argument(
        "--device",
        default=None,
        help="cpu, cuda or cuda:N (same as train.device=...; default: cuda when available, else cpu)",
    )
    add_dtype(
        p,
        "same as train.dtype=...; default: the config's, auto. Weights and optimizer state stay float32; --resume "
        "continues in the type the run recorded",
        default=None,
    )
    add_quiet(p)
    p.set_defaults(func=run, spelling=config_spelling)


#: options that lower layers name (:func:`rnalm.errors.option`), as finetune's config keys
CONFIG_KEYS = {
    "seq_column": "data.seq_column",
    "id_column": "data.id_column",
    "label_column": "data.label_column",
    "group_column": "data.group_column",
    "unknown": "data.unknown",
    "truncate": "data.truncate",
}


#: settings that are also flags of ``rnalm finetune``: named by the flag
FLAGS = {"output_dir": "output", "overwrite": "overwrite", "resume": "resume", "device": "device"}


def config_spelling(name: str, value: Optional[str] = None) -> str:
    """Options spelled as the config key a KEY=VALUE override or the YAML file sets (or as the flag
    that sets them, for the few settings the command has a flag for)."""
    if name in FLAGS:
        return cli_spelling(FLAGS[name], value)
    key = CONFIG_KEYS.get(name, name)
    return f"{key}=" if value is None else f"{key}={value}"


def run(args: argparse.Namespace) -> int:
    overrides = list(args.overrides)
    if args.output:
        overrides.append(f"output_dir={args.output}")
    if args.overwrite:
        overrides.append("overwrite=true")
    if args.device:
        overrides.append(f"train.device={args.device}")
    if args.dtype:
        overrides.append(f"train.dtype={args.dtype}")
    quiet = args.quiet
    log = (lambda _m: None) if quiet else print
    progress = progress_choice(args)
    t0 = time.perf_counter()
    if args.resume:
        if not args.output and not args.config:
            raise ConfigError("--resume continues the run in -o/--output RUN_DIR (or --config's output_dir); give one")
        # the run's own saved config; --config (or -o) only says where the run is
        run_dir = args.output or load_finetune_config(args.config, list(args.overrides)).output_dir
        result = finetune(Path(expand_path(run_dir)), overrides, resume=True, log=log, progress=progress)
    else:
        if not args.config and not overrides:
            raise ConfigError(
                "give --config FILE and/or key=value settings (example configs: recipes/ in rnalm's source repository)"
            )
        result = finetune(args.config, overrides, log=log, progress=progress)
    if not quiet:
        print(
            f"rnalm finetune: done in {time.perf_counter() - t0:.1f} s, {result.precision.summary()} "
            f"-> {result.run_dir} "
            f"(metrics: {result.run_dir / METRICS_FILE})",
            file=sys.stderr,
        )
    return 0
