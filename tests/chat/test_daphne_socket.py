"""The run socket under a real Daphne, as `make run` serves it: messages between the app's
limit and Daphne's are answered; closed tabs are no error; a client that stops reading does
not grow the server, and one that reads gets every byte once, in order."""

import asyncio
import contextlib
import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import websockets
from channels.db import database_sync_to_async
from django.db import connection

from playground.launch import WEBSOCKET_LIMITS
from playground.transcripts.models import Transcript

from ..helpers import (
    FINAL,
    ROOT,
    DaphneServer,
    ack_for,
    appended,
    database_url,
    endpoints_for_tests,
    eventually,
    form_data,
    session_cookie,
)
from ..hostile import chunk, pieces, sse

# Daphne's limits and sockets are the same on any database and channel layer: one pass.
pytestmark = [
    pytest.mark.multiprocess,
    pytest.mark.sqlite_only,
    pytest.mark.django_db(transaction=True),
]
MiB = 1024 * 1024
ANSWER = "".join(f"Paragraph {n}: " + "word " * 150 + "\n\n" for n in range(13_000))  # 10 MB


@pytest.fixture(scope="module")
def server(django_db_setup, simulator_server, scripted_server):
    env = {
        "DATABASE_URL": database_url(connection.settings_dict),
        "PLAYGROUND_ENDPOINTS": json.dumps(endpoints_for_tests(simulator_server, scripted_server)),
        "SIMULATOR_ENABLED": "false",
        "PLAYGROUND_ORPHAN_GRACE": "0",
        "PLAYGROUND_ACK_TIMEOUT": "60",  # a reader that stops is held while a test measures
        "PLAYGROUND_MAX_CONCURRENT_RUNS": "1000",  # closed tabs' runs end a moment later
    }
    with DaphneServer(**env) as server:
        yield server


@pytest.fixture
def url(server, alice):
    return server.url.replace("http", "ws", 1) + "/ws/run/"


@pytest.fixture
def cookie(alice):
    return session_cookie(alice)


@pytest.fixture
def headers(server, cookie):
    return {"Origin": server.url, "Cookie": f"sessionid={cookie}"}


def log_of(server: DaphneServer) -> str:
    server.errors.seek(0)
    return server.errors.read()


def rss(pid: int) -> int:
    """The process's resident memory, in bytes."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024


@database_sync_to_async
def ended(model: str) -> Transcript | None:
    return Transcript.objects.filter(model=model).exclude(status="running").first()


def test_every_launcher_gives_daphne_room_above_the_apps_limit():
    usage = subprocess.run(
        [Path(sys.executable).with_name("daphne"), "--help"], capture_output=True, text=True
    ).stdout
    limits = dict(zip(WEBSOCKET_LIMITS[::2], WEBSOCKET_LIMITS[1::2], strict=True))
    assert all(flag in usage for flag in limits), "flags Daphne knows"
    assert {int(size) for size in limits.values()} == {4 * MiB}
    for launcher in ["Makefile", "docker/entrypoint.sh"]:
        assert "-m playground.launch" in (ROOT / launcher).read_text(), launcher


async def test_a_message_between_the_apps_limit_and_daphnes_is_answered(url, headers):
    async with websockets.connect(url, additional_headers=headers, max_size=None) as page:
        await page.send(
            json.dumps(form_data(messages=[{"role": "user", "content": "a" * 2 * MiB}]))
        )
        answer = await asyncio.wait_for(page.recv(), 10)
        assert "over the 1 MiB a run may send: nothing was run" in answer
        await page.send(json.dumps({"action": "stop"}))  # the socket is still open
        await page.send(json.dumps(form_data(model="simulator/chat-fast", max_tokens=3)))
        while not FINAL.search(await asyncio.wait_for(page.recv(), 10)):
            pass


async def test_tabs_closed_mid_run_log_no_error(server, url, headers, scripted):
    """Tabs closed at every point of a run, and tabs that stopped reading (a sleeping laptop)
    then close: the server's sends after the close handshake began find the socket closing."""
    model = "simulator/chat?tps=200&tokens=400"

    async def tab(when: int) -> None:
        page = await websockets.connect(url, additional_headers=headers, max_size=None)
        await page.send(json.dumps(form_data(model=model)))
        for _ in range(when):
            if ack := ack_for(await asyncio.wait_for(page.recv(), 10)):
                await page.send(json.dumps(ack))
        await page.close(code=1001)  # the browser's "going away"

    async def stalled_tab() -> None:
        run = form_data(endpoint="scripted", model="long")
        with raw_tab(server, headers) as tab:
            tab.sendall(frame(json.dumps(run).encode()))
            await asyncio.sleep(0.3)  # the server's writes to it back up
            # One more message (answered: "a run is going") and the close, in one segment:
            # the answer is sent after the server has begun the closing handshake.
            tab.sendall(frame(json.dumps(run).encode()) + frame(b"\x03\xe9", opcode=8))
            await asyncio.sleep(0.3)

    scripted.script("long", sse(*[chunk(content=p) for p in pieces(ANSWER, 8192)]))
    for when in [0, 1, 2, 3, 5, 8, 13, 0, 2, 4]:
        await tab(when)
    for _ in range(3):
        await stalled_tab()
    await asyncio.sleep(1.5)  # Daphne reports an application's error within a second
    log = log_of(server)
    assert " ERROR " not in log, log
    assert "Traceback" not in log, log


async def reader_that_stops(server: DaphneServer, headers: dict, data: dict):
    """A websocket client that sends a run, then never reads: its receive buffer is small and
    its queue holds one message, so whatever else the server sends waits in the server."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    url = server.url.replace("http", "ws", 1) + "/ws/run/"
    page = await websockets.connect(
        url, sock=sock, additional_headers=headers, max_size=None, max_queue=1
    )
    await page.send(json.dumps(data))
    return page


@contextlib.contextmanager
def raw_tab(server: DaphneServer, headers: dict):
    """A websocket client on a bare socket with a small receive buffer that it never reads."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(
        (
            f"GET /ws/run/ HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
            + "\r\n"
        ).encode()
    )
    assert sock.recv(12) == b"HTTP/1.1 101"
    try:
        yield sock
    finally:
        sock.close()


def frame(payload: bytes, opcode: int = 1) -> bytes:
    """One masked client frame."""
    length = len(payload)
    header = bytes([0x80 | opcode])
    if length < 126:
        header += bytes([0x80 | length])
    elif length < 65536:
        header += bytes([0x80 | 126]) + length.to_bytes(2, "big")
    else:
        header += bytes([0x80 | 127]) + length.to_bytes(8, "big")
    mask = b"mask"
    return header + mask + bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))


async def test_a_client_that_stops_reading_leaves_the_servers_memory_flat(
    server, scripted, headers
):
    script = scripted.script("long", sse(*[chunk(content=p) for p in pieces(ANSWER, 8192)]))
    pid = server.process.pid
    before = rss(pid)
    page = await reader_that_stops(server, headers, form_data(endpoint="scripted", model="long"))
    peak = before
    async with asyncio.timeout(30):
        while not script.sent.is_set():  # the whole answer has gone to the server
            peak = max(peak, rss(pid))
            await asyncio.sleep(0.02)
    for _ in range(50):  # and the server holds it, for a reader that reads nothing
        peak = max(peak, rss(pid))
        await asyncio.sleep(0.02)
    assert not await ended("long"), "the run waits on its reader, which still reads nothing"
    page.transport.abort()
    row = await eventually(lambda: ended("long"), within=30)
    assert len(row.choices[0]["content"]) == len(ANSWER), "saved whole"
    await asyncio.sleep(0.5)
    held, after = (peak - before) / MiB, (rss(pid) - before) / MiB
    assert held < 32, f"{held:.0f} MiB more while a 10 MB answer waited on a reader"
    assert after < 16, f"{after:.0f} MiB more after the run"


async def test_a_client_that_reads_gets_every_byte_once_in_order(url, headers, scripted):
    scripted.script("long", sse(*[chunk(content=piece) for piece in pieces(ANSWER, 8192)]))
    texts, frames, started = [], 0, time.monotonic()
    async with websockets.connect(url, additional_headers=headers, max_size=MiB) as page:
        await page.send(json.dumps(form_data(endpoint="scripted", model="long")))
        while True:
            frame = await asyncio.wait_for(page.recv(), 30)
            frames += 1
            assert len(frame.encode()) <= 256 * 1024
            if ack := ack_for(frame):
                await page.send(json.dumps(ack))
            texts.append(appended(frame))
            if FINAL.search(frame):
                break
    assert "".join(texts) == ANSWER
    assert frames > len(ANSWER) / (256 * 1024), (frames, time.monotonic() - started)
