"""Packaging a trained model as a shipped model (``python -m rnalm.packaging SOURCE --name NAME ...``).

One module per job: :mod:`~rnalm.packaging.options` (the request and what a packer returns),
:mod:`~rnalm.packaging.backbone`, :mod:`~rnalm.packaging.task` and :mod:`~rnalm.packaging.structure`
(one packer per kind), :mod:`~rnalm.packaging.runcopy` (a run reduced to what prediction needs),
:mod:`~rnalm.packaging.checkset` (the fixed check subset), :mod:`~rnalm.packaging.baselines`,
:mod:`~rnalm.packaging.previous` (the previous shipped model as a baseline and a gate),
:mod:`~rnalm.packaging.anchors` (the published figures on each task's held-out tests),
:mod:`~rnalm.packaging.recard` (rewriting that section of installed cards),
:mod:`~rnalm.packaging.card` (the model card), :mod:`~rnalm.packaging.manifest`,
:mod:`~rnalm.packaging.ship` (the whole sequence) and :mod:`~rnalm.packaging.cli` (the command line;
its help describes the sources and options).
"""

from rnalm.packaging.cli import main
from rnalm.packaging.manifest import remove
from rnalm.packaging.options import Options
from rnalm.packaging.ship import package

__all__ = ["Options", "main", "package", "remove"]
