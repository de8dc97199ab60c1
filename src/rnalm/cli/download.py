"""``rnalm download NAME``: fetch a registered checkpoint into the local cache and print its path."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "download", help="download a published checkpoint into the local cache",
        description="Downloads the files of a registered checkpoint (see `rnalm models`) into "
                    "$RNALM_HOME (default ~/.cache/rnalm), resuming partial downloads and checking "
                    "published sizes and sha256 sums, then prints the path rnalm.load accepts.")
    p.add_argument("names", nargs="+", metavar="NAME", help="registered checkpoint name, e.g. rna-fm")
    p.add_argument("--cache-dir", type=Path, default=None,
                   help="cache folder (default: $RNALM_HOME, else ~/.cache/rnalm)")
    p.add_argument("--force", action="store_true",
                   help="download again even if cached (the old copy is replaced only once the new one verifies)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or status messages")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rnalm import hub

    entries = [hub.get(name) for name in args.names]  # fail on a typo before downloading anything
    for entry in entries:
        was_cached = hub.cache_status(entry, args.cache_dir) == "yes"
        path = hub.download(entry, args.cache_dir, force=args.force, quiet=args.quiet, verify=True)
        if not args.quiet:
            state = "already cached" if was_cached and not args.force else "downloaded"
            checks = "size/sha256 verified" if entry.sha256_published else "no published sha256 to verify against"
            print(f"{entry.name}: {state} ({checks})", file=sys.stderr)
        print(path)
    return 0
