"""Arc diagram and dot plot of a predicted structure; per-sequence F1 against length (PNG, matplotlib).

matplotlib (a dependency of rnalm) is imported on first use; :func:`require_matplotlib` checks for
it before a command writes anything. Figures are drawn on an Agg canvas without
touching pyplot's global state, so plotting works headless and inside worker processes.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Optional

import numpy as np

from rnalm.errors import RnalmError
from rnalm.io.atomic import atomic_write_bytes
from rnalm.structure.pairs import Structure, page_of

#: Arc / marker colour per page: nested pairs, then first, second, ... pseudoknot layer.
PAGE_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def require_matplotlib() -> None:
    """Raise a clear :class:`RnalmError` now, before any output, if plots cannot be drawn."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
        from matplotlib.figure import Figure  # noqa: F401
        from matplotlib.patches import Arc  # noqa: F401
    except ImportError as exc:
        raise RnalmError(
            f"plots need matplotlib, a dependency of rnalm that cannot be imported ({exc}): "
            "reinstall rnalm (pip install --force-reinstall rnalm)"
        ) from None


def _figure(width: float, height: float):
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=120)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: Path) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return atomic_write_bytes(path, buf.getvalue())


def arc_diagram(structure: Structure, path: str | Path) -> Path:
    """Bases on a line, one arc per pair; pseudoknotted pages in other colours."""
    from matplotlib.patches import Arc

    n = len(structure)
    fig = _figure(min(16.0, 4.0 + n / 40), 3.5)
    ax = fig.add_subplot(111)
    ax.plot([0, n - 1], [0, 0], color="0.6", lw=0.8)
    pages = page_of(structure.pairs)
    top = 1.0
    for (i, j), k in pages.items():
        w = j - i
        ax.add_patch(Arc(((i + j) / 2, 0), w, w, theta1=0, theta2=180, lw=0.8, color=PAGE_COLORS[k % len(PAGE_COLORS)]))
        top = max(top, w / 2)
    if n <= 80:
        for i, b in enumerate(structure.sequence):
            ax.text(i, -0.02 * top - 0.3, b, ha="center", va="top", fontsize=6, family="monospace")
    ax.set_xlim(-1, n)
    ax.set_ylim(-0.08 * top - 1, top * 1.05)
    ax.set_aspect("auto")
    ax.set_yticks([])
    ax.set_xlabel("position")
    ax.set_title(f"{structure.id}  ({n} nt, {len(structure.pairs)} pairs)", fontsize=9)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    return _save(fig, Path(path))


def dot_plot(structure: Structure, probs: Optional[np.ndarray], path: str | Path) -> Path:
    """Upper triangle: pair probabilities (if given); lower triangle: the predicted pairs."""
    n = len(structure)
    fig = _figure(6.0, 5.2)
    ax = fig.add_subplot(111)
    if probs is not None:
        up = np.triu(np.asarray(probs, dtype=np.float32), 1)
        shown = np.ma.masked_where(np.tril(np.ones((n, n), dtype=bool)), up)
        im = ax.imshow(shown, cmap="Greys", vmin=0.0, vmax=1.0, origin="upper", interpolation="nearest")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="pair probability (upper triangle)")
    pages = page_of(structure.pairs)
    if pages:
        jj = np.array([j for (i, j) in pages])
        ii = np.array([i for (i, j) in pages])
        cols = [PAGE_COLORS[k % len(PAGE_COLORS)] for k in pages.values()]
        ax.scatter(ii, jj, s=max(1.0, 2000.0 / max(n, 1)), c=cols, marker="s", linewidths=0)
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlabel("position")
    ax.set_ylabel("position")
    ax.set_title(f"{structure.id}: predicted pairs (lower triangle)", fontsize=9)
    return _save(fig, Path(path))


def f1_by_length(lengths, f1s, path: str | Path, title: str = "") -> Path:
    """One dot per sequence: F1 against length (a trained run's figure for each evaluated split)."""
    fig = _figure(5, 3.5)
    ax = fig.add_subplot()
    ax.scatter(lengths, f1s, s=6, alpha=0.5, linewidths=0)
    ax.set(
        xlabel="length (nt)",
        ylabel="F1",
        ylim=(-0.03, 1.03),
        title=f"{title} (mean F1 {np.mean(f1s):.3f}, n={len(f1s)})" if len(f1s) else title,
    )
    return _save(fig, Path(path))


__all__ = ["arc_diagram", "dot_plot", "f1_by_length", "PAGE_COLORS", "require_matplotlib"]
