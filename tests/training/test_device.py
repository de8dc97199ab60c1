import pytest
import torch

from rnalm.errors import RnalmError
from rnalm.training.device import resolve_device
from rnalm.training.seeding import seed_everything


def test_cpu_and_auto():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(None).type in ("cpu", "cuda")


def test_bad_names_are_errors_in_the_callers_words():
    with pytest.raises(RnalmError, match="^--device: "):
        resolve_device("nonsense")
    if not torch.cuda.is_available():
        with pytest.raises(RnalmError, match="no CUDA GPU is available"):
            resolve_device("cuda")
        with pytest.raises(ValueError, match="^train.device=cuda"):
            resolve_device("cuda", no_cuda="train.device=cuda but CUDA is not available", error=ValueError)


def test_seed_everything_repeats_draws():
    seed_everything(7)
    a = torch.rand(3)
    seed_everything(7)
    assert torch.equal(a, torch.rand(3))
