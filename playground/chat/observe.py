"""What operators see of runs: one structured log line per run, and Prometheus metrics.

The log line is JSON on the `playground.runs` logger at INFO: who (the user's id), where (the
endpoint, the model, this process), how it ended, and its figures; never the key and never
a message's text. The metrics are this process's own, served on a port of its own (the
launcher, with PLAYGROUND_METRICS_PORT) so that each process is scraped directly, never
through the proxy's round robin.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge, Histogram

from playground.transcripts.services import RunOutcome

if TYPE_CHECKING:
    from .session import RunSession

log = logging.getLogger("playground.runs")
PROCESS = f"{socket.gethostname()}:{os.getpid()}"

RUNS_STARTED = Counter("playground_runs_started", "Runs started.", ["endpoint"])
RUNS_FINISHED = Counter(
    "playground_runs_finished", "Runs ended, by how they ended.", ["endpoint", "status"]
)
TOKENS_RELAYED = Counter(
    "playground_tokens_relayed", "Pieces of output relayed (about one token each).", ["endpoint"]
)
TIME_TO_FIRST_TOKEN = Histogram(
    "playground_time_to_first_token_seconds",
    "From the run's start to its first token.",
    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64),
)
ADDED_DELAY = Histogram(
    "playground_added_delay_seconds",
    "From a piece of output arriving to the frame that carries it leaving.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 1),
)
RUNS_ACTIVE = Gauge("playground_runs_active", "Runs going in this process.")
WATCHERS = Gauge("playground_watchers", "Sockets watching this process's runs.")


def _sessions() -> list[RunSession]:
    from .registry import all_sessions

    return all_sessions()


RUNS_ACTIVE.set_function(lambda: len(_sessions()))
WATCHERS.set_function(lambda: sum(len(session.watchers) for session in _sessions()))


def run_started(session: RunSession) -> None:
    RUNS_STARTED.labels(session.spec.endpoint.name).inc()


def run_ended(session: RunSession, outcome: RunOutcome, saving: str) -> None:
    endpoint = session.spec.endpoint.name
    RUNS_FINISHED.labels(endpoint, outcome.status).inc()
    TOKENS_RELAYED.labels(endpoint).inc(outcome.received_tokens or 0)
    if outcome.time_to_first_token_ms is not None:
        TIME_TO_FIRST_TOKEN.observe(outcome.time_to_first_token_ms / 1000)
    usage = outcome.usage or {}
    line = {
        "event": "run_ended",
        "run": str(session.id),
        "user": session.user.pk,
        "endpoint": endpoint,
        "model": session.spec.body.get("model"),
        "status": outcome.status,
        "end_reason": outcome.end_reason,
        "saved": saving,
        "n": session.spec.n,
        "prompt_tokens": usage.get("prompt_tokens"),
        "completion_tokens": usage.get("completion_tokens"),
        "received_tokens": outcome.received_tokens,
        "ttft_ms": outcome.time_to_first_token_ms,
        "duration_ms": outcome.duration_ms,
        "error": (outcome.error or {}).get("kind"),
        "process": PROCESS,
    }
    log.info(json.dumps(line))
