"""Strict validation of config dataclasses (pydantic), with errors that name the file and the field.

rnalm's configs stay plain dataclasses; a dataclass opts in with ``@with_config(STRICT)``, and its
field annotations (``Annotated[int, Field(ge=1)]``, ``Literal[...]``) are the schema. Values are
validated as JSON data in pydantic's strict mode, so ``6.5`` is not an int, ``"false"`` is not a
bool and a list is not a section, before anything is built from them. Unknown keys are errors that
suggest the nearest valid name.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import typing
from functools import lru_cache
from typing import Any, Mapping, Optional, TypeVar, cast

from pydantic import ConfigDict, TypeAdapter, ValidationError

from rnalm.errors import ConfigError, RnalmError

T = TypeVar("T")

#: The pydantic config of every validated rnalm dataclass (inherited by nested dataclass fields).
STRICT = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)

_KIND = {
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "bool_type": "must be true or false",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "dict_type": "must be a mapping (key: value)",
    "dataclass_type": "must be a mapping (key: value)",
    "dataclass_exact_type": "must be a mapping (key: value)",
    "none_required": "must be null",
}
_BOUND = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}


@lru_cache(maxsize=None)
def _adapter(cls: type) -> TypeAdapter:
    if getattr(cls, "__pydantic_config__", None) is not STRICT:
        raise TypeError(f"{cls.__name__} is not marked @with_config(STRICT); it would be validated leniently")
    return TypeAdapter(cls)


def validate_fields(cls: type[T], data: Any, source: str, prefix: str = "", error: type[RnalmError] = ConfigError) -> T:
    """``cls`` built from JSON-like ``data``, checked strictly; ``error`` names ``source`` and the field.

    ``prefix`` is where ``data`` sits in its file (``"encoder."``), so messages give the full key.
    """
    if not isinstance(data, dict):
        where = prefix.rstrip(".") or "the config"
        raise error(f"{source}: {where} must be a mapping (key: value), got {type(data).__name__}")
    try:
        text = json.dumps(data, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise error(
            f"{source}: {prefix.rstrip('.') or 'the config'} holds a value that is not plain "
            f"JSON/YAML data (numbers, strings, true/false, lists, mappings): {exc}"
        ) from exc
    try:
        return _adapter(cast(type, cls)).validate_json(text)
    except ValidationError as exc:
        raise error(f"{source}: {describe(cls, exc.errors()[0], prefix)}") from None


def check_fields(obj: Any, source: str, error: type[RnalmError] = ConfigError) -> None:
    """Strict type and range check of an already built dataclass (e.g. one made in Python)."""
    validate_fields(type(obj), dataclasses.asdict(obj), source, error=error)


def describe(cls: type, err: Mapping[str, Any], prefix: str = "") -> str:
    """One pydantic error as ``key=value must be ...``, in the words of rnalm's configs."""
    loc = [str(p) for p in err["loc"]]
    key = prefix + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
    kind = err["type"]
    if kind == "unexpected_keyword_argument":
        known = sorted(f.name for f in dataclasses.fields(_dataclass_at(cls, loc[:-1])))
        near = difflib.get_close_matches(loc[-1], known, n=1)
        hint = f"did you mean {prefix + '.'.join(loc[:-1] + near[:1])!r}? " if near else ""
        return f"unknown key {key!r}; {hint}known keys here: {', '.join(known)}"
    if kind == "missing":
        return f"{key} is required"
    if kind == "value_error":  # raised by a dataclass's __post_init__: its own message
        return f"{key.rstrip('.') + ': ' if key else ''}{err['ctx']['error']}"
    shown = repr(err.get("input"))
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    if kind in _BOUND:
        return f"{key}={shown} must be {_BOUND[kind]} {next(iter(err['ctx'].values()))}"
    if kind == "literal_error":
        return f"{key}={shown} must be one of {err['ctx']['expected']}"
    return f"{key}={shown} {_KIND.get(kind, err['msg'])}"


def _dataclass_at(cls: type, path: list[str]) -> type:
    for name in path:
        nested = dataclass_in(typing.get_type_hints(cls)[name])
        if nested is None:
            break
        cls = nested
    return cls


def dataclass_in(hint: Any) -> Optional[type]:
    """The dataclass a field annotation holds (``Sub``, ``Optional[Sub]``), or None."""
    if dataclasses.is_dataclass(hint):
        return hint  # type: ignore[return-value]
    for arg in typing.get_args(hint):
        if dataclasses.is_dataclass(arg):
            return arg  # type: ignore[return-value]
    return None


def coerce_yaml_floats(cls: type, data: Any) -> Any:
    """``data`` with numeric strings in float fields made floats.

    PyYAML reads ``1e-4`` (no dot) as a string, in files and in ``key=value`` overrides alike;
    only float-typed fields take such strings, and anything else is left for the strict check.
    """
    if not isinstance(data, dict) or not dataclasses.is_dataclass(cls):
        return data
    hints = typing.get_type_hints(cls)
    out = dict(data)
    for name, value in data.items():
        hint = hints.get(name)
        nested = dataclass_in(hint)
        if nested is not None:
            out[name] = coerce_yaml_floats(nested, value)
        elif isinstance(value, str) and float in (hint, *typing.get_args(hint)):
            try:
                out[name] = float(value)
            except ValueError:
                pass
    return out


__all__ = ["STRICT", "check_fields", "coerce_yaml_floats", "dataclass_in", "describe", "validate_fields"]
