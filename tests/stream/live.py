"""A real web server for the stream's tests: `deploy/entrypoint.sh web` (gunicorn, its uvicorn
workers, emsweb.asgi), as production starts it, on a free port and the test database."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from websockets.sync.client import ClientConnection, connect

from tests.conftest import ROOT, VAR, test_database_url, wait_for

BIN = Path(sys.executable).parent


# A client that stops reading (the slow-consumer tests): the server's buffer for them, in events,
# more than one sequencer batch (1,000), which reaches every client at once; and the events they
# are sent, in waves that a reading client keeps up with. All of them are beyond the buffer and
# all that a connection holds unread (about 200 KiB, some 1,000 of these small events), so a
# client that does not read cannot have been sent them all.
SLOW_CLIENT_BUFFER = 1500
WAVE, WAVES = 500, 8


def stalled_client(url: str, *, port: int, headers: dict) -> ClientConnection:
    """A WebSocket client for one that stops reading: a small receive window, so that its kernel
    holds little of what it does not read (the server bounds its own side, emsweb.web_worker);
    and no pings of its own, whose answers would wait behind what it does not read and make it
    close the connection itself."""
    connection = socket.socket()
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    connection.connect(("127.0.0.1", port))
    return connect(
        url, sock=connection, additional_headers=headers, max_queue=4, ping_interval=None
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class WebServer:
    """`entrypoint.sh web` in a process group of its own, its log under var/."""

    def __init__(self, name: str, env: dict[str, str] | None = None):
        self.port = free_port()
        self.log_path = VAR / f"test-web-{name}-{os.getpid()}.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [str(ROOT / "deploy" / "entrypoint.sh"), "web"],
            cwd=ROOT,
            env={
                **os.environ,
                "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                "DJANGO_SETTINGS_MODULE": "tests.settings",
                "DATABASE_URL": test_database_url(),
                "REDIS_URL": settings.REDIS_URL,
                "GUNICORN_BIND": f"127.0.0.1:{self.port}",
                "WEB_CONCURRENCY": "1",
                "LOG_FORMAT": "plain",
                **(env or {}),
            },
            stdout=self.log,
            stderr=subprocess.STDOUT,
            process_group=0,
        )
        wait_for(self._answers, timeout=60, what=f"web server {name} to answer")

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"web server exited: {self.output()[-3000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            connection.request("GET", "/healthz")
            return connection.getresponse().status == 200
        except OSError:
            return False

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()
