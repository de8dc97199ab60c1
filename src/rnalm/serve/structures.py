"""Arc diagrams of dot-brackets for the page: each pair as a half circle above the sequence line."""

from __future__ import annotations

OPEN, CLOSE = "([{<" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ", ")]}>" + "abcdefghijklmnopqrstuvwxyz"


def pairs(structure: str) -> list[tuple[int, int]]:
    """0-based pairs of a dot-bracket (any bracket kind, so pseudoknots too)."""
    stacks: dict[str, list[int]] = {}
    out = []
    for j, c in enumerate(structure):
        if c in OPEN:
            stacks.setdefault(c, []).append(j)
        elif c in CLOSE:
            stack = stacks.get(OPEN[CLOSE.index(c)])
            if stack:
                out.append((stack.pop(), j))
    return sorted(out)


def arcs(structure: str, width: float = 600.0) -> dict:
    """SVG path data for an arc diagram ``width`` wide, and its height."""
    n = max(len(structure), 1)
    step = width / n
    paths = []
    for i, j in pairs(structure):
        x1, x2 = (i + 0.5) * step, (j + 0.5) * step
        r = (x2 - x1) / 2
        paths.append(f"M {x1:.1f} 0 A {r:.1f} {r:.1f} 0 0 1 {x2:.1f} 0")
    height = max([(j - i) * step / 2 for i, j in pairs(structure)] or [1.0]) + 4
    return {"paths": paths, "width": width, "height": round(height, 1)}
