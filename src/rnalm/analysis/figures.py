"""PNG figures: a labelled 2-D map, and a confusion matrix (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def palette(classes: list[str]) -> dict[str, str]:
    """One colour per class, the same in the PNG and the HTML map (tab10, tab20, then evenly spaced hues)."""
    n = len(classes)
    if n <= 20:
        cmap = plt.get_cmap("tab10" if n <= 10 else "tab20")
        return {c: matplotlib.colors.to_hex(cmap(i)) for i, c in enumerate(classes)}
    hsv = plt.get_cmap("hsv")
    return {c: matplotlib.colors.to_hex(hsv(i / n)) for i, c in enumerate(classes)}


def map_png(path: Path, xy: np.ndarray, labels: np.ndarray, title: str) -> None:
    classes = sorted(set(labels.tolist()))
    colours = palette(classes)
    fig, ax = plt.subplots(figsize=(7.5, 6))
    for c in classes:
        m = labels == c
        ax.scatter(xy[m, 0], xy[m, 1], s=6, color=colours[c], label=f"{c} ({int(m.sum())})", alpha=0.8)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(fontsize=6 if len(classes) > 10 else 8, markerscale=2, loc="center left", bbox_to_anchor=(1, 0.5))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def confusion_png(path: Path, classes: list[str], matrix: np.ndarray, title: str) -> None:
    n = len(classes)
    size = max(4.0, 0.32 * n + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    rows = matrix.sum(axis=1, keepdims=True)
    shown = np.divide(matrix, rows, out=np.zeros(matrix.shape), where=rows > 0)
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), classes, rotation=90, fontsize=7 if n > 10 else 9)
    ax.set_yticks(range(n), classes, fontsize=7 if n > 10 else 9)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true (row-normalised)")
    if n <= 12:
        for i in range(n):
            for j in range(n):
                ax.text(
                    j,
                    i,
                    str(matrix[i, j]),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if shown[i, j] > 0.5 else "black",
                )
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


__all__ = ["confusion_png", "map_png", "palette"]
