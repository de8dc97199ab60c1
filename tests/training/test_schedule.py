import pytest

from rnalm.training.schedule import lr_factor


def test_warmup_then_decay():
    f = lr_factor("linear", 2, 10)
    assert [round(f(s), 3) for s in range(4)] == [0.333, 0.667, 1.0, 0.875]
    assert f(10) == 0.0 and f(20) == 0.0
    c = lr_factor("cosine", 0, 10)
    assert c(0) == 1.0 and c(5) == pytest.approx(0.5) and c(10) == pytest.approx(0.0) and c(15) == pytest.approx(0.0)
    assert lr_factor("constant", 3, 10)(8) == 1.0


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown learning-rate schedule 'step'"):
        lr_factor("step", 0, 10)
