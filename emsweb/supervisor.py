"""Process supervision for the launcher: one combined log; children started in their own process
group, dying with the launcher (PR_SET_PDEATHSIG) and stopped in order; and services that are
started again after a back-off until one keeps dying."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from emsweb.embedded import ROOT

NAME_WIDTH = len("worker")
STOP_TIMEOUT = 20.0
# prctl(2) on Linux: the kernel signals a child when the launcher dies, even by SIGKILL.
PR_SET_PDEATHSIG = 1
LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None

# Set by the launcher on SIGINT and SIGTERM; the waits here notice it, and the launcher then
# stops the children in order.
stop_requested = threading.Event()


class StartupFailed(Exception):
    """Something the services need could not be set up."""


# --- Processes and the combined log -----------------------------------------------------------


class Log:
    """One stream for every process, each line prefixed with the padded name of its process."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self.lock = threading.Lock()

    def line(self, name: str, text: str) -> None:
        with self.lock:
            self.stream.write(f"{name:<{NAME_WIDTH}} | {text}\n")
            self.stream.flush()


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    reader: threading.Thread


def start_child(
    name: str,
    argv: list[str],
    env: Mapping[str, str],
    log: Log,
    *,
    pass_fds: tuple[int, ...] = (),
    death_signal: int = signal.SIGKILL,
) -> Child:
    """Start `argv` in its own process group (a Ctrl-C reaches only the launcher, which decides
    the order things stop in), sent `death_signal` when the launcher dies, its output and errors
    copied line by line into `log`."""
    process = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        process_group=0,
        pass_fds=pass_fds,
        preexec_fn=dying_with_the_launcher(death_signal),
    )
    reader = threading.Thread(target=copy_lines, args=(name, process.stdout, log), daemon=True)
    reader.start()
    return Child(name, process, reader)


def dying_with_the_launcher(signum: int) -> Callable[[], None] | None:
    """A preexec_fn that has the kernel send `signum` to the child when the launcher's thread that
    started it ends (the main thread: when the launcher dies), so that a `kill -9` of the
    launcher leaves no orphan to hold the Redis socket or keep working. Linux only: elsewhere
    the children outlive such a kill."""
    if LIBC is None:
        return None
    launcher = os.getpid()

    def in_the_child() -> None:
        dying_with_parent(signum, parent=launcher)

    return in_the_child


def dying_with_parent(signum: int, *, parent: int) -> None:
    """In this process: have the kernel send it `signum` when `parent` (its parent's thread
    that started it) dies, and send it now if that already happened. Linux only."""
    if LIBC is None:
        return
    LIBC.prctl(PR_SET_PDEATHSIG, signum)
    if os.getppid() != parent:  # the parent died before the prctl took effect
        os.kill(os.getpid(), signum)


def copy_lines(name: str, stream, log: Log) -> None:
    for raw in stream:
        log.line(name, raw.decode(errors="replace").rstrip())


def wait_for_exit_or_stop(children: list[Child]) -> Child | None:
    """Block until a child exits (and return it) or a stop is requested (and return None)."""
    while not stop_requested.wait(0.2):
        for child in children:
            if child.process.poll() is not None:
                return child
    return None


def stop_children(children: list[Child], log: Log, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM each main process (a warm shutdown for Celery, graceful for gunicorn), wait up
    to `timeout` seconds, then SIGKILL whatever is left of their process groups."""
    for child in children:
        if child.process.poll() is None:
            child.process.terminate()
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.process.wait(timeout=max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            log.line("system", f"{child.name} did not stop within {timeout:g} s: killing it")
        kill_group(child.process.pid)
        child.process.wait()
        child.reader.join(timeout=5)


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the whole group is already gone
        os.killpg(pgid, signal.SIGKILL)


# --- Supervision ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Restarts:
    """A service that died starts again after `first_delay` seconds, twice as long after each
    further death, until it has died `limit` times within `window` seconds: then it is not
    going to stay up, and the launcher stops everything rather than retry forever."""

    first_delay: float = 1.0
    limit: int = 5
    window: float = 60.0

    def delay(self, deaths: int) -> float | None:
        """Seconds until the next start after the `deaths`-th death in the window; None: give up."""
        if deaths >= self.limit:
            return None
        return self.first_delay * 2 ** (deaths - 1)


@dataclass
class Service:
    """A process the launcher keeps running: how it starts, its latest child (dead while it
    waits for `restart_at`) and the times it died in the last window."""

    name: str
    start: Callable[[], Child]
    child: Child | None = None
    deaths: list[float] = field(default_factory=list)
    restart_at: float | None = None


def service_start(service: Service, log: Log, again: bool = False) -> None:
    service.child = service.start()
    started = "restarted" if again else "started"
    log.line("system", f"{service.name} {started} (pid {service.child.process.pid})")


def supervise(services: list[Service], log: Log, restarts: Restarts) -> bool:
    """Start again each of the (started) `services` that dies, until a stop is requested
    (True) or one keeps dying (False)."""
    while not stop_requested.wait(0.2):
        for service in services:
            if not service_tend(service, log, restarts):
                return False
    return True


def service_tend(service: Service, log: Log, restarts: Restarts) -> bool:
    """Notice that it died, or start it again once its back-off is over; False: give up."""
    if service.restart_at is None:
        code = service.child.process.poll()
        if code is None:
            return True
        return service_died(service, f"exited with code {code}", log, restarts)
    if time.monotonic() < service.restart_at:
        return True
    return service_restart(service, log, restarts)


def service_died(service: Service, what: str, log: Log, restarts: Restarts) -> bool:
    """Schedule the restart of a service that died (True), or give up on it (False)."""
    now = time.monotonic()
    service.deaths = [t for t in service.deaths if t > now - restarts.window] + [now]
    delay = restarts.delay(len(service.deaths))
    if delay is None:
        times = f"{len(service.deaths)} times in {restarts.window:g} s"
        log.line("system", f"{service.name} {what}, {times}: stopping the others")
        return False
    log.line("system", f"{service.name} {what}: restarting it in {delay:g} s")
    service.restart_at = now + delay
    return True


def service_restart(service: Service, log: Log, restarts: Restarts) -> bool:
    # What is left of the dead one's group goes first: its gunicorn workers, had they outlived
    # it by the back-off (they exit by themselves once they see their master gone).
    kill_group(service.child.process.pid)
    service.restart_at = None
    try:
        service_start(service, log, again=True)
    except (StartupFailed, OSError) as error:
        return service_died(service, f"could not start ({error})", log, restarts)
    return True
