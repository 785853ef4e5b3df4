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

from tests.conftest import ROOT, VAR, test_database_url, wait_for

BIN = Path(sys.executable).parent


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
