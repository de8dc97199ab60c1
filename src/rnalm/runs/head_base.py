"""What every prediction head is: a module that declares which features of a batch it reads.

The heads themselves and their table are in :mod:`rnalm.runs.heads`.
"""

from __future__ import annotations

from torch import nn


class Head(nn.Module):
    #: feature names this head reads from the batch.
    needs: frozenset[str] = frozenset()


__all__ = ["Head"]
