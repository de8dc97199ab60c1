"""``rnalm embed`` and ``rnalm embed-merge``: embeddings for large sequence files."""

from __future__ import annotations

import argparse
import sys

from rnalm.cli.options import (
    add_device,
    add_dtype,
    add_input,
    add_output,
    add_overwrite,
    add_quiet,
    progress_choice,
)
from rnalm.embedding import EmbedOptions, default_model, embed_file, merge_parts
from rnalm.embedding.store import STORAGES
from rnalm.precision import ALIASES, WITH_FLOAT16

DESCRIPTION = """\
Embed every sequence of a FASTA (plain or gzip) or CSV/TSV file with any model rnalm loads
(default: the backbone shipped with rnalm, utrlm-mini, which needs no download).

Outputs are aligned to the input: per-token outputs have exactly one row per nucleotide (one per
codon for mRNA-FM), with <cls>/<eos> removed; mean pooling averages those rows only (no special
or padding tokens); cls is the <cls> vector. Records are keyed by id (the first word of a FASTA
header, the --id-column, or <file stem>_<row> for a table without one, as in every rnalm
command), which must be unique; each stores its input position ('index').

Reading the output back, in input order whatever order the batches ran in:
    from rnalm.embedding import read_matrix, read_per_token
    ids, X = read_matrix("OUTPUT", layer=-1, pool="mean")  # X: N x D array, row i is ids[i]
    ids, rows = read_per_token("OUTPUT", layer=-1)          # rows[i]: L_i x D (--pool per-token)
Both read hdf5, npy and pt outputs and the rank parts of a torchrun run;
rnalm.embedding.open_embeddings("OUTPUT") gives every stored array and attribute. Without a file:
rnalm.embed(sequences_or_dataframe, layer=-1, pool="mean") returns the same vectors as an array.

Long sequences (--long): 'window' (default) embeds sequences longer than the model's maximum in
windows of the maximum length, overlapping by --window-overlap tokens (default a quarter of the
window), and averages each token's vectors over the windows covering it. Mean pooling is then the
mean of those per-token rows, cls the mean of the windows' <cls> vectors, and contacts are averaged
where windows overlap (NaN for pairs no window covers); --attentions refuses windowed records.
'truncate' keeps the first maximum-length tokens (attribute truncated=true); 'error' stops.

--output-format: hdf5 (default; one group per id, datasets layer_<L>/<pool>, contacts,
attentions), npy (RNA-FM's layout: representations/<id>.npy ...), pt (fair-esm's extract layout:
<id>.pt); an id becomes a file name with '/' written %2F, as in fold's files. Each record is
committed atomically; --resume finishes an interrupted run, even after kill -9, with output
identical to an uninterrupted run (same batches are recomputed). HDF5 itself gives no guarantee
for a kill during one of its writes: such a file, if unreadable, is started over by --resume.
An existing OUTPUT needs --resume or --overwrite; --overwrite replaces only rnalm embedding output
(never a folder of other files, nor one holding the input) and writes the new output beside it
until it is complete, so an interrupted --overwrite leaves the old output as it was. One process
writes an OUTPUT at a time (a lock file .OUTPUT.rnalm-lock beside it); a second one stops at once.

Precision: --dtype auto (default) computes in bfloat16 where the device does it natively (CPUs
with AMX or AVX512-BF16, CUDA GPUs with bf16) and in float32 elsewhere; float32 is always
available; float16 runs on a GPU only. bfloat16 is autocast: matrix products in bf16, layer norms
and the residual stream in float32 (per-token cosine similarity to float32 above 0.9999 in
BENCHMARKS.md). The choice and its reason are printed in the closing line and stored in the output
(dtype, dtype_mode, dtype_reason); --resume with auto continues in the interrupted run's type.
Outputs are stored as float32.

Several GPUs or nodes: `torchrun --nproc_per_node N -m rnalm embed ...` makes rank r embed every
N-th record into OUTPUT.rank<r>-of-<N>; add --merge to combine them at the end, or run
`rnalm embed-merge OUTPUT` later. read_matrix(OUTPUT) reads the parts or the merged output.

Progress: a bar on a terminal (or a notebook widget), none in pipes unless --progress, none under
-q; then the closing line "N records in T s (R records/s) -> OUTPUT; bfloat16 autocast (auto: CPU
has amx_bf16)" (the type computed in, and why) on standard error.
"""


# Longer than 80 lines: one add_argument per flag of `rnalm embed`, kept together as its option list.
def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "embed",
        help="embed sequences from FASTA/CSV into HDF5, .npy or .pt files",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--model",
        default=None,
        metavar="NAME_OR_PATH",
        help="shipped or registered model name, or checkpoint path (default: the backbone shipped with "
        "rnalm, utrlm-mini; see `rnalm models`)",
    )
    add_input(p)
    add_output(p, "HDF5 file, or directory for --output-format npy/pt")
    p.add_argument(
        "--output-format",
        choices=STORAGES,
        default="hdf5",
        help="hdf5 (default; one file), npy (RNA-FM's layout) or pt (fair-esm's extract layout)",
    )
    p.add_argument(
        "--layers",
        nargs="+",
        default=None,
        metavar="L",
        help="layers to save: 0 = embeddings, negatives count from the end, 'all' (default: last)",
    )
    p.add_argument(
        "--pool",
        nargs="+",
        default=["mean"],
        metavar="POOL",
        help="any of per-token, mean, cls (default: mean; per-token stores L x D floats per record)",
    )
    p.add_argument("--contacts", action="store_true", help="also save contact maps (n_rows x n_rows)")
    p.add_argument(
        "--attentions", action="store_true", help="also save attention maps (layers x heads x n_rows x n_rows; large)"
    )
    p.add_argument(
        "--long",
        choices=("error", "truncate", "window"),
        default="window",
        help="sequences longer than the model's maximum (default: window, see above)",
    )
    p.add_argument(
        "--window-overlap",
        type=int,
        default=None,
        metavar="TOKENS",
        help="overlap of consecutive windows (default: a quarter of the window)",
    )
    p.add_argument(
        "--tokens-per-batch",
        type=int,
        default=None,
        metavar="N",
        help="padded tokens per batch (default: 8192 on CPU, 65536 on GPU; on --resume, the interrupted run's)",
    )
    p.add_argument(
        "--lookahead",
        type=int,
        default=None,
        metavar="RECORDS",
        help="records read ahead and sorted by length for batching; bounds memory (default: 4096)",
    )
    add_device(p)
    add_dtype(p, "float16 on GPU only", (*WITH_FLOAT16, *ALIASES))
    p.add_argument("--threads", type=int, default=None, help="CPU threads for the model (default: torch's)")
    add_overwrite(p, resume=True)
    p.add_argument("--merge", action="store_true", help="under torchrun, merge the rank parts at the end")
    add_quiet(p)
    p.set_defaults(func=run)

    m = sub.add_parser(
        "embed-merge",
        help="merge the per-rank parts of a torchrun `rnalm embed` run",
        description="Combines OUTPUT.rank<r>-of-<N> (all N, each finished) into OUTPUT, in input "
        "order, atomically; the parts are removed afterwards unless --keep-parts.",
    )
    m.add_argument("output", help="the OUTPUT given to `rnalm embed`")
    m.add_argument("--keep-parts", action="store_true", help="keep the part files after merging")
    m.add_argument("-q", "--quiet", action="store_true", help="no closing line")
    m.set_defaults(func=run_merge)


def run(args: argparse.Namespace) -> int:
    opts = EmbedOptions(
        layers=args.layers,
        pools=args.pool,
        output_format=args.output_format,
        contacts=args.contacts,
        attentions=args.attentions,
        long=args.long,
        window_overlap=args.window_overlap,
        tokens_per_batch=args.tokens_per_batch,
        lookahead=args.lookahead,
        device=args.device,
        dtype=args.dtype,
        threads=args.threads,
        resume=args.resume,
        overwrite=args.overwrite,
        unknown=args.unknown,
        input_format=args.input_format,
        id_column=args.id_column,
        seq_column=args.seq_column,
        progress=progress_choice(args),
        merge=args.merge,
    )
    model = args.model
    if model is None:
        model, name = default_model()
        if not args.quiet:
            print(f"rnalm embed: model {name} (shipped with rnalm)", file=sys.stderr)
    summary = embed_file(model, args.input, args.output, opts)
    if not args.quiet:
        print(f"rnalm embed: {summary.line()}", file=sys.stderr)
    return 0


def run_merge(args: argparse.Namespace) -> int:
    res = merge_parts(args.output, keep_parts=args.keep_parts)
    if not args.quiet:
        print(f"rnalm embed-merge: {res.parts} parts, {res.records} records -> {res.output}", file=sys.stderr)
    return 0
