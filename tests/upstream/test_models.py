import pytest

from playground.simulator import MODELS
from playground.upstream import Endpoint, ErrorKind, UpstreamUnavailable, list_models
from playground.upstream.models import clear_cache


async def test_lists_the_simulator_models_labelled_as_simulated(sim_endpoint):
    models = await list_models(sim_endpoint)
    assert [m.id for m in models] == sorted(MODELS)
    assert all(m.simulated and m.owned_by == "simulator" for m in models)


async def test_the_list_is_cached_for_a_short_while(sim_endpoint, simulator, upstream_config):
    before = simulator.model_list_requests
    await list_models(sim_endpoint)
    await list_models(sim_endpoint)
    assert simulator.model_list_requests == before + 1

    upstream_config(models_cache_seconds=0)
    clear_cache()
    await list_models(sim_endpoint)
    await list_models(sim_endpoint)
    assert simulator.model_list_requests == before + 3


async def test_an_unreachable_endpoint_says_why(refused_port):
    endpoint = Endpoint(name="gone", base_url=f"http://127.0.0.1:{refused_port}/v1")
    with pytest.raises(UpstreamUnavailable) as caught:
        await list_models(endpoint)
    assert caught.value.error.kind == ErrorKind.CONNECT
    assert str(caught.value).startswith("Could not connect to the endpoint: ")


async def test_a_wrong_base_url_says_not_found(simulator_server):
    endpoint = Endpoint(name="wrong", base_url=f"http://127.0.0.1:{simulator_server.port}/v2")
    with pytest.raises(UpstreamUnavailable) as caught:
        await list_models(endpoint)
    assert (caught.value.error.kind, caught.value.error.status) == (ErrorKind.NOT_FOUND, 404)
