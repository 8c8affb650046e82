"""What bench/relay.py measures, all reading the same simulator process: the simulator read
directly (the physical limit), LiteLLM's proxy in front of it, and the app ("ours", with
variants that turn one lever back each, and optionally the app as a baseline commit has it).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.helpers import ROOT, DaphneServer, free_port, wait_until
from tests.proxy import DAPHNE_BEHIND_NGINX, Nginx

from .common import export, prepared
from .readers import Starter, Stream, read_socket, read_sse

VENV = ROOT / ".venv-bench"
REQUIREMENTS = ROOT / "requirements-bench.txt"

# The levers, each turned back alone: ours with asyncio's loop, with httpx's own transport.
VARIANTS = {
    "ours": {},
    "ours-asyncio": {"PLAYGROUND_UVLOOP": "false"},
    "ours-httpx": {"UPSTREAM_TRANSPORT": "httpx"},
}


def production_env(most: int) -> dict[str, str]:
    """Production settings (without the redirect to https), and the limits raised above the
    largest concurrency: a refused run is a failure of the bench."""
    return {
        "PLAYGROUND_ENV": "production",
        "SECURE_SSL_REDIRECT": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "PLAYGROUND_MAX_CONCURRENT_RUNS": str(2 * most),
        "PLAYGROUND_MAX_RUNS_PER_PROCESS": str(max(200, 2 * most)),
        "PLAYGROUND_RUNS_PER_MINUTE": "1000000",
        "PLAYGROUND_TOKENS_PER_DAY": str(10**12),
    }


class Direct:
    """Clients reading the simulator's SSE themselves."""

    name = "direct"
    pids: list[int] = []  # the server's processes, whose CPU and memory are counted

    def __init__(self, base_url: str, key: str = ""):
        self.url = f"{base_url}/chat/completions"
        self.client = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=None),
            timeout=120,
            headers={"Authorization": f"Bearer {key}"} if key else None,
        )

    async def read(
        self, model: str, start: Starter, offset: float, stream: Stream, index: int
    ) -> None:
        await start.wait(offset)
        await read_sse(self.client, self.url, model, stream)

    async def close(self) -> None:
        await self.client.aclose()


class LiteLLM(Direct):
    """LiteLLM's proxy, one worker, the simulator as an OpenAI provider, in a venv of its own."""

    name = "litellm"

    def __init__(self, process: subprocess.Popen, port: int, key: str):
        super().__init__(f"http://127.0.0.1:{port}/v1", key)
        self.pids = [process.pid]


class Ours:
    """The app in Daphne (in one process or several behind nginx, at `url`), read through its
    run socket as the page does."""

    def __init__(self, name: str, url: str, pids: list[int], cookies: list[str]):
        self.name = name
        self.pids = pids
        self.url = url.replace("http", "ws", 1) + "/ws/run/"
        self.cookies = cookies

    async def read(
        self, model: str, start: Starter, offset: float, stream: Stream, index: int
    ) -> None:
        cookie = self.cookies[index % len(self.cookies)]
        await read_socket(self.url, cookie, model, start, offset, stream)

    async def close(self) -> None:
        pass


def ensure_litellm() -> Path:
    """The bench's own venv with LiteLLM, made once from requirements-bench.txt."""
    litellm = VENV / "bin" / "litellm"
    if not litellm.exists():
        print(f"Installing LiteLLM into {VENV} (once) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        pip = [str(VENV / "bin" / "pip"), "install", "--quiet", "--require-hashes"]
        subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
    return litellm


@contextlib.contextmanager
def litellm_proxy(simulator_url: str, models: list[str]) -> Iterator[LiteLLM]:
    """`litellm --config` with one entry per benchmark model (YAML is a superset of JSON)."""
    config = {
        "model_list": [
            {
                "model_name": model,
                "litellm_params": {
                    "model": f"openai/{model}",
                    "api_base": simulator_url,
                    "api_key": "bench",
                },
            }
            for model in models
        ],
        "litellm_settings": {"request_timeout": 600, "telemetry": False},
    }
    path = Path(tempfile.mkdtemp(prefix="bench-litellm-")) / "config.yaml"
    path.write_text(json.dumps(config))
    port, key = free_port(), f"sk-bench-{secrets.token_hex(16)}"
    # Nothing of the app's environment: a DATABASE_URL would make LiteLLM look for its own DB.
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(path.parent)),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_MASTER_KEY": key,
        "LITELLM_LOG": "ERROR",
    }
    command = [str(ensure_litellm()), "--config", str(path), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--num_workers", "1"]
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115  (closed below)
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _answers(f"http://127.0.0.1:{port}/health/liveliness", process), 120)
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"LiteLLM did not start: {log.read()[-2000:]}")
        yield LiteLLM(process, port, key)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _answers(url: str, process: subprocess.Popen) -> bool:
    if process.poll() is not None:
        return True
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@contextlib.contextmanager
def ours(
    name: str,
    simulator_url: str,
    database: str,
    env: dict[str, str],
    users: int,
    ref: str | None = None,
) -> Iterator[Ours]:
    """The app from this checkout (or from commit `ref`), static files collected, on its
    database, as production runs it; each concurrent stream is another user's, as each
    would be in use (one user's thousands of runs a day would make their rate limits' queries
    the bench's subject)."""
    root = export(ref) if ref else ROOT
    env = {**env, **VARIANTS.get(name, {})}
    env, cookies = _app(root, simulator_url, database, env, users)
    with DaphneServer(cwd=root, **env) as server:
        yield Ours(name, server.url, [server.process.pid], cookies)


@contextlib.contextmanager
def ours_deployed(
    processes: int, simulator_url: str, database: str, env: dict[str, str], users: int
) -> Iterator[Ours]:
    """The app scaled out as docs/deploy.md does it: `processes` Daphnes behind nginx
    (deploy/nginx.conf), one PostgreSQL database, Redis as the channel layer (REDIS_URL in
    `env`). The clients reach it through nginx; CPU and memory are the Daphnes' together."""
    env, cookies = _app(ROOT, simulator_url, database, env, users)
    with contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(DaphneServer(*DAPHNE_BEHIND_NGINX, **env)) for _ in range(processes)
        ]
        proxy = stack.enter_context(Nginx([f"127.0.0.1:{server.port}" for server in servers]))
        pids = [server.process.pid for server in servers]
        yield Ours(f"ours x{processes} nginx", proxy.url, pids, cookies)


def _app(
    root: Path, simulator_url: str, database: str, env: dict[str, str], users: int
) -> tuple[dict[str, str], list[str]]:
    """The app's environment on `database`, its static files collected and its migrations
    run, and a session cookie for each of `users` users."""
    endpoints = [{"name": "simulator", "base_url": simulator_url}]
    env = {**env, "DATABASE_URL": database, "PLAYGROUND_ENDPOINTS": json.dumps(endpoints)}
    collect_static(root, env)
    return env, prepared(root, database, env, users=users)


def collect_static(root: Path, env: dict[str, str]) -> None:
    """Production serves what collectstatic gathered (with its manifest)."""
    collect = [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"]
    subprocess.run(collect, cwd=root, env={**os.environ, **env}, check=True)
