import pytest


@pytest.fixture(autouse=True)
def _shipped_models(monkeypatch):
    """The server offers the models installed with the package (as a user's server does)."""
    from rnalm import shipped

    monkeypatch.delenv(shipped.ENV_DIR, raising=False)
