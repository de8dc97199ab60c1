"""Packing a structure run (``task: structure``), checked on a subset of its validation structures
with the post-processing ``rnalm fold`` will apply."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from rnalm.packaging.card import run_sections
from rnalm.packaging.check import structure_metrics
from rnalm.packaging.checkset import check_rows_table, label_to_dot_bracket, sample, valid_records
from rnalm.packaging.files import read_json
from rnalm.packaging.options import Options, Packed
from rnalm.packaging.runcopy import copy_run, verify_backbone
from rnalm.shipped import ShippedModelError
from rnalm.structure.formats import read_structures
from rnalm.structure.predict import PostprocessOptions


def _postprocess(info: dict, metrics: dict, opts: Options) -> dict:
    """Post-processing options: defaults, then what the run recorded, then ``--threshold``; validated."""
    pp = dict(PostprocessOptions().__dict__)
    for src in (metrics.get("postprocess"), info.get("postprocess")):
        if isinstance(src, dict):
            pp.update({k: v for k, v in src.items() if k in pp})
    if opts.threshold is not None:
        pp["threshold"] = opts.threshold
    PostprocessOptions(**pp)  # validate
    return pp


def _pool(source: Path, opts: Options) -> tuple[list[dict], str]:
    """Rows (id, sequence, structure) the check subset is drawn from, and where they come from."""
    if opts.check_data:
        p = Path(opts.check_data)
        if p.suffix.lower() in (".csv", ".tsv"):
            pool = check_rows_table(p, ["id", "sequence", "structure"])
        else:
            pool = [{"id": s.id, "sequence": s.sequence, "structure": s.dot_bracket()} for s in read_structures(p)]
        return pool, str(p)
    try:
        recs, _, where = valid_records(source)
    except ShippedModelError:
        raise
    except Exception as exc:
        raise ShippedModelError(
            f"cannot re-read the structure run's validation data ({exc}); pass "
            f"--check-data FILE (id,sequence,structure CSV or ct/bpseq/dbn)"
        ) from None
    pool = [
        {
            "id": recs.ids[i],
            "sequence": recs.seqs[i],
            "structure": label_to_dot_bracket(recs.labels[i], recs.seqs[i], recs.ids[i]),
        }
        for i in range(len(recs))
    ]
    return pool, where


def pack_structure(source: Path, dest: Path, info: dict, opts: Options, log: Callable[[str], None]) -> Packed:
    metrics = read_json(source / "metrics.json") if (source / "metrics.json").is_file() else {}
    bb = verify_backbone(info, opts)
    backbone = bb[0] if bb else None
    copy_run(source, dest, info, opts, bb)
    pp = _postprocess(info, metrics, opts)

    pool, where = _pool(source, opts)
    idx = sample(len(pool), opts.check_size, opts.seed)
    rows = [pool[i] for i in idx]
    log(f"check subset: {len(rows)} of {len(pool)} validation structures ({where})")
    check = structure_metrics(dest, rows, pp)  # the packaged folder, its backbone named shipped:NAME
    valid = metrics.get("valid") or {}
    name = "f1"  # per-sequence F1 averaged over sequences (the structure task's selection metric)
    metric = {
        "name": name,
        "value": valid.get(name, valid.get("f1_seq_mean")),
        "split": "valid",
        "n": metrics.get("n_valid"),
    }
    if metric["value"] is None:
        metric.update(value=check[name], split="check", n=len(rows))
    extra = (
        f"| stored dtype | {opts.dtype} |\n| post-processing | threshold {pp['threshold']}, min loop "
        f"{pp['min_loop']}, canonical only {pp['canonical_only']}, one partner {pp['one_partner']} |\n"
    )
    sections = run_sections(source, info, metrics, opts, backbone, extra)
    return Packed(
        "structure",
        rows,
        ["id", "sequence", "structure"],
        name,
        check,
        metric,
        sections,
        backbone=backbone,
        backbone_sha256=bb[1] if bb else None,
        postprocess=pp,
    )


__all__ = ["pack_structure"]
