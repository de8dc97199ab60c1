"""Reading a fine-tuning config: YAML and/or a dict, ``key=value`` overrides, then validation.

Validation runs the task's own rules first (they may fill in task defaults, e.g. the ``pairwise``
head of ``task: structure``), then the head table, then the sections
(:meth:`~rnalm.runs.config.FinetuneConfig.validate`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

from rnalm.configfile import ConfigError, deep_merge, from_dict, load_config, parse_overrides
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


def load_finetune_config(path: Optional[str | Path] = None, overrides: Sequence[str] = (),
                         data: Optional[dict[str, Any]] = None) -> FinetuneConfig:
    """Read a YAML file (and/or a dict) and apply ``key=value`` overrides; validated."""
    if data is not None:
        merged = deep_merge(data, parse_overrides(overrides))
        if path is not None:
            base = load_config(FinetuneConfig, path)
            merged = deep_merge(base.to_dict(), merged)
        cfg = from_dict(FinetuneConfig, merged)
    else:
        cfg = load_config(FinetuneConfig, path, overrides)
    try:
        check_fields(cfg, "config")
        check_task_and_head(cfg)
        return cfg.validate()
    except ConfigError as exc:
        if path is None:
            raise
        raise ConfigError(f"{path}: {exc}") from None


__all__ = ["check_task_and_head", "load_finetune_config"]
