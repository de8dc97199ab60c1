"""Progress on long work, and the closing line every long command prints.

One front end for every command and the Python API: tqdm's ``auto`` bar, which is a widget in a
notebook and a text bar on a terminal. ``show=None`` (the default) shows it only where someone can
see it -- a terminal on standard error, or a notebook -- so logs and pipes stay clean; ``True``
forces it (``--progress``) and ``False`` hides it (``-q``). The closing line (records, time, rate)
is the same whatever showed the bar: :func:`summary`.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Optional, TextIO

from tqdm.auto import tqdm


def in_notebook() -> bool:
    """True inside a Jupyter kernel (tqdm.auto then draws a widget)."""
    return "ipykernel" in sys.modules


def wanted(show: Optional[bool], stream: Optional[TextIO] = None) -> bool:
    """Whether to show a bar: as asked, else when ``stream`` (default: standard error as it is now)
    is a terminal or we run in a notebook."""
    if show is not None:
        return show
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) or in_notebook()


def summary(count: int, seconds: float, unit: str = "records") -> str:
    """``1090 records in 66.2 s (16.5 records/s)``: the closing line of a long command."""
    rate = count / seconds if seconds > 0 else float("inf")
    counted = unit[:-1] if count == 1 and unit.endswith("s") else unit  # 1 record, 2 records
    return f"{count} {counted} in {seconds:.1f} s ({rate:.1f} {unit}/s)"


class Progress:
    """A progress bar over ``total`` items (``None``: unknown) that also times the work.

    Use as a context manager; :meth:`update` after each item or batch, :meth:`summary` for the
    closing line. Nothing is drawn when :func:`wanted` says no, but the count and time are kept.
    """

    def __init__(
        self,
        total: Optional[int],
        desc: str,
        unit: str = "records",
        show: Optional[bool] = None,
        stream: Optional[TextIO] = None,
    ) -> None:
        stream = sys.stderr if stream is None else stream  # looked up now: it may have been redirected
        self.unit = unit
        self.count = 0
        self.start = time.perf_counter()
        self.bar: Optional[tqdm] = None
        if wanted(show, stream):
            self.bar = tqdm(total=total, desc=desc, unit=unit.rstrip("s") or unit, file=stream, dynamic_ncols=True)

    def update(self, n: int = 1) -> None:
        self.count += n
        if self.bar is not None:
            self.bar.update(n)

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start

    def summary(self) -> str:
        return summary(self.count, self.seconds, self.unit)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> "Progress":
        return self

    def __exit__(
        self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.close()


__all__ = ["Progress", "in_notebook", "summary", "wanted"]
