"""``rnalm finetune --config FILE [key=value ...]``: train and evaluate a sequence-level predictor
or a secondary-structure model (``task: structure``)."""

from __future__ import annotations

import argparse
from typing import Optional

from rnalm.configfile import ConfigError
from rnalm.finetune.runner import finetune


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
    p.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from its last checkpoint")
    p.add_argument("--output-dir", "-o", help="run directory (same as output_dir=...)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress messages")
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


def config_spelling(name: str, value: Optional[str] = None) -> str:
    """Options spelled as the config key a KEY=VALUE override or the YAML file sets."""
    key = CONFIG_KEYS.get(name, name)
    return f"{key}=" if value is None else f"{key}={value}"


def run(args: argparse.Namespace) -> int:
    overrides = list(args.overrides)
    if args.output_dir:
        overrides.append(f"output_dir={args.output_dir}")
    log = (lambda _m: None) if args.quiet else print
    if args.resume:
        if args.config:
            raise ConfigError("--resume reads the run's own config.yaml; do not pass --config")
        result = finetune(args.resume, overrides, resume=True, log=log)
    else:
        if not args.config and not overrides:
            raise ConfigError(
                "give --config FILE and/or key=value settings (example configs: recipes/ in rnalm's source repository)"
            )
        result = finetune(args.config, overrides, log=log)
    print(f"metrics: {result.run_dir / 'metrics.json'}")
    return 0
