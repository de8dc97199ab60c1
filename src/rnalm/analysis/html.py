"""The interactive map page: one self-contained HTML file (inline SVG and a few lines of JavaScript,
no CDN, no network), rendered from the autoescaped Jinja2 template ``templates/map.html.j2`` so that
record ids and labels are text, never markup. Hovering a point shows its id and label."""

from __future__ import annotations

import numpy as np
from jinja2 import Environment, PackageLoader

from rnalm.analysis.figures import palette
from rnalm.version import __version__

WIDTH, HEIGHT, MARGIN = 760, 560, 20

_ENV = Environment(
    loader=PackageLoader("rnalm.analysis", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def _scaled(xy: np.ndarray) -> np.ndarray:
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    unit = (xy - lo) / span
    return np.column_stack(
        [MARGIN + unit[:, 0] * (WIDTH - 2 * MARGIN), HEIGHT - MARGIN - unit[:, 1] * (HEIGHT - 2 * MARGIN)]
    )


def render_map(ids: list[str], labels: np.ndarray, xy: np.ndarray, title: str, scores: dict) -> str:
    """The page for one map: points coloured by label, a legend that hides or shows a label, the scores."""
    classes = sorted(set(labels.tolist()))
    colours = palette(classes)
    index = {c: i for i, c in enumerate(classes)}
    pts = _scaled(xy)
    points = [
        {"id": rid, "label": str(lab), "x": f"{x:.1f}", "y": f"{y:.1f}", "colour": colours[lab], "k": index[lab]}
        for rid, lab, (x, y) in zip(ids, labels.tolist(), pts)
    ]
    legend = [{"label": c, "colour": colours[c], "k": index[c], "n": int((labels == c).sum())} for c in classes]
    return _ENV.get_template("map.html.j2").render(
        title=title, points=points, legend=legend, scores=scores, width=WIDTH, height=HEIGHT, version=__version__
    )


__all__ = ["render_map"]
