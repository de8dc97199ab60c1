"""YAML configs into nested dataclasses, with ``key.sub=value`` command-line overrides.

Commands that train (``pretrain``, ``finetune``) take ``--config FILE`` plus overrides; every key in
the file can also be given on the command line. Unknown keys are errors (a typo must not silently
fall back to a default), values are parsed as YAML scalars so ``lr=3e-4`` and ``flag=true`` work,
and the resolved config is written next to the run's outputs.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Optional, Sequence, TypeVar

from rnalm.errors import ConfigError
from rnalm.schema import coerce_yaml_floats, validate_fields

T = TypeVar("T")


def _yaml():
    try:
        import yaml
    except ImportError as exc:  # pragma: no cover - pyyaml is a core dependency of training extras
        raise ConfigError("reading YAML configs needs PyYAML: pip install pyyaml") from exc
    return yaml


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``["optim.lr=1e-3", "data.paths=[a.fa,b.fa]"]`` -> nested dict."""
    yaml = _yaml()
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not of the form key=value")
        key, raw = item.split("=", 1)
        value = yaml.safe_load(raw) if raw != "" else ""
        node = out
        parts = key.strip().split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r}: {p} is not a section")
        node[parts[-1]] = value
    return out


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def from_dict(cls: type[T], data: dict[str, Any], source: str = "config") -> T:
    """Build dataclass ``cls`` from YAML data, strictly checked (see :mod:`rnalm.schema`).

    ``source`` (the file, or the command line) starts every error message.
    """
    return validate_fields(cls, coerce_yaml_floats(cls, data), source)


def load_config(cls: type[T], path: Optional[str | Path], overrides: Sequence[str] = ()) -> T:
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        try:
            data = _yaml().safe_load(p.read_text()) or {}
        except OSError as exc:
            raise ConfigError(f"cannot read config {p}: {exc}") from exc
        except Exception as exc:  # yaml.YAMLError
            raise ConfigError(f"{p}: invalid YAML: {exc}") from exc
    data = deep_merge(data, parse_overrides(overrides))
    source = " + ".join(([str(path)] if path is not None else []) + (["command-line overrides"] if overrides else []))
    return from_dict(cls, data, source or "config")


def to_yaml(cfg: Any) -> str:
    return _yaml().safe_dump(dataclasses.asdict(cfg), sort_keys=False)
