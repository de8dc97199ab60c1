"""What a server was started with, shared with its workers through ``server.json`` in the data folder.

Clients name models, never paths: a registered run or model is ``NAME=PATH`` given when the server
starts (``--run`` / ``--model``), and a request may name only those and the models shipped with rnalm.
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

from rnalm.errors import RnalmError
from rnalm.io.jsonfile import write_json

CONFIG_FILE = "server.json"
TOKEN_ENV = "RNALM_SERVE_TOKEN"


@dataclass(frozen=True)
class Limits:
    """What one job may ask for; shown on the page and checked before a job is queued."""

    upload_bytes: int = 5_000_000
    sequences: int = 1000
    length: int = 10_000


@dataclass
class ServeConfig:
    data_dir: Path
    #: registered runs of ``rnalm finetune`` (task or structure models): name -> run folder
    runs: dict[str, str] = field(default_factory=dict)
    #: registered embedding models: name -> what ``rnalm embed --model`` takes
    models: dict[str, str] = field(default_factory=dict)
    limits: Limits = Limits()
    #: hours a finished job's folder is kept
    keep_hours: float = 24.0
    redis: Optional[str] = None
    device: Optional[str] = "cpu"
    #: the ``dtype`` of jobs that name none (``rnalm serve --dtype``; auto, as on the command line)
    dtype: str = "auto"
    token: Optional[str] = field(default=None, repr=False)

    def save(self) -> None:
        """Write what workers need (not the token) to the data folder."""
        d = {k: v for k, v in asdict(self).items() if k not in ("token", "data_dir")}
        write_json(self.data_dir / CONFIG_FILE, d)

    @classmethod
    def load(cls, data_dir: str | Path, redis: Optional[str] = None) -> "ServeConfig":
        """A worker's view: the server's registered models and limits, from its data folder."""
        data_dir = Path(data_dir)
        path = data_dir / CONFIG_FILE
        if not path.exists():
            raise RnalmError(f"{path} does not exist: start `rnalm serve --data-dir {data_dir}` first")
        d = json.loads(path.read_text())
        d["limits"] = Limits(**d.get("limits", {}))
        if redis:
            d["redis"] = redis
        return cls(data_dir=data_dir, **d)


def named_paths(items: Optional[list[str]], option: str) -> dict[str, str]:
    """``["NAME=PATH", ...]`` as a dict, each name once."""
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise RnalmError(f"{option} takes NAME=PATH, got {item!r}")
        if name in out:
            raise RnalmError(f"{option}: the name {name!r} is given twice")
        out[name] = path
    return out


def check_bind(host: str, token: Optional[str]) -> None:
    """Refuse to listen beyond this machine without a token."""
    if token:
        return
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise RnalmError(
            f"--host {host} makes the server reachable from other machines: give an access token "
            f"(--token or the {TOKEN_ENV} environment variable) that every client must send, or bind 127.0.0.1"
        )


def token_from(given: Optional[str]) -> Optional[str]:
    return given or os.environ.get(TOKEN_ENV) or None
