"""``rnalm demo``: the main job on a small FASTA, ending in one HTML report.

For every record: the sequence as each model family reads it (the visible normalisation), its
ViennaRNA MFE structure with an arc diagram, and -- when a language model is given with
``--model`` (any checkpoint ``rnalm.load`` reads) -- mean-pooled embeddings, the model's MFE head
prediction when it has one, and a cosine-similarity table between records. Everything is written
under ``--output``: ``report.html``, ``predictions.tsv``, ``structures/`` and ``embeddings.npy``.
"""
from __future__ import annotations

import argparse
import html
import sys
from pathlib import Path

DEFAULT_INPUT = "examples/example.fasta"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the main job on a small FASTA and write an HTML report",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", default=DEFAULT_INPUT, help=f"FASTA or CSV (default {DEFAULT_INPUT})")
    p.add_argument("--output", default="demo_out", help="output directory (default demo_out)")
    p.add_argument("--model", default=None, help="optional language model (path or registered name)")
    p.set_defaults(func=run)


def _normalised_views(seq: str, rid: str) -> dict[str, str]:
    from rnalm.errors import InvalidSequenceError
    from rnalm.models import alphabets

    views = {}
    for name in ("rna-fm", "utr-lm", "protrna"):
        a = alphabets()[name]
        try:
            views[name] = a.normalize(seq, rid)
        except InvalidSequenceError as exc:
            views[name] = f"error: {exc}"
    return views


def _embed(model_ref: str, records: list) -> tuple[dict, "object"]:
    import numpy as np
    import torch

    import rnalm

    model, alphabet = rnalm.load(model_ref)
    conv = alphabet.get_batch_converter(unknown="mask")
    pooled, mfe = [], []
    with torch.inference_mode():
        for r in records:
            _, _, tokens = conv([(r.id, r.seq)])
            out = model(tokens, repr_layers=[model.num_layers])
            rep = out["representations"][model.num_layers][0]
            keep = ~torch.isin(tokens[0], torch.tensor(alphabet.special_indices))
            pooled.append(rep[keep].mean(0).numpy())
            mfe.append(float(out["mfe"][0]) * getattr(model, "mfe_scale", 1.0) if "mfe" in out else None)
    emb = np.stack(pooled)
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    info = {"model": model_ref, "layers": model.num_layers, "dim": model.embed_dim, "mfe_head": mfe}
    return info, (emb, unit @ unit.T)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from rnalm.io.seqio import iter_records
    from rnalm.structure.atomic import atomic_write_text
    from rnalm.structure.predict import fold_records, vienna_predictor

    out = Path(args.output)
    records = list(iter_records(args.input))
    print(f"rnalm demo: {len(records)} records from {args.input}", file=sys.stderr)
    rows = fold_records([(r.id, r.seq) for r in records], vienna_predictor(bpp=True), out / "structures",
                        plots=True)
    by_id = {row["id"]: row for row in rows}
    dbn = {r.id: (out / "structures" / f"{by_id[r.id]['file']}.dbn").read_text().splitlines()[-1].split()[0]
           for r in records}
    emb_info, sims = None, None
    if args.model:
        emb_info, (emb, sims) = _embed(args.model, records)
        np.save(out / "embeddings.npy", emb)

    cols = ["id", "type", "length", "mfe_kcal_mol", "pairs", "dot_bracket"]
    if emb_info and any(v is not None for v in emb_info["mfe_head"]):
        cols.append("model_mfe_head")
    lines = ["\t".join(cols)]
    for i, r in enumerate(records):
        row = by_id[r.id]
        vals = [r.id, _type_of(r.description), str(row["length"]), row["energy"], str(row["pairs"]), dbn[r.id]]
        if "model_mfe_head" in cols:
            vals.append(f"{emb_info['mfe_head'][i]:.2f}")
        lines.append("\t".join(vals))
    atomic_write_text(out / "predictions.tsv", "\n".join(lines) + "\n")
    atomic_write_text(out / "report.html", _report(records, by_id, dbn, emb_info, sims))
    print(f"rnalm demo: wrote {out / 'report.html'}, {out / 'predictions.tsv'} and {out / 'structures'}/",
          file=sys.stderr)
    return 0


def _type_of(description: str) -> str:
    for word in description.split():
        if word.startswith("type="):
            return word[5:]
    return ""


def _report(records, by_id, dbn, emb_info, sims) -> str:
    e = html.escape
    parts = ["<!doctype html><meta charset='utf-8'><title>rnalm demo</title>",
             "<style>body{font-family:sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:4px;"
             "vertical-align:top}table{border-collapse:collapse}code{font-size:11px;word-break:break-all}"
             "img{max-width:420px}</style>",
             "<h1>rnalm demo report</h1>",
             f"<p>{len(records)} records. Structures: ViennaRNA MFE (RNAfold defaults). "
             + (f"Language model: <code>{e(str(emb_info['model']))}</code>, {emb_info['layers']} layers, "
                f"{emb_info['dim']} wide, mean-pooled last layer." if emb_info else
                "No language model given (<code>--model</code>): embeddings skipped.") + "</p>",
             "<table><tr><th>id</th><th>type</th><th>nt</th><th>MFE (kcal/mol)</th><th>sequence / structure</th>"
             "<th>as read by RNA-FM / UTR-LM / ProtRNA</th><th>arc diagram</th></tr>"]
    for r in records:
        row = by_id[r.id]
        views = _normalised_views(r.seq, r.id)
        view_html = "<br>".join(f"{e(k)}: <code>{e(v[:60])}{'…' if len(v) > 60 else ''}</code>"
                                for k, v in views.items())
        parts.append(
            f"<tr><td>{e(r.id)}</td><td>{e(_type_of(r.description))}</td><td>{row['length']}</td>"
            f"<td>{e(row['energy'])}</td><td><code>{e(r.seq)}<br>{e(dbn[r.id])}</code></td><td>{view_html}</td>"
            f"<td><img src='structures/{e(row['file'])}.arc.png' alt='arc diagram'></td></tr>")
    parts.append("</table>")
    if sims is not None:
        parts.append("<h2>Cosine similarity of mean embeddings</h2><table><tr><th></th>"
                     + "".join(f"<th>{i + 1}</th>" for i in range(len(records))) + "</tr>")
        for i, r in enumerate(records):
            parts.append(f"<tr><th>{i + 1} {e(r.id)}</th>" + "".join(f"<td>{v:.2f}</td>" for v in sims[i]) + "</tr>")
        parts.append("</table>")
    return "\n".join(parts) + "\n"
