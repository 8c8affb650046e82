import pytest


@pytest.fixture(autouse=True)
def _fresh(fresh_upstream):
    """Every test here talks to an upstream."""
