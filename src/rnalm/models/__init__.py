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


def alphabets() -> dict[str, "Alphabet"]:
    """Every published alphabet, by name (collected from the families' ``alphabet`` modules)."""
    from rnalm.alphabet import Alphabet

    found: dict[str, Alphabet] = {}
    for fam in ("rnafm", "esm2", "utrlm", "lamar", "protrna"):
        try:
            mod = importlib.import_module(f"rnalm.models.{fam}.alphabet")
        except ModuleNotFoundError:
            continue
        for value in vars(mod).values():
            if isinstance(value, Alphabet):
                found[value.name] = value
    return found


def get_alphabet(name: str) -> "Alphabet":
    table = alphabets()
    if name not in table:
        raise ValueError(f"unknown alphabet {name!r}; known: {sorted(table)}")
    return table[name]
