"""Reading a fine-tuning config: YAML and/or a dict, ``key=value`` overrides, then validation.

Keys of the ``structure`` section that older configs (and saved runs) spell in ``head`` / ``train``
are moved there first (:func:`migrate_structure_keys`). Validation runs the task's own rules first
(they may fill in task defaults, e.g. the ``pairwise`` head of ``task: structure``), then the head
table, then the sections
(:meth:`~rnalm.runs.config.FinetuneConfig.validate`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

import yaml

from rnalm.configfile import ConfigError, deep_merge, from_dict, parse_overrides
from rnalm.runs.config import FinetuneConfig
from rnalm.runs.heads import HEADS
from rnalm.runs.tasks import TASKS
from rnalm.schema import check_fields


def check_task_and_head(cfg: FinetuneConfig) -> None:
    """``task`` and ``head.type`` are known, the task's rules hold and the head belongs to it."""
    if cfg.task not in TASKS:
        raise ConfigError(f"task={cfg.task!r} is not one of {sorted(TASKS)}")
    TASKS[cfg.task].check_config(cfg)
    for name, task in TASKS.items():
        if name != cfg.task and cfg.head.type in task.own_heads:
            raise ConfigError(f"head.type={cfg.head.type!r} belongs to task={name}, not task={cfg.task}")
    if cfg.head.type not in HEADS:
        raise ConfigError(f"head.type={cfg.head.type!r} is not one of {sorted(HEADS)}")


#: ``structure`` keys that configs written before that section existed spell in another section.
OLD_STRUCTURE_KEYS: dict[str, tuple[str, ...]] = {
    "head": ("attention", "attention_maps", "vienna_bpp", "vienna_bpp_prior"),
    "train": ("pos_weight", "cells_per_batch", "select_threshold"),
}


def migrate_structure_keys(data: dict[str, Any], source: str = "config") -> dict[str, Any]:
    """``data`` with the old spellings of the ``structure`` settings (``head.vienna_bpp``,
    ``train.select_threshold`` ...: :data:`OLD_STRUCTURE_KEYS`) moved into the ``structure`` section,
    so run directories saved before it existed -- the shipped models among them -- and older recipes
    keep loading unchanged. A key given in both spellings is an error."""
    moved: dict[str, Any] = {}
    out = dict(data)
    for section, keys in OLD_STRUCTURE_KEYS.items():
        old = out.get(section)
        if not isinstance(old, dict) or not any(k in old for k in keys):
            continue
        out[section] = {k: v for k, v in old.items() if k not in keys}
        moved.update({k: old[k] for k in keys if k in old})
    if not moved:
        return out
    new = out.get("structure")
    if new is None:
        new = {}
    if not isinstance(new, dict):
        return out  # not a section: the strict schema check names it
    both = sorted(k for k in moved if k in new)
    if both:
        raise ConfigError(
            f"{source}: {', '.join(both)} given both in the structure section and under its old "
            f"name (head.* / train.*); keep structure.*"
        )
    out["structure"] = {**moved, **new}
    return out


def read_config_data(path: str | Path) -> dict[str, Any]:
    """The YAML mapping of a config file (old structure keys migrated)."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read config {p}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: invalid YAML: {exc}") from exc
    return migrate_structure_keys(data, str(p)) if isinstance(data, dict) else data


def load_finetune_config(
    path: Optional[str | Path] = None, overrides: Sequence[str] = (), data: Optional[dict[str, Any]] = None
) -> FinetuneConfig:
    """Read a YAML file (and/or a dict) and apply ``key=value`` overrides; validated."""
    extra = migrate_structure_keys(parse_overrides(overrides), "command-line overrides")
    if data is not None:
        merged = deep_merge(migrate_structure_keys(data), extra)
        if path is not None:
            base = from_dict(FinetuneConfig, read_config_data(path), str(path))
            merged = deep_merge(base.to_dict(), merged)
        cfg = from_dict(FinetuneConfig, merged)
    else:
        raw = read_config_data(path) if path is not None else {}
        source = " + ".join(
            ([str(path)] if path is not None else []) + (["command-line overrides"] if overrides else [])
        )
        cfg = from_dict(FinetuneConfig, deep_merge(raw, extra), source or "config")
    try:
        check_fields(cfg, "config")
        check_task_and_head(cfg)
        return cfg.validate()
    except ConfigError as exc:
        if path is None:
            raise
        raise ConfigError(f"{path}: {exc}") from None


__all__ = [
    "OLD_STRUCTURE_KEYS",
    "check_task_and_head",
    "load_finetune_config",
    "migrate_structure_keys",
    "read_config_data",
]
