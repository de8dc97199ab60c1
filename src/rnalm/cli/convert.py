"""``rnalm convert SRC DST``: any supported checkpoint to rnalm's native format."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="convert a published checkpoint to rnalm's native format",
                       description="Detects SRC's format from its content, loads it strictly and writes "
                                   "DST as a directory with config.json and model.safetensors.")
    p.add_argument("src", help="checkpoint file or directory (RNA-FM, mRNA-FM, UTR-LM, LAMAR, ESM-2, ProtRNA, rnalm)")
    p.add_argument("dst", help="output directory")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rnalm.api import build_from_converted
    from rnalm.io.formats import convert_checkpoint
    from rnalm.io.native import save_native

    fmt, conv = convert_checkpoint(args.src)
    model = build_from_converted(conv)
    prov = {**conv.provenance, "converted_from": str(Path(args.src)), "source_format": fmt.name}
    out = save_native(model, conv.alphabet, args.dst, provenance=prov)
    n = sum(p.numel() for p in model.parameters())
    print(f"{args.src} ({fmt.name}) -> {out}: {model.config.num_layers} layers, "
          f"{model.config.embed_dim} wide, {n / 1e6:.2f}M parameters, alphabet {conv.alphabet.name}")
    return 0
