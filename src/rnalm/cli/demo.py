"""``rnalm demo``: the main job on a small FASTA with the models shipped inside rnalm, ending in one HTML report.

Without ``-i/--input`` it reads the example sequences installed with rnalm (``rnalm.examples``), so
it works from any directory. For every record: predictions of every shipped task model (5' UTR
translation efficiency, 3' UTR half-life, IRES probability, ncRNA family; the one that fits the
record's ``type=`` is highlighted), its secondary structure from the shipped structure model and
from ViennaRNA, side by side as dot-bracket and arc diagram, the sequence as each model family reads
it, and mean-pooled embeddings of the shipped backbone (or ``--model``) with a cosine-similarity
table. Every record is shown: one that a model cannot read (too long, a letter it lacks) is marked
in that model's column, the others are unaffected.

A shipped model that is not installed is reported as such (the report and the terminal say which)
and its column stays empty; nothing needs the network. Everything goes under ``-o/--output``:
``report.html`` (self-contained, relative links), ``predictions.tsv``, ``structures/<method>/``
(``.dbn``, ``.ct``, ``.bpseq``, ``.npy``, ``.arc.png``, ``.dotplot.png``), ``cards/`` (the model
cards of the shipped models used) and ``embeddings.npy``. The folder is built aside and swapped in
when complete; an existing one is replaced only with ``--overwrite``, and only if it is a demo report.
"""

from __future__ import annotations

import argparse

from rnalm import examples
from rnalm.cli.options import add_dtype, add_input, add_output, add_overwrite, add_quiet
from rnalm.report.demo import quiet, run_demo, say


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="run the shipped models on a small FASTA and write an HTML report",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input(p, required=False, unknown=False)
    add_output(p, "output folder (default demo_out)", required=False, default="demo_out")
    add_overwrite(p)
    add_quiet(p)
    p.add_argument(
        "--model", default=None, help="language model for the embeddings (path or name; default: the shipped backbone)"
    )
    p.add_argument("--no-vienna", action="store_true", help="skip the ViennaRNA structures")
    add_dtype(p, "every learned model of the report; ViennaRNA is not affected")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    source = args.input if args.input is not None else str(examples.path())
    return run_demo(
        source,
        args.output,
        model=args.model,
        vienna=not args.no_vienna,
        overwrite=args.overwrite,
        input_format=args.input_format,
        seq_column=args.seq_column,
        id_column=args.id_column,
        log=quiet if args.quiet else say,
        dtype=args.dtype,
    )
