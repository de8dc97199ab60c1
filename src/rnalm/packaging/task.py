"""Packing a fine-tuning run (regression or classification) as a task model, checked on a subset of
its validation split, reproduced exactly as ``rnalm finetune`` made it (or ``--check-data``)."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Callable, Optional

from rnalm import shipped
from rnalm.api import resolve
from rnalm.packaging.card import fmt, run_sections
from rnalm.packaging.check import task_metrics
from rnalm.packaging.checkset import check_rows_table, number_duplicate_ids, sample, valid_records
from rnalm.packaging.files import read_json
from rnalm.packaging.options import Options, Packed
from rnalm.packaging.previous import previous_row
from rnalm.packaging.runcopy import copy_run, model_dirs, verify_backbone
from rnalm.predictors import task
from rnalm.shipped import ShippedModelError


def _pool(source: Path, info: dict, opts: Options, metrics: dict) -> tuple[list[dict], str, Optional[list]]:
    """Rows (id, sequence, label) the check subset is drawn from, where they come from, and their strata."""
    if opts.check_data:
        pool_rows = check_rows_table(Path(opts.check_data), ["id", "sequence", "label"])
        where = str(opts.check_data)
    else:
        recs, _, where = valid_records(source)
        if metrics.get("n_valid") is not None and metrics["n_valid"] != len(recs):
            raise ShippedModelError(
                f"the validation split re-read now has {len(recs)} rows, the run's had "
                f"{metrics['n_valid']}: the data changed since training; pass --check-data FILE"
            )
        pool_rows = [
            {"id": recs.ids[i], "sequence": recs.seqs[i], "label": str(recs.labels[i]).strip()}
            for i in range(len(recs))
        ]
    strata = [r["label"] for r in pool_rows] if info.get("task") == "classification" else None
    return pool_rows, where, strata


def _recompute(
    dest: Path, pool_rows: list[dict], backbone_dir: Optional[str], metric: dict, log: Callable[[str], None]
) -> None:
    """Score the whole validation split with the packaged files; record it in ``metric['recomputed']``."""
    name = metric["name"]
    full = task_metrics(dest, pool_rows, backbone_dir)
    metric["recomputed"] = full.get(name)
    log(
        f"full validation split with the packaged files: {name} = {full.get(name):.4f} "
        f"(at training time: {fmt(metric['value'])})"
    )
    if metric["value"] is not None and abs(full[name] - metric["value"]) > 1e-3:
        log(
            f"warning: the packaged model's {name} differs from the run's by "
            f"{abs(full[name] - metric['value']):.4f} (float16 storage, or changed data/code)"
        )


def _float32_reference(
    source: Path,
    info: dict,
    opts: Options,
    backbone: Optional[tuple[str, str]],
    rows: list[dict],
    backbone_dir: Optional[str],
    metric_name: str,
) -> Optional[float]:
    """The float32 figure for the card: the same subset with the run's own weights."""
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp) / "run"
        copy_run(source, t, info, Options(**{**opts.__dict__, "dtype": "float32"}), backbone)
        return task_metrics(t, rows, backbone_dir).get(metric_name)


def reading(run_dir: Path, backbone_dir: Optional[str], alias: Optional[str]) -> dict:
    """What the manifest and card say about how the model reads and names: ``window`` (the stretch of
    a sequence it reads) and ``prediction`` (``name``, ``unit``, ``columns``; the alias's defaults
    from :data:`rnalm.shipped.TASK_PREDICTIONS`, else named after the run's label column)."""
    pred = task.from_run(run_dir, backbone_dir, device="cpu", log=lambda _m: None).model
    named = shipped.TASK_PREDICTIONS.get(alias or "", {})
    columns = pred.columns(named.get("name"), named.get("unit", ""))
    return {
        "window": pred.window.to_dict(),
        "prediction": {"name": named.get("name"), "unit": columns.unit, "columns": columns.names},
    }


def reading_rows(read: dict) -> str:
    """The card's rows for :func:`reading`."""
    p = read["prediction"]
    cols = ", ".join(f"`{c}`" for c in p["columns"])
    unit = f": {p['unit']}" if p["unit"] else ""
    return f"| reads | {read['window']['text']} of each sequence |\n| prediction columns | {cols}{unit} |\n"


def pack_task(source: Path, dest: Path, info: dict, opts: Options, log: Callable[[str], None]) -> Packed:
    metrics = read_json(source / "metrics.json") if (source / "metrics.json").is_file() else {}
    bb = verify_backbone(info, opts)
    backbone = bb[0] if bb else None
    copy_run(source, dest, info, opts, bb)
    metric_name = metrics.get("metric") or ("spearman" if info.get("task") == "regression" else "auroc")
    backbone_dir = str(resolve(bb[0])) if bb else None

    pool_rows, where, strata = _pool(source, info, opts, metrics)
    number_duplicate_ids(pool_rows)
    idx = sample(len(pool_rows), opts.check_size, opts.seed, strata)
    rows = [pool_rows[i] for i in idx]
    log(f"check subset: {len(rows)} of {len(pool_rows)} validation rows ({where})")
    check = task_metrics(dest, rows, backbone_dir)
    if check.get(metric_name) is None or (isinstance(check[metric_name], float) and math.isnan(check[metric_name])):
        raise ShippedModelError(
            f"{metric_name} is undefined on the {len(rows)}-row check subset "
            f"(a single class?); raise --check-size or change --seed"
        )
    metric = {
        "name": metric_name,
        "value": (metrics.get("valid") or {}).get(metric_name),
        "split": "valid",
        "n": metrics.get("n_valid"),
    }
    if opts.recompute_valid:
        _recompute(dest, pool_rows, backbone_dir, metric, log)
    if metric["value"] is None:
        metric.update(value=check[metric_name], split="check", n=len(rows))
    previous = None
    if opts.previous:  # scored on the rows _recompute used, against this model's figure on them
        recomputed = metric.get("recomputed")
        ours = recomputed if recomputed is not None else task_metrics(dest, pool_rows, backbone_dir)[metric_name]
        previous = previous_row(opts.previous, opts.task, pool_rows, metric_name, float(ours), log)
    read = reading(dest, backbone_dir, opts.task)
    # --dtype applies to tensors; the feature baseline's trees are stored as they were fitted
    has_tensors = any((dest / d / "model.safetensors").is_file() for d in model_dirs(info))
    dtype = opts.dtype if has_tensors else "as fitted (trees, no tensors)"
    sections = run_sections(source, info, metrics, opts, backbone, reading_rows(read) + f"| stored dtype | {dtype} |\n")
    if opts.dtype == "float16" and has_tensors:
        check["float32_reference"] = _float32_reference(source, info, opts, bb, rows, backbone_dir, metric_name)
    if "recomputed" in metric and metric["recomputed"] is not None:
        sections.append(
            f"Recomputed with the shipped files when packaged: {metric_name} = "
            f"{metric['recomputed']:.4f} on all {len(pool_rows)} validation rows.\n"
        )
    return Packed(
        "task",
        rows,
        ["id", "sequence", "label"],
        metric_name,
        check,
        metric,
        sections,
        backbone=backbone,
        backbone_sha256=bb[1] if bb else None,
        extra=read,
        previous=previous,
    )


__all__ = ["pack_task"]
