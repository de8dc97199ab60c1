"""A scan and an optimisation from start to files: what ``rnalm design`` and the notebook functions run.

Both entry points pass plain values (option values, or keyword arguments); errors name the options
as the running entry point spells them (:func:`rnalm.errors.option`).
"""

from __future__ import annotations

import os
from typing import Callable, Optional, Sequence, Union

import pandas as pd

from rnalm.design.constraints import ConstraintError, Constraints, parse_range
from rnalm.design.objective import Objective
from rnalm.design.optimize import Settings, optimize
from rnalm.design.report import designs_table, render_html, write_designs, write_html, write_scan
from rnalm.design.scan import scan
from rnalm.errors import option

Range = Union[str, float, int, tuple, list, None]


def as_range(value: Range, what: str, integer: bool = False) -> Optional[tuple]:
    """``"0.4-0.6"``, ``(0.4, 0.6)`` or one number as ``(lo, hi)`` (``None`` stays ``None``)."""
    if value is None:
        return None
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ConstraintError(f"{option(what)}: give two values (low, high)")
        lo, hi = float(value[0]), float(value[1])
        if lo > hi:
            raise ConstraintError(f"{option(what)}: the range is empty ({lo:g} > {hi:g})")
    elif isinstance(value, (int, float)):
        lo = hi = float(value)
    else:
        lo, hi = parse_range(str(value), what)
    if integer:
        if lo != int(lo) or hi != int(hi):
            raise ConstraintError(f"{option(what)}: lengths are whole numbers")
        return int(lo), int(hi)
    return lo, hi


def constraints_from(
    length: Range,
    prefix: str = "",
    suffix: str = "",
    gc: Range = None,
    no_uaug: bool = False,
    no_oof_uorf: bool = False,
    motif_forbid: Sequence[str] = (),
    max_homopolymer: Optional[int] = None,
    mfe_range: Range = None,
) -> Constraints:
    rng = as_range(length, "length", integer=True)
    if rng is None:
        raise ConstraintError(f"{option('length')} is required (one length, or a range such as 40-60)")
    motifs = tuple(m.strip() for spec in motif_forbid for m in str(spec).split(",") if m.strip())
    return Constraints(
        rng,
        prefix or "",
        suffix or "",
        as_range(gc, "gc"),
        no_uaug,
        no_oof_uorf,
        motifs,
        max_homopolymer,
        as_range(mfe_range, "mfe_range"),
    )


def run_optimize(
    objective: Objective,
    constraints: Constraints,
    count: int = 100,
    seed: int = 0,
    seeds: Sequence[tuple[str, str]] = (),
    settings: Optional[Settings] = None,
    output: Optional[str | os.PathLike] = None,
    html: Optional[str | os.PathLike] = None,
    overwrite: bool = False,
    inputs: Sequence[Optional[str | os.PathLike]] = (),
    show: Optional[bool] = None,
    log: Callable[[str], None] = lambda _m: None,
    command: str = "",
) -> pd.DataFrame:
    """Designs, ranked, as a DataFrame; written to ``output`` (CSV) and ``html`` when given."""
    if count < 1:
        raise ConstraintError(f"{option('count', str(count))}: at least 1 design")
    settings = settings or Settings()
    designs = optimize(objective, constraints, count, seed, seeds, settings, show, log)
    table = designs_table(designs, objective, constraints)
    if output is not None:
        write_designs(table, output, overwrite, inputs)
    if html is not None:
        info = [
            ("seed", str(seed)),
            ("population", str(settings.population)),
            ("generations", str(settings.generations)),
        ]
        if command:
            info.insert(0, ("command", command))
        write_html(render_html(table, objective, constraints, info), html, overwrite)
    return table


def run_scan(
    records: Sequence[tuple[str, str]],
    objective: Objective,
    indels: bool = False,
    output: Optional[str | os.PathLike] = None,
    overwrite: bool = False,
    inputs: Sequence[Optional[str | os.PathLike]] = (),
    show: Optional[bool] = None,
    log: Callable[[str], None] = lambda _m: None,
) -> pd.DataFrame:
    """The effects table; with ``output``, a folder holding it and one heatmap per record."""
    effects = scan(records, objective, indels, show)
    closing = effects.attrs.pop("closing", "")
    if output is not None:
        write_scan(effects, objective.terms[0].name, output, overwrite, inputs)
    log(f"{closing}; {len(effects):,} mutants scored" + (f" -> {output}" if output else ""))
    return effects


__all__ = ["as_range", "constraints_from", "run_optimize", "run_scan"]
