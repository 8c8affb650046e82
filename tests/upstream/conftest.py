import pytest

from playground.upstream import UpstreamConfig, configure, get_config


@pytest.fixture(autouse=True)
def _fresh(fresh_upstream):
    """Every test here talks to an upstream."""


@pytest.fixture
def upstream_config():
    """Change pool size or timeouts for one test."""
    original = get_config()

    def apply(**changes):
        configure(UpstreamConfig(**{**original.__dict__, **changes}))

    yield apply
    configure(original)
