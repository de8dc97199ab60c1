"""``rnalm demo``: the main job on a small FASTA with the models shipped inside rnalm, ending in one HTML report.

For every record: predictions of every shipped task model (5' UTR translation efficiency, 3' UTR
half-life, IRES probability, ncRNA family; the one that fits the record's ``type=`` is
highlighted), its secondary structure from the shipped structure model and from ViennaRNA (when
installed), side by side as dot-bracket and arc diagram, the sequence as each model family reads it,
and mean-pooled embeddings of the shipped backbone (or ``--model``) with a cosine-similarity table.

A shipped model that is not installed is reported as such (the report and the terminal say which)
and its column stays empty; nothing needs the network. Everything goes under ``--output``:
``report.html`` (self-contained, relative links), ``predictions.tsv``, ``structures/<method>/``
(``.dbn``, ``.ct``, ``.bpseq``, ``.npy``, ``.arc.png``, ``.dotplot.png``), ``cards/`` (the model
cards of the shipped models used) and ``embeddings.npy``.
"""
from __future__ import annotations

import argparse
import html
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

DEFAULT_INPUT = "examples/example.fasta"
#: (alias, column header, what the cell shows)
TASK_COLUMNS = (("te", "TE (log)", "5' UTR"), ("halflife", "half-life", "3' UTR"), ("ires", "IRES prob.", "IRES"),
                ("family", "ncRNA family", "ncRNA"))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the shipped models on a small FASTA and write an HTML report",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", default=DEFAULT_INPUT, help=f"FASTA or CSV (default {DEFAULT_INPUT})")
    p.add_argument("--output", default="demo_out", help="output directory (default demo_out)")
    p.add_argument("--model", default=None,
                   help="language model for the embeddings (path or name; default: the shipped backbone)")
    p.add_argument("--no-vienna", action="store_true", help="skip the ViennaRNA structures")
    p.set_defaults(func=run)


def _say(msg: str) -> None:
    print(f"rnalm demo: {msg}", file=sys.stderr, flush=True)


def _short(msg: str, limit: int = 300) -> str:
    """First line of an error, at most ``limit`` characters (state-dict errors run to pages)."""
    line = str(msg).strip().splitlines()[0] if str(msg).strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _type_of(description: str) -> str:
    for word in description.split():
        if word.startswith("type="):
            return word[5:]
    return ""


def relevant_task(rtype: str) -> Optional[str]:
    """The task that fits a record's ``type=``: 5UTR -> te, 3UTR -> halflife, IRES -> ires, other RNA -> family."""
    t = rtype.lower().replace("'", "").replace("_", "").replace("-", "")
    if not t:
        return None
    if t in ("5utr", "utr5"):
        return "te"
    if t in ("3utr", "utr3"):
        return "halflife"
    if t == "ires":
        return "ires"
    return "family"


@dataclass
class TaskResult:
    alias: str
    entry: Any = None  # rnalm.shipped.Entry
    missing: str = ""
    values: dict = field(default_factory=dict)  # id -> display text
    raw: dict = field(default_factory=dict)  # id -> dict of numbers / labels
    errors: dict = field(default_factory=dict)  # id -> message


@dataclass
class StructureResult:
    key: str
    label: str
    folder: Path
    entry: Any = None
    missing: str = ""
    rows: dict = field(default_factory=dict)  # id -> fold_records row
    dbn: dict = field(default_factory=dict)  # id -> dot-bracket
    plots: bool = False
    error: str = ""


# ------------------------------------------------------------------------------------ predictions
def _predict_task(alias: str, records: list) -> TaskResult:
    from rnalm import shipped
    from rnalm.errors import RnalmError
    from rnalm.runs.predict import Predictor
    from rnalm.runs.table import Records

    res = TaskResult(alias)
    try:
        res.entry = shipped.task_entry(alias)
    except shipped.ShippedModelError:
        res.missing = f"no shipped task model '{alias}' in this installation"
        return res
    e = res.entry
    try:
        e.verify(e.weight_files())
        backbone = str(shipped.backbone_path(e.backbone)) if e.backbone else None
        pred = Predictor(e.path, backbone, log=lambda _m: None, device="cpu")
    except RnalmError as exc:
        res.entry, res.missing = None, f"shipped model {e.name} cannot be loaded: {_short(exc)}"
        return res
    ok, seqs = [], []
    for r in records:  # one bad record (a letter the model's alphabet lacks) must not sink the others
        recs = Records()
        recs.append(r.id, r.seq, None, f"record {r.id}")
        try:
            seqs.append(pred.prepare(recs)[0])
            ok.append(r)
        except RnalmError as exc:
            res.errors[r.id] = _short(exc)
    if not ok:
        return res
    cols = pred.predict(seqs)
    for i, r in enumerate(ok):
        row = {k: v[i] for k, v in cols.items()}
        res.raw[r.id] = row
        p = row["prediction"]
        probs = {k[5:]: float(v) for k, v in row.items() if k.startswith("prob_")}
        if alias == "ires" and probs:
            positive = "1" if "1" in probs else sorted(probs)[-1]
            res.values[r.id] = f"{probs[positive]:.2f}"
        elif probs:
            res.values[r.id] = f"{p} ({probs[str(p)]:.2f})"
        else:
            res.values[r.id] = f"{float(p):.3f}"
    return res


# ------------------------------------------------------------------------------------ structures
def _fold(res: StructureResult, predictor, records: list, batch_size: int) -> None:
    from rnalm.errors import RnalmError
    from rnalm.structure.predict import fold_records

    try:
        rows = fold_records([(r.id, r.seq) for r in records], predictor, res.folder, batch_size=batch_size,
                            plots=res.plots)
    except RnalmError as exc:
        if res.plots and "matplotlib" in str(exc):
            res.plots = False
            rows = fold_records([(r.id, r.seq) for r in records], predictor, res.folder, batch_size=batch_size)
        else:
            res.error = _short(exc)
            return
    for row in rows:
        res.rows[row["id"]] = row
        res.dbn[row["id"]] = (res.folder / f"{row['file']}.dbn").read_text().splitlines()[-1].split()[0]


def _structures(records: list, out: Path, vienna: bool, plots: bool) -> list[StructureResult]:
    from rnalm import shipped
    from rnalm.errors import RnalmError
    from rnalm.runs.structure_model import load_run_model
    from rnalm.structure.predict import PostprocessOptions, model_predictor, vienna_predictor

    results = []
    entry = shipped.structure_entry()
    if entry is None:
        results.append(StructureResult("rnalm", "shipped structure model", out / "structures" / "rnalm",
                                       missing="no shipped structure model (fold) in this installation"))
    else:
        res = StructureResult("rnalm", entry.name, out / "structures" / entry.name, entry=entry, plots=plots)
        try:
            entry.verify(entry.weight_files())
            predictor = model_predictor(load_run_model(shipped.run_view(entry)), PostprocessOptions(**entry.postprocess))
        except RnalmError as exc:
            res.entry, res.missing = None, f"shipped model {entry.name} cannot be loaded: {_short(exc)}"
        else:
            _fold(res, predictor, records, 8)
        results.append(res)
    if vienna:
        res = StructureResult("vienna", "ViennaRNA (MFE)", out / "structures" / "vienna", plots=plots)
        try:
            predictor = vienna_predictor(bpp=True)
        except RnalmError as exc:
            res.missing = f"ViennaRNA is not installed ({_short(exc)})"
        else:
            _fold(res, predictor, records, 1)
        results.append(res)
    return results


# ------------------------------------------------------------------------------------ embeddings
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
    limit = alphabet.max_length * alphabet.k_mer if alphabet.max_length else None
    pooled, mfe, truncated = [], [], []
    with torch.inference_mode():
        for r in records:
            seq = "".join(r.seq.split())
            if limit is not None and len(seq) > limit:  # the first `limit` nt: a demo, not a measurement
                seq = seq[:limit]
                truncated.append(r.id)
            _, _, tokens = conv([(r.id, seq)])
            out = model(tokens, repr_layers=[model.num_layers])
            rep = out["representations"][model.num_layers][0]
            keep = ~torch.isin(tokens[0], torch.tensor(alphabet.special_indices))
            pooled.append(rep[keep].mean(0).numpy())
            mfe.append(float(out["mfe"][0]) * getattr(model, "mfe_scale", 1.0) if "mfe" in out else None)
    emb = np.stack(pooled)
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    info = {"model": model_ref, "layers": model.num_layers, "dim": model.embed_dim, "mfe_head": mfe,
            "truncated": truncated, "limit": limit}
    return info, (emb, unit @ unit.T)


# ------------------------------------------------------------------------------------ main
def run(args: argparse.Namespace) -> int:
    import numpy as np

    from rnalm import shipped
    from rnalm.errors import RnalmError
    from rnalm.io.seqio import iter_records, unique_ids
    from rnalm.structure.atomic import atomic_write_text

    t0 = time.time()
    out = Path(args.output)
    records = list(unique_ids(iter_records(args.input), args.input))
    _say(f"{len(records)} records from {args.input}")
    if not shipped.entries():
        _say(f"no models are shipped with this installation ({shipped.root() / shipped.MANIFEST} is empty): "
             f"task predictions and the learned structures are skipped")

    tasks = [_predict_task(alias, records) for alias, _, _ in TASK_COLUMNS]
    for t in tasks:
        _say(f"{t.alias}: {t.entry.name} ({len(t.values)} predictions)" if t.entry else f"{t.alias}: {t.missing}")
    plots = True
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        plots = False
        _say("matplotlib is not installed: no arc diagrams (pip install matplotlib)")
    structures = _structures(records, out, vienna=not args.no_vienna, plots=plots)
    for s in structures:
        _say(f"structures ({s.key}): {s.label}, {len(s.rows)} folded" if not s.missing else f"structures: {s.missing}")

    emb_info, sims, emb_error = None, None, ""
    model_ref = args.model
    if model_ref is None:
        bb = shipped.default_backbone()
        model_ref = shipped.ref(bb.name) if bb is not None else None
    if model_ref:
        try:
            emb_info, (emb, sims) = _embed(model_ref, records)
            out.mkdir(parents=True, exist_ok=True)
            np.save(out / "embeddings.npy", emb)
        except RnalmError as exc:
            if args.model:
                raise
            emb_error = _short(exc)
            _say(f"embeddings skipped: {emb_error}")

    cards = _copy_cards([t.entry for t in tasks] + [s.entry for s in structures], out)
    _write_tsv(out / "predictions.tsv", records, tasks, structures, atomic_write_text)
    atomic_write_text(out / "report.html", _report(args.input, records, tasks, structures, emb_info, sims, cards,
                                                     emb_error))
    _say(f"wrote {out / 'report.html'}, {out / 'predictions.tsv'} and {out / 'structures'}/ in {time.time() - t0:.1f}s")
    return 0


def _copy_cards(entries: list, out: Path) -> dict:
    from rnalm import shipped

    cards = {}
    used = [e for e in entries if e is not None]
    for e in list(used):
        if e.backbone:
            bb = shipped.find(e.backbone, "backbone")
            if bb is not None and bb not in used:
                used.append(bb)
    for e in used:
        if e.card.is_file():
            (out / "cards").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(e.card, out / "cards" / f"{e.name}.md")
            cards[e.name] = f"cards/{e.name}.md"
    return cards


def _write_tsv(path: Path, records: list, tasks: list, structures: list, write) -> None:
    cols = ["id", "type", "length", "relevant_task"]
    for t in tasks:
        cols += [t.alias] if t.alias != "family" else ["family", "family_prob"]
    for s in structures:
        cols += [f"{s.key}_pairs", f"{s.key}_dot_bracket"] + (["vienna_mfe_kcal_mol"] if s.key == "vienna" else [])
    lines = ["\t".join(cols)]
    for r in records:
        rtype = _type_of(r.description)
        vals = [r.id, rtype, str(len(r.seq)), relevant_task(rtype) or ""]
        for t in tasks:
            raw = t.raw.get(r.id)
            if t.alias == "family":
                if raw:
                    p = str(raw["prediction"])
                    vals += [p, f"{float(raw.get('prob_' + p, float('nan'))):.4f}"]
                else:
                    vals += ["", ""]
            elif t.alias == "ires":
                vals.append(t.values.get(r.id, ""))
            else:
                vals.append(f"{float(raw['prediction']):.4f}" if raw else "")
        for s in structures:
            row = s.rows.get(r.id)
            vals += [str(row["pairs"]) if row else "", s.dbn.get(r.id, "")]
            if s.key == "vienna":
                vals.append(row["energy"] if row else "")
        lines.append("\t".join(vals))
    write(path, "\n".join(lines) + "\n")


# ------------------------------------------------------------------------------------ report
_CSS = ("body{font-family:sans-serif;margin:2em;max-width:1500px}td,th{border:1px solid #ccc;padding:4px;"
        "vertical-align:top}table{border-collapse:collapse;margin-bottom:1.5em}code{font-size:11px;"
        "word-break:break-all}img{max-width:460px}.hl{background:#fff3bf;font-weight:bold}.na{color:#999}"
        ".warn{background:#fdecea;padding:6px 10px;border-left:4px solid #d62728}small{color:#555}")


def _report(input_path, records, tasks, structures, emb_info, sims, cards, emb_error: str = "") -> str:
    from rnalm import __version__, shipped

    e = html.escape
    missing = [t.missing for t in tasks if t.missing] + [s.missing for s in structures if s.missing and s.key == "rnalm"]
    parts = [f"<!doctype html><meta charset='utf-8'><title>rnalm demo</title><style>{_CSS}</style>",
             "<h1>rnalm demo report</h1>",
             f"<p>{len(records)} records from <code>{e(str(input_path))}</code>; rnalm {e(__version__)}; all models "
             f"shipped inside the package (no download). Shipped models: <code>{e(str(shipped.root()))}</code>.</p>"]
    if missing:
        parts.append("<p class='warn'>Not available in this installation: " + "; ".join(e(m) for m in missing)
                     + ". Their columns are empty; see <code>rnalm models</code>.</p>")

    # models
    parts.append("<h2>Models</h2><table><tr><th>used for</th><th>model</th><th>validation metric (model card)</th>"
                 "<th>check subset</th><th>licence (weights / data)</th><th>card</th></tr>")
    rows = [(f"{label} ({t.alias})", t.entry, t.missing) for t, (_, label, _) in zip(tasks, TASK_COLUMNS)]
    rows += [(f"structure: {s.label}" if s.key != "rnalm" else "structure (fold)", s.entry, s.missing)
             for s in structures if s.key == "rnalm"]
    if emb_info and not shipped.is_ref(str(emb_info["model"])):
        rows.append(("embeddings", None, ""))
    else:  # the shipped backbone: embeddings, and the features the task models read
        ref = str(emb_info["model"]) if emb_info else None
        bb = shipped.find(ref, "backbone") if ref else shipped.default_backbone()
        rows.append(("backbone" + (" (embeddings)" if emb_info else ""), bb,
                     "" if bb else "no shipped backbone in this installation"))
    for used_for, entry, why in rows:
        if entry is None:
            name = e(str(emb_info["model"])) if used_for == "embeddings" and emb_info else "-"
            why = why or ("--model (not a shipped model)" if used_for == "embeddings" else "")
            parts.append(f"<tr><td>{e(used_for)}</td><td>{name}</td><td class='na' colspan='4'>{e(why) or '-'}</td></tr>")
            continue
        chk = entry.check
        check = f"{chk.get('metric')} {chk['value']:.3f} (n={chk.get('n')})" if chk.get("value") is not None else "-"
        card = f"<a href='{e(cards[entry.name])}'>card.md</a>" if entry.name in cards else "-"
        backbone = f"<br><small>backbone {e(entry.backbone)}</small>" if entry.backbone else ""
        parts.append(f"<tr><td>{e(used_for)}</td><td><b>{e(entry.name)}</b>{backbone}</td><td>{e(entry.metric_text())}</td>"
                     f"<td>{e(check)}</td><td>{e(entry.licence)} / {e(entry.data_licence)}</td><td>{card}</td></tr>")
    parts.append("</table>")

    # predictions
    parts.append("<h2>Predictions</h2><p><small>Every shipped task model on every record; the highlighted cell is "
                 "the task that fits the record's type (5' UTR: translation efficiency, 3' UTR: half-life, IRES: "
                 "IRES probability, other RNAs: ncRNA family). A model only means something on the kind of "
                 "sequence it was trained on.</small></p>")
    parts.append("<table><tr><th>id</th><th>type</th><th>nt</th>"
                 + "".join(f"<th>{e(label)}<br><small>{e(t.entry.name) if t.entry else 'not installed'}</small></th>"
                           for t, (_, label, _) in zip(tasks, TASK_COLUMNS)) + "</tr>")
    for r in records:
        rtype = _type_of(r.description)
        rel = relevant_task(rtype)
        cells = []
        for t in tasks:
            if t.entry is None:
                cells.append("<td class='na'>-</td>")
            elif r.id in t.errors:
                cells.append(f"<td class='na' title='{e(t.errors[r.id])}'>invalid input</td>")
            else:
                cls = " class='hl'" if t.alias == rel else ""
                cells.append(f"<td{cls}>{e(t.values.get(r.id, '-'))}</td>")
        parts.append(f"<tr><td>{e(r.id)}</td><td>{e(rtype)}</td><td>{len(r.seq)}</td>{''.join(cells)}</tr>")
    parts.append("</table>")

    # structures
    shown = [s for s in structures if not s.missing and not s.error]
    parts.append("<h2>Secondary structures</h2>")
    for s in structures:
        if s.missing or s.error:
            parts.append(f"<p class='warn'>{e(s.label)}: {e(s.missing or s.error)}</p>")
    if shown:
        parts.append("<p><small>Dot-bracket (pseudoknots in [] and {}) and arc diagrams; files per record "
                     "(.dbn, .ct, .bpseq, pair probabilities .npy, dot plot) under <code>structures/</code>.</small></p>")
        parts.append("<table><tr><th>id</th><th>sequence / structures</th>"
                     + "".join(f"<th>{e(s.label)}</th>" for s in shown) + "</tr>")
        for r in records:
            text = [f"{e(r.seq)}"]
            for s in shown:
                row = s.rows.get(r.id)
                extra = f" ({row['energy']} kcal/mol)" if row and row.get("energy") else ""
                text.append(f"{e(s.dbn.get(r.id, ''))} <small>{e(s.key)}{e(extra)}</small>")
            imgs = []
            for s in shown:
                row = s.rows.get(r.id)
                if row is None:
                    imgs.append("<td class='na'>-</td>")
                    continue
                rel = f"structures/{s.folder.name}/{row['file']}"
                pic = (f"<img src='{e(rel)}.arc.png' alt='arc diagram {e(r.id)} {e(s.key)}'><br>"
                       f"<a href='{e(rel)}.dotplot.png'>dot plot</a> · " if s.plots else "")
                imgs.append(f"<td>{pic}<a href='{e(rel)}.dbn'>.dbn</a> · {row['pairs']} pairs</td>")
            parts.append(f"<tr><td>{e(r.id)}<br><small>{len(r.seq)} nt</small></td>"
                         f"<td><code>{'<br>'.join(text)}</code></td>{''.join(imgs)}</tr>")
        parts.append("</table>")

    # sequences as read
    parts.append("<h2>Sequences as each model family reads them</h2><table><tr><th>id</th>"
                 "<th>RNA-FM / UTR-LM / ProtRNA</th></tr>")
    for r in records:
        views = _normalised_views(r.seq, r.id)
        parts.append(f"<tr><td>{e(r.id)}</td><td>" + "<br>".join(
            f"{e(k)}: <code>{e(v[:60])}{'…' if len(v) > 60 else ''}</code>" for k, v in views.items()) + "</td></tr>")
    parts.append("</table>")

    # embeddings
    if sims is not None:
        parts.append(f"<h2>Cosine similarity of mean embeddings</h2><p>Model <code>{e(str(emb_info['model']))}</code>, "
                     f"{emb_info['layers']} layers, {emb_info['dim']} wide, mean-pooled last layer "
                     f"(<code>embeddings.npy</code>, rows in input order)"
                     + (f"; the first {emb_info['limit']} nt of {', '.join(e(x) for x in emb_info['truncated'])} "
                        f"(longer than the model takes)" if emb_info.get("truncated") else "")
                     + ".</p><table><tr><th></th>"
                     + "".join(f"<th>{i + 1}</th>" for i in range(len(records))) + "</tr>")
        for i, r in enumerate(records):
            parts.append(f"<tr><th>{i + 1} {e(r.id)}</th>" + "".join(f"<td>{v:.2f}</td>" for v in sims[i]) + "</tr>")
        parts.append("</table>")
    elif emb_error:
        parts.append(f"<p class='warn'>Embeddings skipped: {e(emb_error)}</p>")
    else:
        parts.append("<p>No language model (no shipped backbone, no <code>--model</code>): embeddings skipped.</p>")
    return "\n".join(parts) + "\n"
