"""``rnalm download NAME``: fetch a registered checkpoint into the local cache and print its path."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnalm import hub


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "download",
        help="download a published checkpoint into the local cache",
        description="Downloads the files of a registered checkpoint (see `rnalm models`) into "
        "$RNALM_HOME (default ~/.cache/rnalm), or from $RNALM_HUB_MIRROR/NAME/FILE when that is "
        "set, then prints the path rnalm.load accepts. A file enters the cache only complete "
        "and verified: announced and published sizes, no web page, the published sha256, and "
        "the format probe of its registry entry; partial downloads resume only when the "
        "server's ETag/Last-Modified still matches. The sha256 of the first download is "
        "recorded and checked on every later use (trust on first use) unless the authors "
        "publish one; a cached file that no longer matches is an error, never 'already cached'.",
    )
    p.add_argument("names", nargs="+", metavar="NAME", help="registered checkpoint name, e.g. rna-fm")
    p.add_argument(
        "--cache-dir", type=Path, default=None, help="cache folder (default: $RNALM_HOME, else ~/.cache/rnalm)"
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="download again even if cached and trust the new file's sha256 (the old copy is "
        "replaced only once the new one verifies)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or status messages")
    p.set_defaults(func=run)


#: What each trust state means in `rnalm download`'s status line.
CHECKS = {
    hub.FROM_PUBLISHER: "sha256 verified against the publisher's",
    hub.TRUST_ON_FIRST_USE: "sha256 verified against the one recorded at its first download (trust on first "
    "use: the authors publish none)",
}


def run(args: argparse.Namespace) -> int:
    entries = [hub.get(name) for name in args.names]  # fail on a typo before downloading anything
    for entry in entries:
        was_cached = hub.cache_status(entry, args.cache_dir) == "yes" and not args.force
        path = hub.download(entry, args.cache_dir, force=args.force, quiet=args.quiet)  # raises on a bad cached file
        if not args.quiet:
            trust = hub.trust_state(entry, args.cache_dir)
            if was_cached:
                print(f"{entry.name}: already cached ({CHECKS[trust]})", file=sys.stderr)
            else:
                note = (
                    "matches the publisher's sha256"
                    if trust == hub.FROM_PUBLISHER
                    else "sha256 recorded for later checks (trust on first use: the authors publish none)"
                )
                print(f"{entry.name}: downloaded and verified ({note})", file=sys.stderr)
        print(path)
    return 0
