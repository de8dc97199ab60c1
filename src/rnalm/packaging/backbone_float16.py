"""Storing installed backbones in float16, in place (``python -m rnalm.packaging --backbones-float16``).

Task models have been stored in float16 since their first release, backbones in float32 because a
task model names its frozen backbone by the sha256 of the backbone's weights. The two shipped
backbones took 9.7 of the 30 MB the shipped weights may take; in float16 they take half. Their
training runs are not on every machine, so this rewrites what is installed:

* each float32 backbone's ``model.safetensors`` in half precision (the loader computes in float32,
  as for task weights) and its ``config.json`` weights sha256;
* the task and structure models that read it are re-keyed: their ``run_info.json`` and manifest
  entry name the state sha256 of the float16-stored weights;
* the backbone's manifest entry records the float32 weights' state sha256 as ``rounded_from``, so a run
  trained on those weights can still be packaged against it
  (:func:`rnalm.packaging.runcopy.verify_backbone`);
* every check subset is measured again with the rewritten files and recorded (manifest and card),
  and the cards' sha256s and file tables follow. If any check figure moves by more than
  :data:`MAX_CHECK_CHANGE`, every file is put back and nothing changes.

Validation figures (recomputed on the full validation rows, which need the benchmark data) are
BENCHMARKS.md's business, not this function's. Running it twice changes nothing the second time.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Union

from rnalm import shipped
from rnalm.api import load
from rnalm.io.atomic import atomic_write_bytes, atomic_write_text
from rnalm.io.digest import state_sha256
from rnalm.io.jsonfile import write_json
from rnalm.io.native import CONFIG_FILE as CONFIG
from rnalm.io.native import WEIGHTS_FILE as WEIGHTS
from rnalm.packaging.card import stored_dtype_row
from rnalm.packaging.check import NOT_RECOMPUTED, entry_metrics
from rnalm.packaging.deflate import with_file_table
from rnalm.packaging.files import read_json, store_native_float16
from rnalm.packaging.manifest import installed_root, record_files
from rnalm.packaging.options import CARD_FILE
from rnalm.runs.rundir import INFO_FILE as RUN_INFO
from rnalm.shipped import MANIFEST, ShippedModelError

#: the largest change of any check figure (metric on the 64 check rows) the rewrite may cause
MAX_CHECK_CHANGE = 0.002


def _check_line(text: str, metric: str, value: float, where: Path) -> str:
    """``text`` (a card) with the check subset's recorded figure set to ``value``."""
    pattern = re.compile(rf"(The shipped files give \*\*{re.escape(metric)} = )[-0-9.e+naN]+(\*\*)")
    if not pattern.search(text):
        raise ShippedModelError(f"{where}: no check-subset figure for {metric} to update")
    return pattern.sub(lambda m: f"{m.group(1)}{value:.6f}{m.group(2)}", text, count=1)


def _recheck(root: Path, names: list[str]) -> dict[str, dict]:
    """Every check metric of the entries ``names`` as their files are now."""
    return {e.name: entry_metrics(e) for e in shipped.entries(root) if e.name in names}


def store_backbones_float16(root: Union[str, Path, None] = None, log: Callable[[str], None] = print) -> list[str]:
    """Store every float32 backbone under ``root`` (default :func:`rnalm.shipped.root`) in float16 and
    re-key the models that read it; the names of the entries changed (backbones and their users)."""
    root = installed_root(root)
    data = shipped.read_manifest(root)
    todo = [m for m in data["models"] if m.get("kind") == "backbone" and m.get("dtype", "float32") == "float32"]
    if not todo:
        log(f"every backbone under {root} is already stored in float16")
        return []
    changed: list[str] = []
    for bb in todo:
        users = [m for m in data["models"] if m.get("backbone") == bb["name"]]
        names = [bb["name"]] + [u["name"] for u in users]
        for name in names:
            shipped.get(name, folder=root).verify()  # rewrite only what was shipped, untouched since
        folder = root / bb["dir"]
        touched = [folder / WEIGHTS, folder / CONFIG, folder / CARD_FILE, root / MANIFEST]
        touched += [root / u["dir"] / f for u in users for f in (RUN_INFO, CARD_FILE)]
        saved = {p: p.read_bytes() for p in touched}
        try:
            _rewrite(root, data, bb, users, log)
        except BaseException:
            for p, content in saved.items():
                atomic_write_bytes(p, content)
            raise
        changed += names
    return changed


def _rewrite(root: Path, data: dict, bb: dict, users: list[dict], log: Callable[[str], None]) -> None:
    """Store backbone ``bb`` in float16, re-key ``users`` and record every check figure again, updating
    ``data`` (the manifest) as it goes; raises, leaving the restoring to the caller, when a figure moves."""
    folder = root / bb["dir"]
    before = (folder / WEIGHTS).stat().st_size
    old = bb["backbone_sha256"]
    store_native_float16(folder)
    model, _ = load(folder)
    new = state_sha256(model)
    bb.update(backbone_sha256=new, rounded_from=old, dtype="float16")
    record_files(bb, folder, [WEIGHTS, CONFIG])
    for u in users:
        info_path = root / u["dir"] / RUN_INFO
        info = read_json(info_path)
        if (info.get("backbone") or {}).get("sha256") != old:
            raise ShippedModelError(f"{info_path}: names backbone weights other than {bb['name']}'s ({old[:16]}...)")
        info["backbone"]["sha256"] = new
        info["backbone"]["trained_with_sha256"] = old
        write_json(info_path, info)
        u["backbone_sha256"] = new
        record_files(u, root / u["dir"], [RUN_INFO])
    write_json(root / MANIFEST, data)  # the check below reads the entries as installed

    entries = [bb, *users]
    now = _recheck(root, [m["name"] for m in entries])
    for m in entries:
        check, got = m["check"], now[m["name"]]
        moved = abs(got[check["metric"]] - check["value"])
        if moved > MAX_CHECK_CHANGE:
            raise ShippedModelError(
                f"{m['name']}: its check {check['metric']} moves from {check['value']:.6f} to "
                f"{got[check['metric']]:.6f} with {bb['name']} in float16 (more than {MAX_CHECK_CHANGE}); "
                "nothing changed"
            )
        log(f"{m['name']}: check {check['metric']} {check['value']:.6f} -> {got[check['metric']]:.6f}")
        check["value"] = float(got[check["metric"]])
        for k in list(check.get("all") or {}):
            if k not in NOT_RECOMPUTED and k in got:
                check["all"][k] = float(got[k])
        card = root / m["dir"] / CARD_FILE
        text = _check_line(card.read_text(encoding="utf-8").replace(old, new), check["metric"], check["value"], card)
        if m is bb:
            text = _storage_row(text, new, old, card)
        names = [f for f in m["files"] if f != CARD_FILE]
        atomic_write_text(card, with_file_table(text, root / m["dir"], names, card))
        record_files(m, root / m["dir"], [CARD_FILE])
    write_json(root / MANIFEST, data)
    log(
        f"{folder / WEIGHTS}: {before:,} -> {(folder / WEIGHTS).stat().st_size:,} bytes (float16); weights state "
        f"sha256 {old[:12]}... -> {new[:12]}...; re-keyed {', '.join(u['name'] for u in users) or 'no task model'}"
    )


def _storage_row(text: str, new: str, old: str, where: Path) -> str:
    """``text`` (a backbone card) with the model table's stored-dtype row after its sha256 row."""
    row = f"| weights state sha256 | `{new}` |\n"
    if row not in text:
        raise ShippedModelError(f"{where}: no 'weights state sha256' row to put the stored dtype after")
    return text.replace(row, row + stored_dtype_row(old), 1)


__all__ = ["MAX_CHECK_CHANGE", "store_backbones_float16"]
