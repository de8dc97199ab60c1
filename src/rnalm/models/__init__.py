"""One sub-package per published model family: alphabet, named configs, converter, model card.

Importing this package registers every checkpoint format with :mod:`rnalm.io.formats`. The order
is the order formats are tried in; each sniffer looks at content and is exclusive of the others.
"""
import importlib

FORMAT_MODULES = (
    "rnalm.io.native",
    "rnalm.models.rnafm",
    "rnalm.models.esm2",
    "rnalm.models.utrlm",
    "rnalm.models.lamar",
    "rnalm.models.protrna",
)

for _name in FORMAT_MODULES:
    importlib.import_module(_name)
