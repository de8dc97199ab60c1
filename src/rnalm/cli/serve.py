"""``rnalm serve`` (the page, the API and N workers) and ``rnalm worker`` (one more worker, anywhere)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnalm.cli.options import add_dtype
from rnalm.errors import RnalmError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="a web page and a JSON API for predict, fold and embed jobs",
        description="Serves a page where users paste or upload sequences and get predictions, structures "
        "and embeddings back, and the JSON API behind it (OpenAPI page at /docs). Jobs are kept in "
        "--data-dir (an SQLite job table and queue, one folder per job) and run by worker processes; "
        "after a crash, restarting with the same --data-dir finishes every submitted job. Binds "
        "127.0.0.1 unless --host says otherwise, which needs an access token.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument(
        "--data-dir", default="rnalm-serve", metavar="DIR", help="jobs, queue and results (default ./rnalm-serve)"
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes on this host (default 1; 0: only workers started with `rnalm worker`)",
    )
    p.add_argument(
        "--token",
        default=None,
        help="access token every client must send (or RNALM_SERVE_TOKEN); required with a non-loopback --host",
    )
    p.add_argument(
        "--run",
        action="append",
        metavar="NAME=RUN_DIR",
        help="offer a run of `rnalm finetune` under NAME (repeatable); clients name it, never its path",
    )
    p.add_argument(
        "--model",
        action="append",
        metavar="NAME=MODEL",
        help="offer an embedding model (what `rnalm embed --model` takes) under NAME (repeatable)",
    )
    p.add_argument(
        "--redis",
        default=None,
        metavar="URL",
        help="share the queue through Redis (redis://HOST:PORT/DB) with `rnalm worker`s on other hosts",
    )
    p.add_argument(
        "--keep", type=float, default=24.0, metavar="HOURS", help="hours finished jobs are kept (default 24)"
    )
    p.add_argument("--max-upload", type=int, default=5_000_000, metavar="BYTES", help="largest input (default 5000000)")
    p.add_argument("--max-sequences", type=int, default=1000, metavar="N", help="sequences per job (default 1000)")
    p.add_argument("--max-length", type=int, default=10_000, metavar="NT", help="longest sequence (default 10000)")
    p.add_argument("--device", default="cpu", help="device of the workers' models (default cpu)")
    add_dtype(p, "the default of jobs that name no dtype; a job may name its own")
    p.set_defaults(func=run_serve)

    w = sub.add_parser(
        "worker",
        help="run jobs of an `rnalm serve` queue (on this host or, with --redis, another)",
        description="Takes jobs from the queue of the server started with the same --data-dir (and --redis) "
        "and runs them; its registered models and limits come from DIR/server.json.",
    )
    w.add_argument("--data-dir", default="rnalm-serve", metavar="DIR", help="the server's --data-dir")
    w.add_argument("--redis", default=None, metavar="URL", help="the server's --redis")
    w.add_argument("--device", default=None, help="device of this worker's models (default: the server's --device)")
    w.add_argument("--parent", type=int, default=None, help=argparse.SUPPRESS)
    w.set_defaults(func=run_worker)


def run_serve(args: argparse.Namespace) -> int:
    from rnalm.serve.config import Limits, ServeConfig, named_paths, token_from
    from rnalm.serve.server import serve

    if args.workers < 0:
        raise RnalmError(f"--workers must be >= 0, got {args.workers}")
    config = ServeConfig(
        data_dir=Path(args.data_dir).resolve(),
        runs=named_paths(args.run, "--run"),
        models=named_paths(args.model, "--model"),
        limits=Limits(args.max_upload, args.max_sequences, args.max_length),
        keep_hours=args.keep,
        redis=args.redis,
        device=args.device,
        dtype=args.dtype,
        token=token_from(args.token),
    )
    print(
        f"rnalm serve: http://{args.host}:{args.port}/ ({args.workers} workers, data in {config.data_dir})",
        file=sys.stderr,
        flush=True,
    )
    serve(config, args.host, args.port, args.workers)
    return 0


def run_worker(args: argparse.Namespace) -> int:
    from rnalm.serve.config import ServeConfig
    from rnalm.serve.worker import Worker

    config = ServeConfig.load(Path(args.data_dir).resolve(), args.redis)
    if args.device:
        config.device = args.device
    Worker(config, args.parent).run()
    return 0
