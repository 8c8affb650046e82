"""nginx in front of the app, with the configuration docs/deploy.md shows (deploy/nginx.conf):
only its `listen` line and the servers of `upstream playground` are changed, and its pid, logs
and temporary files kept in a directory of the test's own."""

from __future__ import annotations

import re
import socket
import subprocess
import tempfile
from pathlib import Path

from .helpers import ROOT, free_port, wait_until

NGINX = "/usr/sbin/nginx"
# As docs/deploy.md runs Daphne behind the proxy, and only there.
DAPHNE_BEHIND_NGINX = ("--proxy-headers", "--proxy-headers-host", "X-Real-IP")
CONFIG = ROOT / "deploy" / "nginx.conf"
UPSTREAM = re.compile(r"(upstream playground \{\n)(?:\s*server [^;]+;\n)+")


def config_for(port: int, servers: list[str], directory: Path) -> str:
    text = CONFIG.read_text()
    text, listens = re.subn(r"listen 80;", f"listen 127.0.0.1:{port};", text)
    lines = "".join(f"        server {server};\n" for server in servers)
    text, upstreams = UPSTREAM.subn(lambda match: match[1] + lines, text)
    assert (listens, upstreams) == (1, 1), "deploy/nginx.conf changed shape: update tests/proxy.py"
    temp = "".join(
        f"    {kind}_temp_path {directory}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # As root, nginx's workers run as nobody, who cannot write under pytest's temporary dirs.
    return "user root;\n" + text.replace("http {\n", f"http {{\n    access_log off;\n{temp}", 1)


class Nginx:
    """`nginx -p <dir> -c <dir>/nginx.conf -e stderr -g 'daemon off;'` on a port picked here,
    picked again should another process take it first."""

    def __init__(self, servers: list[str]):
        self.servers = servers
        self.directory = Path(tempfile.mkdtemp(prefix="nginx-"))
        self.errors = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed in __exit__)
        self.process: subprocess.Popen | None = None
        self.port = 0

    def __enter__(self) -> Nginx:
        for _attempt in range(5):
            self.port = free_port()
            path = self.directory / "nginx.conf"
            path.write_text(config_for(self.port, self.servers, self.directory))
            pid = f"daemon off; pid {self.directory}/nginx.pid;"
            self.process = subprocess.Popen(
                [NGINX, "-p", str(self.directory), "-c", str(path), "-e", "stderr", "-g", pid],
                stdout=subprocess.DEVNULL,
                stderr=self.errors,
            )
            wait_until(self._listening_or_gone, timeout=10)
            if self.process.poll() is None:
                return self
            self.errors.seek(0)
            output = self.errors.read()
            if "Address already in use" not in output:
                raise AssertionError(f"nginx did not start: {output}")
        raise AssertionError("nginx found no free port in 5 tries")

    def _listening_or_gone(self) -> bool:
        if self.process is None or self.process.poll() is not None:
            return True
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.errors.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
