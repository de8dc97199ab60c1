"""A job's options, checked against what the server offers: names only, never paths.

Each kind takes the options of its command (``rnalm predict``, ``fold``, ``embed``) that make
sense for a server; an option the kind does not take, or a model the server does not offer, is
refused naming the option and the choices.
"""

from __future__ import annotations

from typing import Any

from rnalm import shipped
from rnalm.precision import ALIASES, CHOICES
from rnalm.serve.config import ServeConfig
from rnalm.serve.inputs import InputError

KINDS = ("predict", "fold", "embed")
COMMON = ("dtype", "unknown", "strict", "input_format", "id_column", "seq_column")
TAKES = {
    "predict": ("task", "run", *COMMON),
    "fold": ("method", "model", "long", "max_length", "files", "plots", *COMMON),
    "embed": ("model", "pool", "layers", "format", "long", *COMMON),
}
FOLD_FILES = ("ct", "bpseq", "dbn")
POOLS = ("mean", "cls", "per-token")


def offered(config: ServeConfig) -> dict[str, Any]:
    """What clients may name (``GET /api/models``)."""
    tasks = {alias: text for alias, text in shipped.TASK_ALIASES.items() if alias != "fold"}
    backbones = [e.name for e in shipped.entries() if e.kind == "backbone"]
    default = shipped.default_backbone()
    return {
        "predict": {"tasks": tasks, "runs": sorted(config.runs)},
        "fold": {
            "methods": ["shipped", "vienna", *sorted(config.runs)],
            "long": ["vienna", "skip", "error"],
            "files": list(FOLD_FILES),
        },
        "embed": {
            "models": [*backbones, *sorted(config.models)],
            "default": default.name if default else None,
            "pool": list(POOLS),
            "format": ["hdf5", "npy"],
            "long": ["window", "truncate", "error"],
        },
        "dtype": {"choices": list(CHOICES), "default": config.dtype},
        "limits": vars(config.limits),
    }


def _choice(name: str, value: Any, choices: list[str]) -> str:
    if value not in choices:
        raise InputError(f"{name} must be one of {', '.join(map(str, choices))}, got {value!r}")
    return value


def _as_list(name: str, value: Any) -> list:
    if isinstance(value, str):
        value = [v for v in value.replace(",", " ").split() if v]
    if not isinstance(value, list) or not value:
        raise InputError(f"{name} must be a non-empty list, got {value!r}")
    return value


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "on", "yes", "false", "0", "off", "no", ""):
        return value.lower() in ("true", "1", "on", "yes")
    raise InputError(f"{name} must be true or false, got {value!r}")


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 100:
        raise InputError(f"{name} must be a short string, got {value!r}")
    return value


def check(kind: str, given: dict[str, Any], config: ServeConfig) -> dict[str, Any]:
    """The job's options in the form its runner reads; :class:`InputError` naming the first bad one."""
    if kind not in KINDS:
        raise InputError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    given = {k: v for k, v in given.items() if v is not None and v != ""}
    extra = sorted(set(given) - set(TAKES[kind]))
    if extra:
        raise InputError(f"a {kind} job does not take {', '.join(extra)}; it takes {', '.join(TAKES[kind])}")
    menu = offered(config)
    out: dict[str, Any] = {}
    for k in ("unknown", "input_format", "id_column", "seq_column"):
        if k in given:
            out[k] = _text(k, given[k])
    if "strict" in given:
        out["strict"] = _flag("strict", given["strict"])
    # the server's default is written into the job, so the job records what it computes in
    dtype = given.get("dtype", config.dtype)
    out["dtype"] = _choice("dtype", ALIASES.get(dtype, dtype) if isinstance(dtype, str) else dtype, list(CHOICES))
    if kind == "predict":
        if ("task" in given) == ("run" in given):
            raise InputError(
                f"a predict job takes task (a shipped task: {shipped.PREDICT_TASKS}) or run "
                "(a run registered on this server), not both"
            )
        if "task" in given:
            task = _text("task", given["task"])
            names = [*menu["predict"]["tasks"], *(e.name for e in shipped.entries() if e.kind == "task")]
            out["task"] = _choice("task", task, names)
        else:
            out["run"] = _choice("run", given["run"], menu["predict"]["runs"])
    elif kind == "fold":
        method = given.get("method", given.get("model", "shipped"))
        out["method"] = _choice("method", method, menu["fold"]["methods"])
        out["long"] = _choice("long", given.get("long", "vienna"), menu["fold"]["long"])
        if "max_length" in given:
            try:
                out["max_length"] = min(int(given["max_length"]), config.limits.length)
            except (TypeError, ValueError):
                raise InputError(f"max_length must be a whole number, got {given['max_length']!r}") from None
        out["files"] = [
            _choice("files", f, list(FOLD_FILES)) for f in _as_list("files", given.get("files", "ct bpseq dbn"))
        ]
    else:
        default = menu["embed"]["default"]
        out["model"] = _choice("model", given.get("model", default), menu["embed"]["models"])
        out["pool"] = [_choice("pool", p, list(POOLS)) for p in _as_list("pool", given.get("pool", ["mean"]))]
        if "layers" in given:
            layers = _as_list("layers", given["layers"])
            if not all(str(x).lstrip("-").isdigit() or x == "all" for x in layers):
                raise InputError(f"layers must be layer numbers or 'all', got {given['layers']!r}")
            out["layers"] = [x if x == "all" else int(x) for x in layers]
        out["format"] = _choice("format", given.get("format", "hdf5"), menu["embed"]["format"])
        out["long"] = _choice("long", given.get("long", "window"), menu["embed"]["long"])
    return out
