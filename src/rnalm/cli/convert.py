"""``rnalm convert SRC DST``: any supported checkpoint to rnalm's native format."""

from __future__ import annotations

import argparse
from pathlib import Path

from rnalm.io.native import NATIVE_CHECKPOINT, save_native
from rnalm.io.output_guard import claim_output, output_lock
from rnalm.models import convert_checkpoint
from rnalm.models.build import build_from_converted


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "convert",
        help="convert a published checkpoint to rnalm's native format",
        description="Detects SRC's format from its content, loads it strictly and writes "
        "DST as a directory with config.json and model.safetensors (built aside and "
        "moved into place; modes as the umask allows, 0644/0755 under umask 022). "
        "An existing DST is an error unless --overwrite, which "
        "replaces only an rnalm native checkpoint.",
    )
    p.add_argument("src", help="checkpoint file or directory (RNA-FM, mRNA-FM, UTR-LM, LAMAR, ESM-2, ProtRNA, rnalm)")
    p.add_argument("dst", help="output directory (must not exist, or be empty, unless --overwrite)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing DST, only if it is an rnalm native checkpoint (never SRC itself)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    dst = Path(args.dst)
    claim_output(dst, NATIVE_CHECKPOINT, args.overwrite, inputs=[args.src])
    fmt, conv = convert_checkpoint(args.src)
    model = build_from_converted(conv)
    prov = {**conv.provenance, "converted_from": str(Path(args.src)), "source_format": fmt.name}
    dst.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(dst):
        claim_output(dst, NATIVE_CHECKPOINT, args.overwrite, inputs=[args.src])
        out = save_native(model, conv.alphabet, dst, provenance=prov)
    if args.quiet:
        return 0
    n = sum(p.numel() for p in model.parameters())
    print(
        f"{args.src} ({fmt.name}) -> {out}: {model.config.num_layers} layers, "
        f"{model.config.embed_dim} wide, {n / 1e6:.2f}M parameters, alphabet {conv.alphabet.name}"
    )
    return 0
