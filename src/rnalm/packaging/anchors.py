"""Published anchors: the figures papers report on the held-out tests of each shipped task.

rnalm's benchmark data holds no held-out test split for these tasks (the test files are not
distributed with it), so every figure on a card is on validation rows. A reader still needs to know
which published numbers the task is judged against, and that rnalm's own figures on those tests are
measured elsewhere; this table says so, and :func:`anchor_section` renders it for the card.

The table is keyed by task alias (:data:`rnalm.shipped.TASK_ALIASES`); an alias without anchors (a
backbone has none) gets no section.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Anchor:
    """One held-out test and the figures papers report on it: ``published`` is ``((source, figure), ...)``."""

    test: str
    metric: str
    published: tuple[tuple[str, str], ...]


_UTRLM_DESIGNED = "UTR-LM's 211 designed 5' UTRs (C2C12 luciferase), zero-shot"

#: Published figures per task alias, as the papers report them (not re-measured by rnalm).
ANCHORS: dict[str, tuple[Anchor, ...]] = {
    "te": (
        Anchor(
            "HEK293 TE, LAMAR test split (981 UTRs)",
            "Spearman",
            (("LAMAR", "0.671"), ("UTR-LM", "0.604 (10-fold CV)")),
        ),
        Anchor(_UTRLM_DESIGNED, "Spearman", (("UTR-LM TE model", "0.190"), ("UTR-LM MRL model", "0.129"))),
    ),
    "halflife": (Anchor("3' UTR half-life, LAMAR test split (177 UTRs)", "Spearman", (("LAMAR", "0.665"),)),),
    "ires": (Anchor("IRES, LAMAR test split (1,952 sequences)", "AUROC", (("LAMAR", "0.985"),)),),
    "family": (
        Anchor(
            "ncRNA family, nRC test set (2,600 sequences)", "accuracy", (("RNAGCN", "0.857"), ("nRC", "about 0.74"))
        ),
    ),
    "mrl": (Anchor(_UTRLM_DESIGNED, "Spearman", (("UTR-LM MRL model", "0.129"), ("UTR-LM TE model", "0.190"))),),
    "fold": (
        Anchor(
            "bpRNA TS0 (1,305 structures)",
            "mean per-sequence F1",
            (
                ("RNAfold", "0.491"),
                ("LinearPartition-C", "0.526"),
                ("REDfold", "0.593"),
                ("SPOT-RNA", "0.619"),
                ("RNA-FM", "0.676-0.704"),
                ("RiNALMo", "0.747"),
            ),
        ),
    ),
}

#: the kinds of shipped entry whose cards carry anchors (a backbone serves no one task)
KINDS_WITH_ANCHORS = ("task", "structure")
HEADING = "## Published anchors (held-out tests, not measured here)"
#: The card's statement under the table (``tests/shipped`` looks for it on every task and structure card).
STATEMENT = (
    "These are figures the papers report on held-out test splits that rnalm's benchmark data does not "
    "contain. rnalm's own figures on those tests are measured elsewhere, after release, and are not on "
    "this card; every other figure on this card is measured on the validation rows it names."
)


def anchor_section(alias: str | None) -> str:
    """The card's section for task ``alias`` (one table row per anchor), or ``""`` when it has none."""
    anchors = ANCHORS.get(alias or "", ())
    if not anchors:
        return ""
    rows = "".join(
        f"| {a.test} | {a.metric} | {'; '.join(f'{who} {figure}' for who, figure in a.published)} |\n" for a in anchors
    )
    return f"{HEADING}\n\n| test | metric | published figures |\n|---|---|---|\n{rows}\n{STATEMENT}\n"


__all__ = ["ANCHORS", "Anchor", "HEADING", "KINDS_WITH_ANCHORS", "STATEMENT", "anchor_section"]
