"""Toy task models with the predictor interface, so design tests run in milliseconds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pytest

from rnalm.runs.prediction_columns import prediction_columns
from rnalm.runs.sequences import Window


@dataclass
class Toy:
    """Predicts a weighted letter count; refuses (``not scored``) sequences holding ``refuse``."""

    weights: tuple[float, float, float, float] = (0.0, 1.0, 2.0, -1.0)
    max_nt: Optional[int] = 100
    refuse: str = ""
    description: str = "toy model"
    name: str = "toy"
    folds: int = 1

    @property
    def columns(self):
        return prediction_columns("regression", [], self.name, self.folds)

    @property
    def window(self):
        return Window(self.max_nt, "error")

    def value(self, seq: str) -> float:
        return sum(w * seq.count(b) for w, b in zip(self.weights, "ACGU")) / len(seq) + 0.01 * seq.find("GC")

    def predict(self, records):
        rows = []
        for rid, seq in records:
            ok = not (self.refuse and self.refuse in seq)
            row = {"id": rid, self.name: self.value(seq) if ok else None}
            if self.folds > 1:
                row[f"{self.name}_std"] = 0.1 if ok else None
            row.update(length=len(seq), read=len(seq) if ok else None, note="" if ok else "not scored: toy refuses")
            rows.append(row)
        return rows


@pytest.fixture
def toy():
    return Toy
