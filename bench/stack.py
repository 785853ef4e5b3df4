"""The production stack for the bench: its environment, its database, and the processes
production runs (the Celery workers, beat and gunicorn, each through deploy/entrypoint.sh, each
in a process group of its own, each stopped by the harness whatever happens)."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psutil

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# BENCH_WORK_DIR: another directory for logs, secrets and the beat schedule, so that two bench
# stacks (each with its own database and Redis db) can run at once.
WORK = Path(os.environ.get("BENCH_WORK_DIR") or ROOT / "var" / "bench")
ENTRYPOINT = str(ROOT / "deploy" / "entrypoint.sh")
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/emsweb_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"
STOP_TIMEOUT = 20.0
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "PGPASSWORD")
TRIED = ("CELERY_", "CONN_MAX_AGE", "GUNICORN_", "WEB_CONCURRENCY")


def kept_secrets() -> dict[str, str]:
    """SECRET_KEY and the field key, generated on the first run and kept under var/bench/: a
    dataset kept for reuse holds account keys encrypted with the field key."""
    from cryptography.fernet import Fernet

    path = WORK / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    WORK.mkdir(parents=True, exist_ok=True)
    values = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "EMSWEB_FIELD_KEYS": Fernet.generate_key().decode(),
    }
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return values


def order_worker_pool() -> dict[str, str]:
    """The order worker's pool as docker-compose.yml runs it (threads, 4), unless the
    environment tries another (CELERY_POOL=prefork CELERY_CONCURRENCY=2, the old one)."""
    return {
        "CELERY_POOL": os.environ.get("CELERY_POOL", "threads"),
        "CELERY_CONCURRENCY": os.environ.get("CELERY_CONCURRENCY", "4"),
    }


def environment(database_url: str, redis_url: str) -> dict[str, str]:
    """Production's settings, as the services get them: DEBUG off, JSON logs, 2FA on. Plain
    http on 127.0.0.1 (no TLS proxy in front), and frozen paper markets with no latency."""
    base = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    # A setting to try (CELERY_CONCURRENCY=4, CELERY_DB_REUSE_MAX=0, ...) reaches the services.
    tried = {name: value for name, value in os.environ.items() if name.startswith(TRIED)}
    return {
        **base,
        **tried,
        **kept_secrets(),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "EMSWEB_HTTPS": "false",
        "EMSWEB_PAPER_TICK_SECONDS": "0",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "STATIC_ROOT": str(WORK / "static"),
        "CELERY_BEAT_SCHEDULE_FILE": str(WORK / "celerybeat-schedule"),
    }


class NotABenchDatabase(Exception):
    pass


def database_ensure(database_url: str, *, fresh: bool) -> bool:
    """Create the database if it is missing (or drop it first when `fresh`). True if created.

    The bench drops, fills and rewrites its database, and flushes its Redis db: it refuses a
    database whose name does not say it is a bench's, so that a DATABASE_URL left in the
    environment for something else is never touched."""
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        raise NotABenchDatabase(
            f"refusing database {name!r}: the bench drops and rewrites its database, so its "
            "name must contain 'bench' (make bench uses BENCH_DATABASE_URL)"
        )
    server = parts._replace(path="/postgres").geturl()
    with psycopg.connect(server, autocommit=True) as connection:
        if fresh:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')
    return not exists


def open_files_raise() -> tuple[int, int]:
    """This process's open-files limit raised as far as the machine lets an unprivileged
    process (the hard limit), before the services and clients it starts inherit it: the stream
    benchmark holds a thousand connections and more. The (soft, hard) limits now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Service:
    name: str
    process: subprocess.Popen
    log_path: Path

    def tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def tree(self) -> list[psutil.Process]:
        try:
            leader = psutil.Process(self.process.pid)
            return [leader, *leader.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []


class ServiceFailed(Exception):
    pass


@dataclass
class Stack:
    env: dict[str, str]
    services: dict[str, Service] = field(default_factory=dict)

    def start(self, name: str, *args: str, command: str = "", **extra_env: str) -> Service:
        """`deploy/entrypoint.sh COMMAND ARGS` (COMMAND is NAME unless given), in a process group
        of its own, logging to NAME.log."""
        WORK.mkdir(parents=True, exist_ok=True)
        log_path = WORK / f"{name}.log"
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                [ENTRYPOINT, command or name, *args],
                cwd=ROOT,
                env={**self.env, **extra_env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                process_group=0,
            )
        service = Service(name, process, log_path)
        self.services[name] = service
        return service

    def check_alive(self) -> None:
        for service in self.services.values():
            if service.process.poll() is not None:
                raise ServiceFailed(
                    f"{service.name} exited {service.process.returncode}:\n{service.tail()}"
                )

    def stop(self, name: str) -> None:
        service = self.services.pop(name, None)
        if service is not None:
            stop_group(service.process, timeout=STOP_TIMEOUT)

    def stop_all(self) -> None:
        for name in ("web", "beat", "worker", "worker-background"):
            self.stop(name)
        for name in list(self.services):
            self.stop(name)

    def pids(self, name: str) -> list[int]:
        service = self.services.get(name)
        return [process.pid for process in service.tree()] if service else []


def stop_group(process: subprocess.Popen, timeout: float) -> None:
    """SIGTERM the leader, wait, then SIGKILL whatever is left of its process group."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
    deadline = time.monotonic() + 2
    while group_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_until(what: str, probe, *, timeout: float, stack: Stack | None = None, every=0.05):
    """Poll `probe` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while True:
        if stack is not None:
            stack.check_alive()
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


class CpuMeter:
    """CPU seconds spent over a stretch of time, by who spent them: the harness, each service,
    PostgreSQL, Redis, and everything else on the machine (another test run, say)."""

    def __init__(self, stack: Stack):
        self.stack = stack

    def _sample(self) -> dict[str, float]:
        def busy(processes) -> float:
            # A process's own time, and its children's once they have exited and been reaped
            # (submitter processes, recycled gunicorn workers, closed PostgreSQL backends).
            total = 0.0
            for process in processes:
                with contextlib.suppress(psutil.Error):
                    times = process.cpu_times()
                    total += times.user + times.system + times.children_user
                    total += times.children_system
            return total

        services = {name: service.tree() for name, service in self.stack.services.items()}
        theirs = {process.pid for tree in services.values() for process in tree}
        harness = psutil.Process()
        helpers = [child for child in harness.children(recursive=True) if child.pid not in theirs]
        groups = {"harness": [harness, *helpers], **services}
        postgres, redis_server = [], []
        for process in psutil.process_iter(["name", "username"]):
            name = process.info["name"] or ""
            if name.startswith("postgres"):
                postgres.append(process)
            elif name.startswith("redis-server"):
                redis_server.append(process)
        sample = {name: busy(processes) for name, processes in groups.items()}
        sample["postgresql"] = busy(postgres)
        sample["redis"] = busy(redis_server)
        times = psutil.cpu_times()
        sample["machine"] = times.user + times.system + getattr(times, "nice", 0)
        sample["wall"] = time.monotonic()
        return sample

    def __enter__(self):
        self.before = self._sample()
        return self

    def __exit__(self, *exc):
        self.after = self._sample()

    def cores_used(self) -> dict[str, float]:
        """Average cores busy per part over the stretch (1.0 = one core all the time)."""
        wall = self.after["wall"] - self.before["wall"]
        used = {
            name: max(0.0, (self.after[name] - self.before.get(name, 0.0)) / wall)
            for name in self.after
            if name not in ("wall",)
        }
        known = sum(value for name, value in used.items() if name != "machine")
        used["other"] = max(0.0, used["machine"] - known)
        return {name: round(value, 2) for name, value in used.items()}

    def ms_per(self, count: int) -> dict[str, float]:
        """CPU milliseconds per item by part, for `count` items handled over the stretch."""
        wall = self.after["wall"] - self.before["wall"]
        return {
            name: round(cores * wall / count * 1000, 2) if count else 0.0
            for name, cores in self.cores_used().items()
        }


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
    return parts.geturl()
