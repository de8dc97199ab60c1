"""Shipped task models and candidate runs, scored on the same validation rows by the same code.

A new model ships only if it beats the previous shipped model on its recipe's validation split
(issue 19). This script makes that comparison like for like: each shipped task model's own config
names its validation rows (``data.valid``, or the seeded hold-out of ``data.train``; the rows are
rebuilt exactly as training drew them, :func:`rnalm.finetune.run_splits.validation_records`), and
the shipped folder and every candidate run are scored on those rows through
:func:`rnalm.packaging.check.task_metrics`, the path ``rnalm predict`` takes (fold and member
models combined as it combines them). A candidate whose own validation rows differ is refused.

    python benchmarks/shipped_validation.py [--shipped DIR] [--task te --task ires ...] \\
        [--run te=runs/hek293_te/lm_cnn_members ...] [--json OUT]

``--shipped DIR`` reads another shipped folder (say the previous release's, from
``git archive COMMIT src/rnalm/shipped | tar -x -C /tmp/prev``). Needs ``../shared/data``
(or ``RNALM_SHARED_DATA``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from rnalm import shipped
from rnalm.api import resolve
from rnalm.finetune.run_splits import validation_records
from rnalm.packaging.check import task_metrics
from rnalm.precision import cpu_report

TASKS = ("te", "halflife", "ires", "family", "mrl")


def rows_of(path: Path) -> tuple[list[dict[str, str]], str, str]:
    """The validation rows of a run or shipped folder, as ``id,sequence,label`` dicts, its metric
    name and where the rows came from."""
    recs, cfg, note = validation_records(path)
    rows = [{"id": i, "sequence": s, "label": str(v)} for i, s, v in zip(recs.ids, recs.seqs, recs.labels)]
    metric = json.loads((path / "metrics.json").read_text())["metric"] if (path / "metrics.json").is_file() else None
    return rows, metric or "", note


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shipped", type=Path, default=None, help="a shipped folder (default: the installed one)")
    ap.add_argument("--task", action="append", choices=TASKS, help="tasks to score (default: all shipped ones)")
    ap.add_argument("--run", action="append", default=[], metavar="TASK=RUN_DIR", help="a candidate run, scored too")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None, help="write the figures here as well")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(cpu_report())
    candidates: dict[str, list[Path]] = {}
    for spec in args.run:
        task, _, run = spec.partition("=")
        if task not in TASKS or not run:
            ap.error(f"--run {spec!r}: expected TASK=RUN_DIR with TASK one of {', '.join(TASKS)}")
        candidates.setdefault(task, []).append(Path(run))
    out = []
    folder = args.shipped
    for task in args.task or TASKS:
        entry = shipped.task_entry(task, folder)
        with shipped.using_root(entry.root):
            backbone = str(resolve(entry.backbone)) if entry.backbone else None
            rows, _, note = rows_of(entry.path)
            metric = entry.metric["name"]
            t0 = time.time()
            m = task_metrics(entry.path, rows, backbone)
        line = {"task": task, "model": f"shipped {entry.name}", "rows": note, "n": len(rows), metric: m[metric]}
        print(
            f"{task}: {line['model']}: {metric} {m[metric]:.4f} on {len(rows)} rows ({note}; {time.time() - t0:.0f}s)"
        )
        out.append({**line, "all": m})
        ids = [r["id"] for r in rows]
        for run in candidates.get(task, []):
            run_rows, _, run_note = rows_of(run)
            if [r["id"] for r in run_rows] != ids:
                raise SystemExit(f"{run}: its validation rows ({run_note}) are not the shipped model's ({note})")
            t0 = time.time()
            m = task_metrics(run, rows)
            print(f"{task}: {run}: {metric} {m[metric]:.4f} ({time.time() - t0:.0f}s)")
            out.append({"task": task, "model": str(run), "rows": note, "n": len(rows), metric: m[metric], "all": m})
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
