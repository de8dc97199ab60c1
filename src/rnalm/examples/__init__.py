"""Example sequences installed with rnalm: the default input of ``rnalm demo``, and small inputs for
trying every command (``README.md`` beside this file says where each record comes from).

They are package data, found through :mod:`importlib.resources`, so they are there after a plain
``pip install rnalm`` and work from any directory.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

#: the demo's input: 5' UTRs, 3' UTRs, an IRES and ncRNAs from public datasets, ``type=`` in each header
EXAMPLE_FASTA = "example.fasta"


def path(name: str = EXAMPLE_FASTA) -> Path:
    """Where the installed example file ``name`` is (a plain file: rnalm is installed unzipped)."""
    return Path(str(resources.files(__name__).joinpath(name)))


__all__ = ["EXAMPLE_FASTA", "path"]
