"""The launcher's pure parts, its supervision of child processes (stand-ins for gunicorn and
Celery), and the embedded Redis it starts. tests/reliability/test_supervision.py runs it whole."""

import io
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from functools import partial

import psutil
import pytest
import redis
from cryptography.fernet import Fernet

from emsweb import launcher
from tests.conftest import wait_for


def test_secrets_are_generated_once_kept_private_and_reused(tmp_path):
    first = launcher.embedded_secrets(tmp_path)
    second = launcher.embedded_secrets(tmp_path)

    assert first == second
    assert len(first["SECRET_KEY"]) >= 50
    Fernet(first["EMSWEB_FIELD_KEYS"])  # a valid key
    assert stat.S_IMODE((tmp_path / "embedded.env").stat().st_mode) == 0o600


def test_a_secret_missing_from_the_file_is_added_without_changing_the_other(tmp_path):
    (tmp_path / "embedded.env").write_text("SECRET_KEY=kept\n")

    values = launcher.embedded_secrets(tmp_path)

    assert values["SECRET_KEY"] == "kept"
    assert launcher.read_env_file(tmp_path / "embedded.env") == values


def test_the_embedded_default_keeps_its_data_under_var(tmp_path):
    var = tmp_path / "var"

    settings = launcher.embedded_settings(var, environ={})

    assert settings["DJANGO_SETTINGS_MODULE"] == "emsweb.settings"
    assert settings["DATABASE_URL"] == f"sqlite:///{var}/emsweb.sqlite3"  # four slashes
    assert settings["REDIS_URL"] == f"unix://{var}/redis.sock"
    assert settings["ALLOWED_HOSTS"] == "127.0.0.1,localhost"
    assert settings["PORT"] == "8000"
    assert "DEBUG" not in settings
    assert settings["SECRET_KEY"] == launcher.embedded_secrets(var)["SECRET_KEY"]


def test_the_real_environment_wins_over_the_defaults_and_the_file(tmp_path):
    environ = {
        "SECRET_KEY": "from-the-environment",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        "PORT": "8123",
    }

    settings = launcher.embedded_settings(tmp_path, environ)

    assert {name: settings[name] for name in environ} == environ
    assert launcher.read_env_file(tmp_path / "embedded.env")["SECRET_KEY"] != "from-the-environment"


def test_the_env_command_prints_exports_a_shell_can_eval(tmp_path):
    settings = {"SECRET_KEY": "a'b\"c$d e", "DATABASE_URL": "sqlite:////tmp/x y.sqlite3"}

    script = launcher.export_lines(settings) + 'printf "%s\\n" "$SECRET_KEY" "$DATABASE_URL"'
    printed = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)

    assert printed.stdout.splitlines() == [settings["SECRET_KEY"], settings["DATABASE_URL"]]


def test_a_printed_url_hides_its_password():
    assert (
        launcher.without_password("postgres://emsweb:s3cret@db:5432/emsweb")
        == "postgres://emsweb:***@db:5432/emsweb"
    )
    assert launcher.without_password("redis://:s3cret@cache:6379/0") == "redis://:***@cache:6379/0"
    assert launcher.without_password("unix:///srv/redis.sock") == "unix:///srv/redis.sock"


def test_each_line_in_the_combined_log_is_prefixed_with_its_padded_process_name():
    stream = io.StringIO()

    launcher.Log(stream).line("web", "GET /admin/login/ 200")

    assert stream.getvalue() == "web    | GET /admin/login/ 200\n"


def test_a_child_that_ignores_sigterm_is_killed_once_the_timeout_is_over():
    stream = io.StringIO()
    log = launcher.Log(stream)
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up'); "
    child = launcher.start_child(
        "web", [sys.executable, "-u", "-c", stubborn + "time.sleep(30)"], os.environ, log
    )
    deadline = time.monotonic() + 10
    while "web    | up" not in stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.05)

    launcher.stop_children([child], log, timeout=0.5)

    assert child.process.returncode == -signal.SIGKILL
    assert "web did not stop within 0.5 s: killing it" in stream.getvalue()


def test_the_redis_config_listens_only_on_the_socket_and_persists_every_write(tmp_path):
    lines = launcher.redis_config(tmp_path).splitlines()

    assert "port 0" in lines
    assert f'unixsocket "{tmp_path}/redis.sock"' in lines
    assert f'dir "{tmp_path}/redis"' in lines
    assert "appendonly yes" in lines
    assert "maxmemory-policy noeviction" in lines


def test_the_embedded_redis_replaces_a_stale_socket_and_keeps_data_across_a_restart(tmp_path):
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(tmp_path / "redis.sock"))  # left behind, as by a crash: nobody listens
    stale.close()
    log = launcher.Log()

    server = launcher.start_redis(tmp_path, log)
    client = redis.Redis(unix_socket_path=str(tmp_path / "redis.sock"))
    client.set("queued", "task")
    launcher.stop_children([server], log)
    server = launcher.start_redis(tmp_path, log)
    try:
        assert client.get("queued") == b"task"
    finally:
        launcher.stop_children([server], log)
        client.close()


# --- Supervision --------------------------------------------------------------------------------


@pytest.fixture
def supervision():
    """A log to read, and the stop flag left as found (the launcher's is module-wide)."""
    stream = io.StringIO()
    yield launcher.Log(stream), stream
    launcher.stop_requested.clear()


def python_service(name: str, code: str, log: launcher.Log) -> launcher.Service:
    argv = [sys.executable, "-u", "-c", code]
    return launcher.Service(name, partial(launcher.start_child, name, argv, os.environ, log))


def stop_once_logged(stream: io.StringIO, text: str) -> threading.Thread:
    """Request a stop (as Ctrl-C does) once `text` is in the log."""

    def watch():
        wait_for(lambda: text in stream.getvalue(), timeout=30, what=text)
        launcher.stop_requested.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher


def test_a_restart_waits_twice_as_long_after_each_death_until_the_limit_gives_up():
    restarts = launcher.Restarts(first_delay=1.0, limit=5, window=60.0)

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
        launcher.service_start(service, log)
    first_web = web.child.process.pid
    watcher = stop_once_logged(stream, "worker | up again")

    try:
        kept_up = launcher.supervise([worker, web], log, launcher.Restarts(first_delay=0.1))
    finally:
        launcher.stop_children([worker.child, web.child], log, timeout=5)
    watcher.join()

    assert kept_up  # until the stop was requested
    assert "worker exited with code 3: restarting it in 0.1 s" in stream.getvalue()
    assert f"worker restarted (pid {worker.child.process.pid})" in stream.getvalue()
    assert web.child.process.pid == first_web  # the others were left running


def test_a_service_that_keeps_dying_within_the_window_ends_the_supervision(supervision):
    log, stream = supervision
    crashing = python_service("beat", "import sys; sys.exit(2)", log)
    launcher.service_start(crashing, log)

    kept_up = launcher.supervise(
        [crashing], log, launcher.Restarts(first_delay=0.01, limit=3, window=60.0)
    )

    assert not kept_up
    assert stream.getvalue().count("beat restarted") == 2
    assert "beat exited with code 2, 3 times in 60 s: stopping the others" in stream.getvalue()


def test_the_children_die_with_a_launcher_killed_with_sigkill(tmp_path):
    script = (
        "import os, sys, time\n"
        "from emsweb import launcher\n"
        "child = launcher.start_child('web', [sys.executable, '-c', 'import time; "
        "time.sleep(60)'], os.environ, launcher.Log())\n"
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


def test_the_kept_embedded_default_is_used_only_where_no_production_setting_is_given(tmp_path):
    launcher.embedded_secrets(tmp_path)

    kept = launcher.kept_embedded_settings(tmp_path, environ={})

    assert kept == launcher.embedded_settings(tmp_path, environ={})
    for name in launcher.PRODUCTION_SETTINGS:
        assert launcher.kept_embedded_settings(tmp_path, environ={name: "given"}) == {}
    other_settings = {"DJANGO_SETTINGS_MODULE": "tests.settings"}
    assert launcher.kept_embedded_settings(tmp_path, environ=other_settings) == {}
    assert launcher.kept_embedded_settings(tmp_path / "never-run", environ={}) == {}
