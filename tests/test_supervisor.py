"""The launcher's supervision of child processes (stand-ins for gunicorn and Celery): the combined
log, stopping them, dying with the launcher, and restarts with back-off.
tests/reliability/test_supervision.py runs the launcher whole."""

import io
import os
import signal
import subprocess
import sys
import threading
import time
from functools import partial

import psutil
import pytest

from emsweb import supervisor
from tests.conftest import wait_for


def test_each_line_in_the_combined_log_is_prefixed_with_its_padded_process_name():
    stream = io.StringIO()

    supervisor.Log(stream).line("web", "GET /admin/login/ 200")

    assert stream.getvalue() == "web    | GET /admin/login/ 200\n"


def test_a_child_that_ignores_sigterm_is_killed_once_the_timeout_is_over():
    stream = io.StringIO()
    log = supervisor.Log(stream)
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up'); "
    child = supervisor.start_child(
        "web", [sys.executable, "-u", "-c", stubborn + "time.sleep(30)"], os.environ, log
    )
    deadline = time.monotonic() + 10
    while "web    | up" not in stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.05)

    supervisor.stop_children([child], log, timeout=0.5)

    assert child.process.returncode == -signal.SIGKILL
    assert "web did not stop within 0.5 s: killing it" in stream.getvalue()


@pytest.fixture
def supervision():
    """A log to read, and the stop flag left as found (it is module-wide)."""
    stream = io.StringIO()
    yield supervisor.Log(stream), stream
    supervisor.stop_requested.clear()


def python_service(name: str, code: str, log: supervisor.Log) -> supervisor.Service:
    argv = [sys.executable, "-u", "-c", code]
    return supervisor.Service(name, partial(supervisor.start_child, name, argv, os.environ, log))


def stop_once_logged(stream: io.StringIO, text: str) -> threading.Thread:
    """Request a stop (as Ctrl-C does) once `text` is in the log."""

    def watch():
        wait_for(lambda: text in stream.getvalue(), timeout=30, what=text)
        supervisor.stop_requested.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher


def test_a_restart_waits_twice_as_long_after_each_death_until_the_limit_gives_up():
    restarts = supervisor.Restarts(first_delay=1.0, limit=5, window=60.0)

    delays = [restarts.delay(deaths) for deaths in range(1, 6)]

    assert delays == [1.0, 2.0, 4.0, 8.0, None]


def test_a_service_that_dies_is_started_again_after_its_back_off_and_the_log_says_so(
    tmp_path, supervision
):
    log, stream = supervision
    crashes_once = (
        f"import pathlib, sys, time; marker = pathlib.Path({str(tmp_path / 'crashed')!r})\n"
        "if not marker.exists(): marker.touch(); sys.exit(3)\n"
        "print('up again'); time.sleep(60)"
    )
    worker = python_service("worker", crashes_once, log)
    web = python_service("web", "import time; time.sleep(60)", log)
    for service in (worker, web):
        supervisor.service_start(service, log)
    first_web = web.child.process.pid
    watcher = stop_once_logged(stream, "worker | up again")

    try:
        kept_up = supervisor.supervise([worker, web], log, supervisor.Restarts(first_delay=0.1))
    finally:
        supervisor.stop_children([worker.child, web.child], log, timeout=5)
    watcher.join()

    assert kept_up  # until the stop was requested
    assert "worker exited with code 3: restarting it in 0.1 s" in stream.getvalue()
    assert f"worker restarted (pid {worker.child.process.pid})" in stream.getvalue()
    assert web.child.process.pid == first_web  # the others were left running


def test_a_service_that_keeps_dying_within_the_window_ends_the_supervision(supervision):
    log, stream = supervision
    crashing = python_service("beat", "import sys; sys.exit(2)", log)
    supervisor.service_start(crashing, log)

    kept_up = supervisor.supervise(
        [crashing], log, supervisor.Restarts(first_delay=0.01, limit=3, window=60.0)
    )

    assert not kept_up
    assert stream.getvalue().count("beat restarted") == 2
    assert "beat exited with code 2, 3 times in 60 s: stopping the others" in stream.getvalue()


def test_the_children_die_with_a_launcher_killed_with_sigkill(tmp_path):
    script = (
        "import os, sys, time\n"
        "from emsweb import supervisor\n"
        "child = supervisor.start_child('web', [sys.executable, '-c', 'import time; "
        "time.sleep(60)'], os.environ, supervisor.Log())\n"
        "print(child.process.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    killed = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = psutil.Process(int(killed.stdout.readline()))

    killed.kill()
    killed.wait()

    try:
        wait_for(lambda: not child.is_running(), timeout=10, what="the child to die with it")
    finally:
        if child.is_running():
            child.kill()
