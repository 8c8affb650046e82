"""The one way this app's server starts: Daphne, plus this process's own background work.

`make run`, the container, systemd and the tests all run `python -m playground.launch` with
Daphne's options (`-b`, `-p`, `-u`, `--fd`, ...); the application is always this one. Daphne
sends no ASGI lifespan events, so what a process does besides serving starts here, once, when
its reactor (and so its event loop) starts: the drain on SIGTERM, the sweep of runs whose
process died (PLAYGROUND_BACKGROUND_TASKS turns both off), and the metrics server
(PLAYGROUND_METRICS_PORT).
"""

from __future__ import annotations

import asyncio
import os
import sys

APPLICATION = "playground.asgi:application"
# Messages up to 4 MiB reach the app, which answers those over its own limit
# (PLAYGROUND_MAX_MESSAGE_BYTES, 1 MiB) clearly; past Daphne's limit the socket would just
# close (1009), which the page's ws extension does not reconnect after. Options given later
# (on the command line) override these.
WEBSOCKET_LIMITS = [
    "--websocket-max-message-size",
    "4194304",
    "--websocket-max-frame-size",
    "4194304",
]


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
    use_uvloop()
    # Importing Daphne's CLI imports daphne.server, which installs Twisted's asyncio reactor:
    # only from then on is `twisted.internet.reactor` the one that will run.
    from daphne.cli import CommandLineInterface  # type: ignore[import-untyped]
    from twisted.internet import reactor

    reactor.callWhenRunning(start_background_work)
    options = sys.argv[1:] if argv is None else argv
    CommandLineInterface().run([*WEBSOCKET_LIMITS, *options, APPLICATION])


def use_uvloop() -> None:
    """uvloop as the event loop, unless PLAYGROUND_UVLOOP is false: it relays a token with less
    CPU (bench/relay.py). Its policy must be set before daphne.server is imported, which makes
    the loop, so it is set here and not in settings."""
    import environ

    if environ.Env().bool("PLAYGROUND_UVLOOP", default=True):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def start_background_work() -> None:
    """Called by the reactor as it starts, after Daphne has loaded the app (and Django)."""
    from django.conf import settings
    from prometheus_client import start_http_server

    from playground.chat import shutdown, sweep

    if settings.PLAYGROUND_METRICS_PORT:
        start_http_server(settings.PLAYGROUND_METRICS_PORT, settings.PLAYGROUND_METRICS_ADDRESS)
    if not settings.PLAYGROUND_BACKGROUND_TASKS:
        return
    shutdown.drain_before_shutdown()
    sweep.started = asyncio.ensure_future(sweep.sweep_forever())


if __name__ == "__main__":
    main()
