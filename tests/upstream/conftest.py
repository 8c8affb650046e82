import pytest

from playground.upstream import UpstreamConfig, close_client, configure, get_config
from playground.upstream.models import clear_cache


@pytest.fixture(autouse=True)
async def _fresh_client():
    """Each test has its own event loop, hence its own client; close it with the loop."""
    yield
    await close_client()
    clear_cache()


@pytest.fixture
def upstream_config():
    """Change pool size or timeouts for one test."""
    original = get_config()

    def apply(**changes):
        configure(UpstreamConfig(**{**original.__dict__, **changes}))

    yield apply
    configure(original)
