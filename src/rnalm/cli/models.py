"""``rnalm models``: every model rnalm can give you, from every source, in one table.

Rows come from the *sources* in :data:`SOURCES`: functions ``f(cache_dir) -> Iterable[rnalm.hub.Listing]``:
the models shipped inside the package (:func:`rnalm.shipped.listings`, rows with
``source == "shipped"``, printed in their own table first), the registry of downloadable
checkpoints (:func:`rnalm.hub.listings`) and the structure predictors ``rnalm fold --model`` takes
(:func:`rnalm.predictors.fold.listings`, ``source == "structure"``: what each needs, its limit, its
own post-processing, whether its files are cached).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence, Union

from rnalm import hub, shipped
from rnalm.hub import Listing
from rnalm.predictors import fold as fold_predictors

#: A source of rows: ``f(cache_dir) -> Iterable[Listing]``.
Source = Callable[[Union[str, Path, None]], Iterable[Listing]]

SOURCES: tuple[Source, ...] = (
    shipped.listings,
    hub.listings,
    fold_predictors.listings,
)
#: ``source`` of the rows of :func:`rnalm.predictors.fold.listings`, printed as their own table.
STRUCTURE = "structure"


def collect(cache_dir: Union[str, Path, None] = None, sources: Optional[Sequence[Source]] = None) -> list[Listing]:
    """All rows from all sources, in source order."""
    rows: list[Listing] = []
    for source in SOURCES if sources is None else sources:
        rows.extend(source(cache_dir))
    return rows


#: What the SHA256 column says, printed under the downloadable table.
SHA256_LEGEND = (
    "SHA256 of a cached checkpoint: 'publisher' = checked on every use against the authors' sha256; "
    "'trust-on-first-use' = checked on every use against the sha256 recorded at its first download "
    "(this detects later changes, not a bad first download); 'not recorded yet' = put there by hand, "
    "recorded on next use."
)


def human_size(n: Optional[int]) -> str:
    if n is None:
        return "unpublished"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def _table(header: tuple[str, ...], body: list[tuple[str, ...]]) -> str:
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in [header, *body]]
    return "\n".join(lines)


def format_table(rows: list[Listing]) -> str:
    """Downloadable checkpoints (and any other non-shipped source)."""
    header = ("NAME", "FORMAT", "SIZE", "SHA256", "CACHED", "LICENCE")
    return _table(header, [(r.name, r.format, human_size(r.size), r.sha256, r.cached, r.licence) for r in rows])


def format_shipped_table(rows: list[Listing]) -> str:
    """Models installed with rnalm: kind, task alias, size and the card's validation metric."""
    header = ("NAME", "KIND", "TASK", "SIZE", "VALIDATION", "LICENCE")
    return _table(
        header, [(r.name, r.kind or "-", r.task or "-", human_size(r.size), r.metric or "-", r.licence) for r in rows]
    )


def format_structure_table(rows: list[Listing]) -> str:
    """Structure predictors: what each reads, its limit, its post-processing, its files."""
    header = ("--model", "NEEDS", "LIMIT", "POST-PROCESSING", "LICENCE", "DOWNLOAD (CACHED)")
    return _table(header, [(r.name, r.needs, r.limit, r.postprocess, r.licence, r.cached) for r in rows])


def format_details(row: Listing) -> str:
    if row.source == STRUCTURE:
        lines = [
            f"{row.name}: {row.description}",
            f"  needs:    {row.needs}",
            f"  limit:    {row.limit}",
            f"  post-processing: {row.postprocess}",
            f"  licence:  {row.licence}",
            f"  download: {', '.join(row.downloads) or 'nothing'}"
            + (f" (cached: {row.cached})" if row.downloads else ""),
        ]
        if row.aliases:
            lines.append(f"  aliases:  {', '.join(row.aliases)}")
        return "\n".join(lines)
    lines = [f"{row.name}: {row.description}"]
    if row.source == "shipped":
        lines += [
            f"  kind:     {row.kind}" + (f" (rnalm predict --task {row.task})" if row.kind == "task" else ""),
            f"  metric:   {row.metric}",
        ]
    lines += [
        f"  format:   {row.format}",
        f"  size:     {human_size(row.size)}; sha256 {row.sha256}",
        f"  licence:  {row.licence}",
        f"  cached:   {row.cached} ({row.location})",
    ]
    if row.aliases:
        lines.append(f"  aliases:  {', '.join(row.aliases)}")
    lines += [f"  url:      {u}" for u in row.urls]
    if row.homepage:
        lines.append(f"  homepage: {row.homepage}")
    if row.citation:
        lines.append(f"  cite:     {row.citation}")
    if row.notes:
        lines.append(f"  notes:    {row.notes}")
    return "\n".join(lines)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models",
        help="list the models rnalm can load by name, and the structure predictors of rnalm fold",
        description="Lists the models shipped inside the package (installed, work offline: kind, "
        "task alias, size, validation metric from the model card) and the registered "
        "downloadable checkpoints (published format, size, whether a sha256 is "
        "published or, once cached, whether its files are checked against the "
        "publisher's sha256 or one recorded at the first download (trust on first "
        "use), whether it is in the local cache, licence), and the structure predictors `rnalm fold "
        "--model` takes (what each needs, its longest record, its own post-processing, licence, "
        "downloads and whether they are cached).",
    )
    p.add_argument(
        "--cache-dir", type=Path, default=None, help="cache folder (default: $RNALM_HOME, else ~/.cache/rnalm)"
    )
    p.add_argument("--verbose", "-v", action="store_true", help="also show descriptions, URLs and citations")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    rows = collect(args.cache_dir)
    if args.json:
        print(json.dumps([dataclasses.asdict(r) for r in rows], indent=2))
    elif args.verbose:
        print("\n\n".join(format_details(r) for r in rows))
    else:
        local = [r for r in rows if r.source == "shipped"]
        folds = [r for r in rows if r.source == STRUCTURE]
        remote = [r for r in rows if r.source not in ("shipped", STRUCTURE)]
        if local:
            print("Shipped with rnalm (installed, work offline; model cards: rnalm models -v):")
            print(format_shipped_table(local))
        else:
            manifest = shipped.root() / shipped.MANIFEST
            print(f"Shipped with rnalm: none in this installation ({manifest} lists no models).")
        print("\nDownloadable (rnalm download NAME; cached under $RNALM_HOME):")
        print(format_table(remote))
        if any(r.size is None or r.sha256 == "not published" for r in remote):
            print(
                "\n'unpublished'/'not published': the authors state no size or sha256 for that file, so a "
                "download is checked against the server's Content-Length and the format probe, and its "
                "sha256 is recorded then."
            )
        print(SHA256_LEGEND)
        if folds:
            print("\nStructure predictors (rnalm fold --model NAME, rnalm.fold(model=NAME); files by content too):")
            print(format_structure_table(folds))
    return 0
