"""What operators see of runs: one JSON log line per run, without text or key, and the
process's Prometheus metrics on a port of its own."""

import json
import logging

import httpx
import pytest
from django.db import connection
from prometheus_client import REGISTRY

from ..helpers import (
    DaphneServer,
    Socket,
    database_url,
    endpoints_for_tests,
    eventually,
    form_data,
    free_port,
)

pytestmark = pytest.mark.django_db(transaction=True)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream", "run_registry")
async def test_a_run_ends_with_one_log_line_and_counts_in_the_metrics(alice, settings, caplog):
    settings.PLAYGROUND_ORPHAN_GRACE = 0
    finished = ("playground_runs_finished_total", {"endpoint": "simulator", "status": "completed"})
    before = sample(finished[0], **finished[1])
    tokens_before = sample("playground_tokens_relayed_total", endpoint="simulator")
    delays_before = sample("playground_added_delay_seconds_count")
    caplog.set_level(logging.INFO, logger="playground.runs")
    socket_ = Socket(alice)
    await socket_.connect()
    messages = [{"role": "user", "content": "A secret question"}]
    assert await socket_.run(form_data(messages, max_tokens=12)) == "completed"
    # Logged once the ending is saved, right after the page is told.
    (text,) = await eventually(
        lambda: [r.getMessage() for r in caplog.records if r.name == "playground.runs"]
    )
    await socket_.close()

    line = json.loads(text)
    assert line["event"] == "run_ended"
    assert (line["user"], line["endpoint"], line["status"]) == (alice.pk, "simulator", "completed")
    assert (line["completion_tokens"], line["received_tokens"], line["saved"]) == (12, 12, "saved")
    assert line["ttft_ms"] is not None
    assert "secret" not in text  # never a message's text
    assert socket_.streamed()[:20] not in text
    assert sample(finished[0], **finished[1]) == before + 1
    assert sample("playground_tokens_relayed_total", endpoint="simulator") == tokens_before + 12
    assert sample("playground_added_delay_seconds_count") > delays_before  # a frame, at least


@pytest.mark.multiprocess
def test_a_served_process_serves_its_metrics_on_a_port_of_its_own(
    simulator_server, scripted_server
):
    port = free_port()
    env = {
        "DATABASE_URL": database_url(connection.settings_dict),
        "PLAYGROUND_ENDPOINTS": json.dumps(endpoints_for_tests(simulator_server, scripted_server)),
        "SIMULATOR_ENABLED": "false",
        "PLAYGROUND_METRICS_PORT": str(port),
    }
    with DaphneServer(**env) as server:
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert "playground_runs_active 0.0" in metrics
        assert "playground_watchers 0.0" in metrics
        assert httpx.get(f"{server.url}/metrics").status_code == 404  # not through the app
