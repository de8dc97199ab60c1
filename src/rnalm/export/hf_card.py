"""The README.md of an exported Hugging Face directory: how to load it, how to tokenise, what differs."""

from __future__ import annotations

from typing import Any, Sequence

from rnalm.alphabet import Alphabet


def example_sequence(alphabet: Alphabet, n: int = 12) -> str:
    """A sequence in the model's own letters, for the README's example."""
    letters = [t for t in alphabet.letters if len(t) == alphabet.k_mer and t.isalpha()] or list(alphabet.letters)
    return "".join(letters[i % min(len(letters), 4)] for i in range(n))


def hf_readme(
    name: str,
    alphabet: Alphabet,
    provenance: dict[str, Any],
    tokenisation: Sequence[str],
    differences: Sequence[str],
    max_abs_diff: float,
) -> str:
    bullets = "\n".join
    seq = example_sequence(alphabet)
    return f"""# {name}: rnalm export for transformers

Written by rnalm {provenance["rnalm_version"]} from `{provenance["source"]}` (alphabet `{alphabet.name}`)
as transformers' `EsmForMaskedLM`. `config.json` records the same under `rnalm_export`.

```python
from transformers import EsmForMaskedLM, EsmTokenizer

tokenizer = EsmTokenizer.from_pretrained("{name}")
model = EsmForMaskedLM.from_pretrained("{name}").eval()
batch = tokenizer(["{seq}", "{seq[: len(seq) // 2]}"], padding=True, return_tensors="pt")
out = model(**batch, output_hidden_states=True)  # out.logits; pass attention_mask for padded batches
```

## Tokenisation

{bullets(f"- {n}" for n in tokenisation)}

## Differences from rnalm

{bullets(f"- {n}" for n in differences) or "- none: the masked-LM logits and hidden states are rnalm's"}

## Check

At export, `EsmForMaskedLM.from_pretrained` loaded this directory with no missing or unexpected
tensors and reproduced rnalm's logits and final representation on a padded batch to within
{max_abs_diff:.1e} (largest absolute difference).
"""


__all__ = ["example_sequence", "hf_readme"]
