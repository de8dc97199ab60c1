"""Packaging one source as a shipped entry: check the request, let the kind's packer fill a folder
assembled aside, write the check subset and the card, move the folder into place and record it in
the manifest (so a failed packaging leaves the old entry intact)."""

from __future__ import annotations

import datetime
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Optional

from rnalm import shipped
from rnalm.io.digest import sha256_file
from rnalm.packaging.backbone import pack_backbone
from rnalm.packaging.baselines import baselines
from rnalm.packaging.card import card
from rnalm.packaging.check import CHECK_FILE, write_check
from rnalm.packaging.files import all_files, display_path, read_json
from rnalm.packaging.manifest import check_name, update_manifest
from rnalm.packaging.options import CARD_FILE, Options, Packed
from rnalm.packaging.structure import pack_structure
from rnalm.packaging.task import pack_task
from rnalm.shipped import ShippedModelError
from rnalm.version import __version__


def _check_options(opts: Options) -> None:
    if opts.check_size < 4:
        raise ShippedModelError(f"--check-size must be at least 4, got {opts.check_size}")
    if opts.dtype not in ("float32", "float16"):
        raise ShippedModelError(f"--dtype must be float32 or float16, got {opts.dtype!r}")
    check_name(opts.name)
    if opts.replaces is not None:
        check_name(opts.replaces, "--replaces")


def _kind(source: Path, opts: Options, root: Path) -> tuple[Optional[dict], str]:
    """(run_info or None, kind) of ``source``; settles and checks the task alias (``opts.task``)."""
    info: Optional[dict]
    if (source / "run_info.json").is_file():
        info = read_json(source / "run_info.json")
        kind = "structure" if info.get("task") == "structure" else "task"
        if opts.task in (None, "") and kind == "structure":
            opts.task = "fold"
    else:
        info, kind = None, "backbone"
        if opts.task:
            raise ShippedModelError("--task applies to fine-tuning runs, not to a backbone")
    if kind == "task" and not opts.task:
        aliases = ", ".join(a for a in shipped.TASK_ALIASES if a != "fold")
        raise ShippedModelError(f"name the task alias with --task (e.g. {aliases})")
    if kind == "task" and opts.task == "fold":
        raise ShippedModelError("--task fold is reserved for structure runs")
    if kind == "structure" and opts.task != "fold":
        raise ShippedModelError("a structure run is shipped under the task alias fold")
    if opts.previous and kind != "task":
        raise ShippedModelError(f"--previous applies to task models; {source} is a {kind} source (drop --previous)")
    models = shipped.read_manifest(root)["models"]
    if opts.replaces:
        if not opts.task:
            raise ShippedModelError("--replaces applies to task and structure models (a backbone is replaced by name)")
        old = next((m for m in models if m.get("name") == opts.replaces), None)
        if old is None or opts.replaces == opts.name:
            raise ShippedModelError(f"--replaces {opts.replaces}: no other shipped model of that name in {root}")
        if old.get("task") != opts.task:
            raise ShippedModelError(
                f"--replaces {opts.replaces}: it is shipped under task alias {old.get('task')!r}, "
                f"this model under {opts.task!r}"
            )
    clash = [
        m["name"]
        for m in models
        if opts.task and m.get("task") == opts.task and m.get("name") not in (opts.name, opts.replaces)
    ]
    if clash:
        raise ShippedModelError(
            f"task alias {opts.task!r} is already shipped as {clash[0]}; remove that entry first, "
            f"ship under its name (which replaces it) or name it with --replaces {clash[0]}"
        )
    return info, kind


def _pack(
    kind: str, source: Path, tmp: Path, info: Optional[dict], opts: Options, root: Path, log: Callable[[str], None]
) -> Packed:
    with shipped.using_root(root):
        if kind == "backbone":
            packed = pack_backbone(source, tmp, opts, log)
        elif kind == "task":
            packed = pack_task(source, tmp, info or {}, opts, log)
        else:
            packed = pack_structure(source, tmp, info or {}, opts, log)
    rows = []
    if opts.baselines:
        if kind == "backbone":
            raise ShippedModelError("--baseline applies to task and structure runs")
        rows = baselines(source, packed.metric, opts.baselines)
    if packed.previous is not None:
        rows.append(packed.previous)
    if rows:
        packed.extra["baselines"] = rows
    return packed


def _move_into_place(tmp: Path, dest: Path) -> None:
    backup = dest.parent / f".{dest.name}.old"
    shutil.rmtree(backup, ignore_errors=True)
    if dest.exists():
        os.replace(dest, backup)
    os.replace(tmp, dest)
    shutil.rmtree(backup, ignore_errors=True)


def _entry(source: Path, kind: str, opts: Options, packed: Packed, sums: dict, size: int) -> dict:
    """The manifest entry of the packaged model."""
    return {
        "name": opts.name,
        "kind": kind,
        "task": opts.task or None,
        "dir": opts.name,
        "description": opts.description or shipped.TASK_ALIASES.get(opts.task or "", ""),
        "files": sums,
        "size": size,
        "dtype": opts.dtype,
        "licence": opts.licence,
        "data_licence": opts.data_licence,
        "backbone": packed.backbone,
        "backbone_sha256": packed.backbone_sha256,
        "metric": packed.metric,
        "check": {
            "file": CHECK_FILE,
            "n": len(packed.rows),
            "seed": opts.seed,
            "metric": packed.check_metric,
            "value": packed.check[packed.check_metric],
            "all": {k: v for k, v in packed.check.items() if isinstance(v, (int, float))},
        },
        "source": display_path(source),
        "packaged": datetime.date.today().isoformat(),
        "rnalm_version": __version__,
        **({"postprocess": packed.postprocess} if packed.postprocess else {}),
        **packed.extra,
    }


def package(
    source: str | Path, opts: Options, root: str | Path | None = None, log: Callable[[str], None] = print
) -> shipped.Entry:
    """Write the shipped entry for ``source`` under ``root`` (default: :func:`rnalm.shipped.root`)."""
    source = Path(source)
    if not source.is_dir():
        raise ShippedModelError(f"{source}: no such directory")
    _check_options(opts)
    name = opts.name
    root = Path(root).expanduser() if root is not None else shipped.root()
    root.mkdir(parents=True, exist_ok=True)
    info, kind = _kind(source, opts, root)

    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
    dest = root / name
    try:
        packed = _pack(kind, source, tmp, info, opts, root, log)
        write_check(tmp / CHECK_FILE, packed.rows, packed.columns)
        files = all_files(tmp)
        (tmp / CARD_FILE).write_text(card(name, kind, opts, packed, tmp, files + [CARD_FILE]), encoding="utf-8")
        files = all_files(tmp)
        sums = {f: sha256_file(tmp / f) for f in files}
        size = sum((tmp / f).stat().st_size for f in files)
        _move_into_place(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for p in [dest, *dest.rglob("*")]:  # installable: readable by everyone (runs may be private, 0600)
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    update_manifest(root, _entry(source, kind, opts, packed, sums, size), log, replaces=opts.replaces)
    log(
        f"shipped {name} ({kind}{', alias ' + opts.task if opts.task else ''}): {size / 1e6:.2f} MB in {dest}; "
        f"check {packed.check_metric} = {packed.check[packed.check_metric]:.6f} on {len(packed.rows)} rows"
    )
    return shipped.get(name, folder=root)


__all__ = ["package"]
