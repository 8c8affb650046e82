"""Run the simulator alone: python -m playground.simulator --port 9100"""

import argparse
import socket
import sys

from .app import Simulator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument(
        "--fd", type=int, help="serve on this inherited listening socket instead of host and port"
    )
    parser.add_argument("--tps", type=float, help="tokens/s for every model (0: unpaced)")
    parser.add_argument("--api-key", help="accept only this Bearer token")
    args = parser.parse_args()
    # uvicorn is a dev dependency: production serves the simulator mounted in Daphne.
    try:
        import uvicorn
    except ModuleNotFoundError:
        sys.exit(
            "The standalone simulator needs uvicorn, a dev dependency: "
            "pip install --require-hashes -r requirements-dev.txt"
        )
    app = Simulator(tps=args.tps, api_key=args.api_key)
    config = uvicorn.Config(
        app, host=args.host, port=args.port, log_level="warning", lifespan="off"
    )
    # A socket handed over by a parent process (tests, benchmarks) is already bound, so its
    # port is known before we start and no other process can take it in between.
    sockets = [socket.socket(fileno=args.fd)] if args.fd is not None else None
    host, port = sockets[0].getsockname()[:2] if sockets else (args.host, args.port)
    print(f"Simulator at http://{host}:{port}/v1", flush=True)
    uvicorn.Server(config).run(sockets=sockets)


if __name__ == "__main__":
    main()
