"""``rnalm pretrain --config FILE [key=value ...]``: MLM (+ MFE + structure) pretraining.

Runs on one CPU as is, and data-parallel under ``torchrun --nproc-per-node N rnalm pretrain ...``
(gloo on CPU, nccl on GPU). ``--resume`` continues exactly from the newest complete checkpoint.
An existing, non-empty output is an error unless ``--resume`` or ``--overwrite`` is given; one
run writes to an output at a time.
"""

from __future__ import annotations

import argparse

from rnalm.configfile import load_config
from rnalm.pretrain.config import PretrainConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pretrain",
        help="pretrain an encoder (MLM, optional MFE and structure supervision)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", help="YAML config (see recipes/pretrain_*.yaml)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in the output")
    g.add_argument(
        "--overwrite",
        action="store_true",
        help="start over in an existing output: removes the old run's checkpoints, final model and "
        "metrics (only in an rnalm pretraining output; the label cache and other files stay)",
    )
    p.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="config overrides, e.g. optim.max_steps=500 data.paths=[a.fa,b.csv]",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # imported here, not at the top: the trainer loads torch's distributed checkpointing (seconds),
    # which every other `rnalm` command would otherwise pay for when the parser is built
    from rnalm.pretrain.trainer import pretrain

    cfg = load_config(PretrainConfig, args.config, args.overrides)
    pretrain(cfg, resume=args.resume, overwrite=args.overwrite)
    return 0
