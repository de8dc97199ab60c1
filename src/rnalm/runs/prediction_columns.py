"""What ``rnalm predict`` calls its prediction columns, so a table is usable without a legend.

A task model has a *name* for what it predicts: a shipped model's comes from the manifest
(``te_log``, ``halflife``, ``ires``, ``family``); a run of ``rnalm finetune`` uses its label column
(``data.label_column``, or the loader's label name), unless that is a generic word (``label``,
``y``, ``target``, ...), when the name is ``prediction``. From the name and the label state:

* regression: ``NAME`` (in the label's units), and ``NAME_std`` for a cross-validated or ensemble
  run (the spread of its fold or member models);
* binary classification with classes ``0/1`` (or ``false/true``, ``no/yes``, ``neg/pos``):
  ``NAME_probability``, the probability of the positive class (a generic name gives ``probability``);
* any other classification: ``NAME`` (generic: ``prediction``), the most probable class, and
  ``prob_CLASS`` for every class, by the class names the run was trained on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

#: Label column names that say nothing about what is predicted.
GENERIC_NAMES = frozenset({"label", "labels", "y", "target", "targets", "value", "score", "class", "prediction"})
#: Two-class label sets read as negative/positive, positive second.
BINARY_CLASSES = (("0", "1"), ("false", "true"), ("no", "yes"), ("neg", "pos"), ("negative", "positive"))


def name_from_label(label_column: Optional[str]) -> Optional[str]:
    """The name a run's label column gives its predictions, or ``None`` for a generic one."""
    if not label_column or label_column.strip().lower() in GENERIC_NAMES:
        return None
    return label_column.strip()


def positive_class(classes: Sequence[str]) -> Optional[str]:
    """The positive class of a binary label set (:data:`BINARY_CLASSES`), else ``None``."""
    if len(classes) != 2:
        return None
    lowered = [str(c).strip().lower() for c in classes]
    for neg, pos in BINARY_CLASSES:
        if sorted(lowered) == sorted([neg, pos]):
            return str(classes[lowered.index(pos)])
    return None


@dataclass(frozen=True)
class PredictionColumns:
    """The prediction columns of one task model, and how the model's raw columns map onto them."""

    #: raw column (``prediction``, ``prediction_std``, ``prob_CLASS``) -> output column
    mapping: Mapping[str, str]
    #: what the main column holds and in which unit (for help texts and cards)
    unit: str = ""

    @property
    def names(self) -> list[str]:
        return list(self.mapping.values())

    def rename(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        return {out: raw[k] for k, out in self.mapping.items() if k in raw}


def prediction_columns(
    task: str, classes: Sequence[str], name: Optional[str], folds: int = 1, unit: str = ""
) -> PredictionColumns:
    """The columns of a ``task`` (``regression`` / ``classification``) model named ``name``."""
    if task != "classification":
        main = name or "prediction"
        mapping = {"prediction": main}
        if folds > 1:
            mapping["prediction_std"] = f"{main}_std"
        return PredictionColumns(mapping, unit)
    pos = positive_class(classes)
    if pos is not None:
        return PredictionColumns({f"prob_{pos}": f"{name}_probability" if name else "probability"}, unit)
    mapping = {"prediction": name or "prediction"}
    mapping.update({f"prob_{c}": f"prob_{c}" for c in classes})
    return PredictionColumns(mapping, unit)


__all__ = [
    "BINARY_CLASSES",
    "GENERIC_NAMES",
    "PredictionColumns",
    "name_from_label",
    "positive_class",
    "prediction_columns",
]
