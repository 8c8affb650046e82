"""The fault table: every way an upstream can fail, and for each what the page is sent and
what the transcript holds. Then 200 faults drawn at random (seeded), run many at once: every
run ends saved, with the right status.

Runs start through the registry with a watcher that keeps its frames (the socket adds
nothing to how a run ends); a few rows go through a real socket as well.
"""

import asyncio
import html
import random
import re
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from channels.db import database_sync_to_async

from playground.transcripts.models import Transcript
from playground.upstream import ErrorKind

from ..helpers import FINAL, Page, Socket, Unresponsive, form_data, session_cookie, spec_of
from ..hostile import chunk, sse

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream", "run_registry"),
]
ERROR, COMPLETED = Transcript.Status.ERROR, Transcript.Status.COMPLETED
# The simulator's answer to "Hello", token by token (each token one delta).
TOKENS = ["**Simulated", " reply**", " to", " “Hello”."]
STATUS_KINDS = {
    400: ErrorKind.BAD_REQUEST,
    401: ErrorKind.UNAUTHORIZED,
    403: ErrorKind.FORBIDDEN,
    404: ErrorKind.NOT_FOUND,
    408: ErrorKind.TIMEOUT,
    409: ErrorKind.BAD_REQUEST,
    413: ErrorKind.TOO_LARGE,
    422: ErrorKind.BAD_REQUEST,
    429: ErrorKind.RATE_LIMITED,
    500: ErrorKind.SERVER,
    502: ErrorKind.SERVER,
    503: ErrorKind.SERVER,
    504: ErrorKind.SERVER,
}
TITLES = {
    ErrorKind.BAD_REQUEST: "The endpoint rejected the request",
    ErrorKind.UNAUTHORIZED: "The endpoint rejected the API key",
    ErrorKind.FORBIDDEN: "The API key may not use this",
    ErrorKind.NOT_FOUND: "Not found (unknown model or wrong base URL)",
    ErrorKind.TOO_LARGE: "The request is too large for the endpoint",
    ErrorKind.RATE_LIMITED: "Rate limited by the endpoint",
    ErrorKind.SERVER: "The endpoint had a server error",
    ErrorKind.TIMEOUT: "The endpoint timed out",
    ErrorKind.CONNECT: "Could not connect to the endpoint",
    ErrorKind.DISCONNECTED: "The endpoint dropped the connection mid-stream",
    ErrorKind.PROTOCOL: "The endpoint sent something that is not a valid response",
}
# Short, so that the timeout rows end fast; long enough that no other run, among the many
# going at once on two loaded cores, ever waits that long: the upstreams run on threads of
# this process, and with 40 runs going and make test's other pass beside it, an upstream that
# answers at once (an HTTP 400) once took 1.5 s to (three runs then said "timed out"). The
# total is 3 s beyond the read timeout: a read timeout's run whose request took over a second
# to send on a loaded CI machine (one did) reached the total first and said so.
TIMEOUTS = {"connect_timeout": 1.0, "read_timeout": 3.0, "total_timeout": 6.0}
# The scripted upstream's faults (tests/hostile.py), by model name.
SCRIPTS = {
    "fault/error-event": sse(
        chunk(content="Partial "),
        {"error": {"message": "The model is overloaded", "code": 503}},
        done=False,
    ),
    "fault/bad-shape": sse(chunk(content="Partial "), {"choices": "not a list"}, done=False),
    # Cut before its finish reason and usage, and without [DONE]: not a complete answer.
    "fault/cut": sse(chunk(content="Partial "), done=False),
}


@dataclass(frozen=True)
class Fault:
    name: str
    model: str
    kind: ErrorKind | None  # None: no fault, the run completes
    message: str = ""  # the error's text, or the start of it
    status: int | None = None
    # What arrived before the fault, kept on the page and in the transcript (None: not known
    # ahead, for the knobs of a random draw; the page must then show what the row keeps).
    kept: str | None = ""
    endpoint: str = "simulator"
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def final(self) -> str:
        return COMPLETED if self.kind is None else ERROR


def http_fault(status: int) -> Fault:
    return Fault(
        f"HTTP {status}",
        f"simulator/chat?error={status}",
        STATUS_KINDS[status],
        f"Simulated error {status} (fault injected on request).",
        status,
    )


def table(refused: str, stuck: str) -> list[Fault]:
    """Every fault, as the endpoints of this test name them (`refused`, `stuck`: base URLs)."""
    return [
        *(http_fault(status) for status in STATUS_KINDS),
        Fault("connection refused", "m", ErrorKind.CONNECT, f"{refused}: ", endpoint="refused"),
        Fault(
            "connect timeout",
            "m",
            ErrorKind.TIMEOUT,
            f"No connection to {stuck} within {TIMEOUTS['connect_timeout']:g} s.",
            endpoint="stuck",
        ),
        Fault(
            "read timeout before the first token",
            "simulator/chat?first_token_delay=5",
            ErrorKind.TIMEOUT,
            f"Nothing arrived for {TIMEOUTS['read_timeout']:g} s.",
        ),
        Fault(
            "a stall mid-stream",
            "simulator/chat?tps=0.2",
            ErrorKind.TIMEOUT,
            f"Nothing arrived for {TIMEOUTS['read_timeout']:g} s.",
            kept=TOKENS[0],
        ),
        Fault(
            "total timeout (keep-alives only)",
            "simulator/chat?keepalive_only=1",
            ErrorKind.TIMEOUT,
            f"The response took longer than {TIMEOUTS['total_timeout']:g} s in all.",
        ),
        Fault(
            "malformed JSON event",
            "simulator/chat-fast?malformed_after=3",
            ErrorKind.PROTOCOL,
            "Malformed event (not JSON): '{not json'",
            kept="".join(TOKENS[:3]),
        ),
        Fault(
            "an event of the wrong shape",
            "fault/bad-shape",
            ErrorKind.PROTOCOL,
            "Unexpected shape in a stream event",
            kept="Partial ",
            endpoint="scripted",
        ),
        Fault(
            "connection dropped mid-stream",
            "simulator/chat-fast?disconnect_after=2",
            ErrorKind.DISCONNECTED,
            "The connection closed early (",
            kept="".join(TOKENS[:2]),
        ),
        # Some servers end a complete answer (finish reason and usage sent) without [DONE].
        Fault(
            "no [DONE] after a whole answer",
            "simulator/chat-fast?no_done=1&tokens=4",
            None,
            kept="".join(TOKENS),
        ),
        Fault(
            "no [DONE], cut short",
            "fault/cut",
            ErrorKind.PROTOCOL,
            "The stream ended without data: [DONE].",
            kept="Partial ",
            endpoint="scripted",
        ),
        Fault(
            "an error event mid-stream",
            "fault/error-event",
            ErrorKind.SERVER,
            "The model is overloaded",
            503,
            kept="Partial ",
            endpoint="scripted",
        ),
    ]


@pytest.fixture
def faults(settings, sim_endpoints_setting, refused_port, scripted, upstream_config):
    """The table, with an endpoint that refuses connections and one that never accepts them,
    the scripted upstream's scripts, and limits that let many runs go at once."""
    with Unresponsive() as stuck:
        refused_url = f"http://127.0.0.1:{refused_port}/v1"
        stuck_url = f"http://127.0.0.1:{stuck.port}/v1"
        settings.PLAYGROUND_ENDPOINTS = [
            *sim_endpoints_setting,
            {"name": "refused", "base_url": refused_url},
            {"name": "stuck", "base_url": stuck_url},
        ]
        settings.PLAYGROUND_MAX_CONCURRENT_RUNS = 1000
        settings.PLAYGROUND_RUNS_PER_MINUTE = 1000
        settings.PLAYGROUND_ORPHAN_GRACE = 0
        for model, parts in SCRIPTS.items():
            scripted.script(model, parts)
        upstream_config(**TIMEOUTS)
        yield {fault.name: fault for fault in table(refused_url, stuck_url)}


@pytest.fixture
async def signed_in(alice) -> tuple[Any, str]:
    """Alice and her session key, which a run checks when it starts."""
    return alice, await database_sync_to_async(session_cookie)(alice)


async def run_fault(registry, signed_in, fault: Fault) -> tuple[Page, Transcript]:
    """One run through the registry, to its end: what its page was sent, and its row."""
    page = Page()
    spec = await spec_of(endpoint=fault.endpoint, model=fault.model, **fault.fields)
    user, session_key = signed_in
    session = registry.start(spec, user=user, session_key=session_key, watcher=page)
    await session.task
    row = await database_sync_to_async(Transcript.objects.get)(uuid=session.id)
    return page, row


def check_page(frames: list[str], streamed: str, fault: Fault) -> None:
    """What the page shows: the text that arrived, then the error in place, saved."""
    assert streamed == fault.kept
    assert 'class="status running"' in frames[0]
    shown = html.unescape("".join(frames))
    assert FINAL.findall(shown) == [fault.final]
    assert 'class="saving saved"' in shown
    if fault.kind is None:
        assert 'class="error-box"' not in shown
        return
    title = TITLES[fault.kind] + (f" ({fault.status})" if fault.status else "")
    assert f"<strong>{title}</strong>" in shown
    assert fault.message in shown
    assert ("Retry after 2 s." in shown) == (fault.status == 429)
    # Said only when something did arrive before the fault.
    assert ("What arrived before it is kept above and in the transcript." in shown) == bool(
        streamed
    )


def check_transcript(row: Transcript, fault: Fault) -> None:
    """What the transcript keeps: the status, the error, the text that arrived."""
    assert row.status == fault.final
    # A choice is kept only once the upstream sent something of it.
    assert (row.choices[0]["content"] if row.choices else "") == fault.kept
    if fault.kind is None:
        assert row.error is None
        return
    assert row.error["kind"] == fault.kind
    assert row.error["title"] == TITLES[fault.kind]
    assert row.error["status"] == fault.status
    assert fault.message in row.error["message"]
    assert (row.error["retry_after"] is not None) == (fault.status == 429)


def problems(ended: list[tuple[Fault, Page, Transcript]]) -> dict[str, str]:
    """Each run whose page or transcript is not as its fault says, with what is wrong."""
    found = {}
    for fault, page, row in ended:
        try:
            check_page(page.frames, page.streamed(), fault)
            check_transcript(row, fault)
        except AssertionError as problem:
            found[f"{fault.name} ({fault.model})"] = str(problem)
    return found


async def test_each_fault_shows_in_place_and_is_kept_in_the_transcript(
    faults, run_registry, signed_in
):
    async def run(fault: Fault) -> tuple[Fault, Page, Transcript]:
        return fault, *await run_fault(run_registry, signed_in, fault)

    ended = await asyncio.gather(*(run(fault) for fault in faults.values()))
    assert problems(ended) == {}


RUN_ID = re.compile(r'id="current-run" value="([0-9a-f-]+)"')


async def test_faults_through_the_socket_show_the_same(faults, alice):
    async def run(fault: Fault) -> None:
        socket = Socket(alice)
        assert (await socket.connect())[0]
        await socket.run(form_data(endpoint=fault.endpoint, model=fault.model))
        await socket.close()
        started = next(i for i, f in enumerate(socket.frames) if RUN_ID.search(f))
        check_page(socket.frames[started:], socket.streamed(), fault)
        run_id = RUN_ID.search(socket.frames[started]).group(1)
        check_transcript(await database_sync_to_async(Transcript.objects.get)(uuid=run_id), fault)

    names = ["HTTP 429", "connection refused", "connection dropped mid-stream"]
    await asyncio.gather(*(run(faults[name]) for name in names))


def random_fault(rng: random.Random, faults: dict[str, Fault]) -> Fault:
    """A fault drawn at random, its knobs too; about one draw in five is a run with no fault."""
    after, tokens = rng.randint(0, 20), rng.randint(1, 30)
    fast = "simulator/chat-fast?"
    return rng.choice(
        [
            Fault("healthy", f"{fast}tokens={tokens}", None, kept=None),
            Fault("healthy, paced", f"simulator/chat?tps=1000&tokens={tokens}", None, kept=None),
            Fault("healthy, n 2", f"{fast}tokens={tokens}", None, kept=None, fields={"n": 2}),
            http_fault(rng.choice(list(STATUS_KINDS))),
            http_fault(rng.choice(list(STATUS_KINDS))),
            Fault("malformed", f"{fast}malformed_after={after}", ErrorKind.PROTOCOL, kept=None),
            Fault("dropped", f"{fast}disconnect_after={after}", ErrorKind.DISCONNECTED, kept=None),
            Fault("no [DONE]", f"{fast}no_done=1&tokens={tokens}", None, kept=None),
            *(
                faults[name]
                for name in (
                    "connection refused",
                    "connect timeout",
                    "read timeout before the first token",
                    "a stall mid-stream",
                    "total timeout (keep-alives only)",
                    "an event of the wrong shape",
                    "an error event mid-stream",
                )
            ),
        ]
    )


async def test_200_random_faults_all_end_saved_with_the_right_status(
    faults, run_registry, signed_in
):
    rng = random.Random(20_260_409)  # noqa: S311 (a reproducible draw, not a secret)
    drawn = [random_fault(rng, faults) for _ in range(200)]
    at_once = asyncio.Semaphore(40)

    async def run(fault: Fault) -> tuple[Fault, Page, Transcript]:
        async with at_once:
            page, row = await run_fault(run_registry, signed_in, fault)
        if fault.kept is None:
            fault = replace(fault, kept=row.choices[0]["content"] if row.choices else "")
        return fault, page, row

    ended = await asyncio.gather(*(run(fault) for fault in drawn))
    assert problems(ended) == {}
    assert {fault.name for fault in drawn} >= {"healthy", "HTTP 429", "a stall mid-stream"}
