"""The interface every predictor offers."""

from __future__ import annotations

from typing import Any, Protocol, Sequence

#: ``(id, sequence)``.
Record = tuple[str, str]


class Predictor(Protocol):
    """Something that predicts for sequences: a task model, a structure model, ViennaRNA."""

    #: what predicts, in words (``shipped model te-utrlm``, ``run runs/x``, ``ViennaRNA 2.6``).
    description: str

    def predict(self, records: Sequence[Record]) -> list[Any]:
        """One prediction per record, in order."""
        ...


__all__ = ["Predictor", "Record"]
