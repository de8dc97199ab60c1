"""``rnalm pretrain --config FILE [key=value ...]``: MLM (+ MFE + structure) pretraining.

Runs on one CPU as is, and data-parallel under ``torchrun --nproc-per-node N rnalm pretrain ...``
(gloo on CPU, nccl on GPU). ``-o/--output DIR`` (the config's ``output``) receives checkpoints,
metrics.jsonl and the final model; ``--resume`` continues exactly from its newest complete
checkpoint. An existing, non-empty output is an error unless ``--resume`` or ``--overwrite`` is
given; one run writes to an output at a time. A progress bar over the steps shows on a terminal
(``--progress``: always; ``-q``: never), then the closing line "N steps in T s (R steps/s), TYPE -> DIR".
``--dtype`` (the config's ``dtype``, default auto) picks the type forward and loss compute in;
a resumed run keeps the type it started with.
"""

from __future__ import annotations

import argparse

from rnalm.cli.options import add_dtype, add_output, add_quiet, progress_choice
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
    add_output(p, "output directory (same as output=...; default: the config's output)", required=False)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --output")
    g.add_argument(
        "--overwrite",
        action="store_true",
        help="start over in an existing --output: removes the old run's checkpoints, final model and "
        "metrics (only in an rnalm pretraining output; the label cache and other files stay)",
    )
    p.add_argument(
        "--device", default=None, help="cpu, cuda or cuda:N (same as device=...; default: the config's, cpu)"
    )
    add_dtype(
        p, "same as dtype=...; default: the config's, auto. Weights and optimizer state stay float32", default=None
    )
    add_quiet(p)
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

    overrides = list(args.overrides)
    if args.output:
        overrides.append(f"output={args.output}")
    if args.device:
        overrides.append(f"device={args.device}")
    if args.dtype:
        overrides.append(f"dtype={args.dtype}")
    cfg = load_config(PretrainConfig, args.config, overrides)
    pretrain(cfg, resume=args.resume, overwrite=args.overwrite, progress=progress_choice(args))
    return 0
