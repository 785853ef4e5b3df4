"""The embedded Redis the launcher starts. tests/reliability/test_supervision.py runs the
launcher whole; tests/test_embedded.py and tests/test_supervisor.py test its other parts."""

import socket

import redis

from emsweb import launcher
from emsweb.supervisor import Log, stop_children


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
    log = Log()

    server = launcher.start_redis(tmp_path, log)
    client = redis.Redis(unix_socket_path=str(tmp_path / "redis.sock"))
    client.set("queued", "task")
    stop_children([server], log)
    server = launcher.start_redis(tmp_path, log)
    try:
        assert client.get("queued") == b"task"
    finally:
        stop_children([server], log)
        client.close()


def test_make_run_starts_the_fix_gateway_only_when_its_port_is_set(tmp_path):
    assert "fix" not in launcher.commands(tmp_path, 3, {})
    started = launcher.commands(tmp_path, 3, {"EMSWEB_FIX_PORT": "9878"})
    assert started["fix"][-1] == "fix_gateway"
