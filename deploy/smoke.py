"""The production stack without Docker: what CI runs after the test suite (`.ci/run`).

Through deploy/entrypoint.sh, with production settings (DEBUG off, HTTPS redirect, secure cookies,
HSTS, CSP, JSON logs), on the machine's PostgreSQL (a database of its own, created afresh) and
Redis (a db of its own, flushed): `manage.py check --deploy --fail-level WARNING`, collectstatic
(as the image build does), migrate, then gunicorn, a Celery worker and beat. It waits for
/readyz, links PAPER/CI and places a resting paper order through /v1 as a client behind a TLS
proxy would (X-Forwarded-Proto: https), sees it NEW, finds it counted on /metrics, cancels it
over the WebSocket API (/v1/ws, on the same port) and sees its update streamed, logs on to the
FIX gateway (`entrypoint.sh fix`) with the same key and sees a NewOrderSingle acknowledged,
checks that every log line is JSON, and stops everything. Whatever happens, every process it
started is stopped, by process group, before it exits.

    .venv/bin/python deploy/smoke.py    # EMSWEB_SMOKE_DATABASE_URL / EMSWEB_SMOKE_REDIS_URL
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
ENTRYPOINT = str(ROOT / "deploy" / "entrypoint.sh")
BIN = Path(sys.executable).parent
WORK = ROOT / "var" / "smoke"
DATABASE_URL = os.environ.get(
    "EMSWEB_SMOKE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/emsweb_ci"
)
REDIS_URL = os.environ.get("EMSWEB_SMOKE_REDIS_URL", "redis://127.0.0.1:6379/13")
ACCOUNT = "PAPER/CI"
SYMBOL = "PAPER_SPOT_BTC_USD"
STOP_TIMEOUT = 30.0
PROCESSES = ("web", "worker", "beat", "fix")
# Passed through from the caller's environment; every setting is set here, so a variable of the
# test run (EMSWEB_HTTPS=false, LOG_FORMAT=plain, DEBUG...) cannot leak into production settings.
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "PGPASSWORD")


class SmokeFailed(Exception):
    pass


def say(text: str) -> None:
    print(f"smoke | {text}", flush=True)


PASSED: list[str] = []


def passed(text: str) -> None:
    PASSED.append(text)
    say(f"ok: {text}")


# --- the environment --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def production_env(port: int) -> dict[str, str]:
    from cryptography.fernet import Fernet

    base = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    return {
        **base,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "emsweb.settings",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "EMSWEB_FIELD_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "127.0.0.1",
        "CSRF_TRUSTED_ORIGINS": f"https://127.0.0.1:{port}",
        # This script plays the TLS-terminating proxy: it sends X-Forwarded-Proto: https.
        "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
        "EMSWEB_METRICS_TOKEN": secrets.token_urlsafe(32),
        "DJANGO_SUPERUSER_PASSWORD": secrets.token_urlsafe(16),
        "STATIC_ROOT": str(WORK / "static"),
        "PORT": str(port),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "CELERY_BEAT_SCHEDULE_FILE": str(WORK / "celerybeat-schedule"),
        "EMSWEB_HEARTBEAT_INTERVAL": "2",
        "EMSWEB_HEARTBEAT_STALE": "8",
        "EMSWEB_FIX_PORT": str(free_port()),
        "EMSWEB_FIX_DIR": str(WORK / "fix"),
    }


def fresh_database() -> None:
    import psycopg

    parts = urlsplit(DATABASE_URL)
    name = parts.path.lstrip("/")
    server = parts._replace(path="/postgres").geturl()
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def fresh_redis() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    client.close()


# --- processes --------------------------------------------------------------------------------


class Stack:
    """The long-running processes, each in its own process group, each logging to a file."""

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.processes: dict[str, subprocess.Popen] = {}

    def run(self, *args: str, timeout: float = 300) -> str:
        """A one-off entrypoint command; its output is returned, and kept in WORK/<name>.log."""
        name = "-".join(args[:2]).replace("/", "_")
        with open(WORK / f"{name}.log", "w") as log:
            process = subprocess.Popen(
                [ENTRYPOINT, *args],
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                process_group=0,
            )
            try:
                output, _ = process.communicate(timeout=timeout)
            finally:
                stop_group(process, timeout=5)
            log.write(output)
        if process.returncode != 0:
            raise SmokeFailed(f"{' '.join(args)} exited {process.returncode}:\n{tail(name)}")
        return output

    def start(self, name: str) -> None:
        log = open(WORK / f"{name}.log", "w")  # noqa: SIM115 - the child holds it
        self.processes[name] = subprocess.Popen(
            [ENTRYPOINT, name],
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            process_group=0,
        )
        log.close()

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise SmokeFailed(f"{name} exited {process.returncode}:\n{tail(name)}")

    def stop(self) -> list[str]:
        """SIGTERM each (web first, worker last), then SIGKILL what is left of each group.
        Returns the names of those that had to be killed."""
        killed = []
        for name in ("web", "fix", "beat", "worker"):
            process = self.processes.pop(name, None)
            if process is not None and not stop_group(process, timeout=STOP_TIMEOUT):
                killed.append(name)
        return killed


def stop_group(process: subprocess.Popen, timeout: float) -> bool:
    """Stop a child and everything in its process group: SIGTERM, then SIGKILL to whatever is
    left (pool processes, gunicorn workers). True if SIGTERM alone sufficed."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
    deadline = time.monotonic() + 2  # children may still be on their way out
    while process.poll() is None or group_alive(process.pid):
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    leftovers = process.poll() is None or group_alive(process.pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return not leftovers


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def tail(name: str, lines: int = 40) -> str:
    path = WORK / f"{name}.log"
    return (
        "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""
    )


# --- HTTP -------------------------------------------------------------------------------------


class Http:
    def __init__(self, port: int):
        self.port = port
        self.headers = {"X-Forwarded-Proto": "https"}

    def request(self, method: str, path: str, body=None, proxied=True, **headers):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        all_headers = {**(self.headers if proxied else {}), **headers}
        if body is not None:
            body = json.dumps(body)
            all_headers["Content-Type"] = "application/json"
        try:
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            # Its headers as sent, read case-insensitively: uvicorn names them in lower case.
            return response.status, response.headers, response.read().decode()
        finally:
            connection.close()

    def json(self, method: str, path: str, body=None, expect=200, **headers):
        status, _, text = self.request(method, path, body, **headers)
        if status != expect:
            raise SmokeFailed(f"{method} {path}: {status}, expected {expect}: {text[:500]}")
        return json.loads(text)


def wait_until(what: str, probe, stack: Stack, timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        stack.check_alive()
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise SmokeFailed(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.5)


# --- the smoke --------------------------------------------------------------------------------


def smoke(stack: Stack, http: Http) -> None:
    stack.run("manage", "check", "--deploy", "--fail-level", "WARNING")
    passed("manage.py check --deploy --fail-level WARNING: no issues with production settings")
    stack.run("manage", "collectstatic", "--noinput", "--verbosity", "0")
    passed("collectstatic, as the image build does")
    fresh_database()
    fresh_redis()
    stack.run("migrate")
    passed(f"entrypoint migrate (migrate + bootstrap) on {DATABASE_URL}, created afresh")

    for name in PROCESSES:
        stack.start(name)
    say(
        f"started web (gunicorn on 127.0.0.1:{http.port}), worker, beat and fix (FIX gateway on "
        f"127.0.0.1:{stack.env['EMSWEB_FIX_PORT']}); waiting for /readyz"
    )
    started = time.monotonic()

    def ready():
        try:
            status, _, text = http.request("GET", "/readyz", proxied=False)
        except OSError:  # not listening yet
            return None
        return text if status == 200 else None

    readyz = wait_until("/readyz to answer 200", ready, stack, timeout=120)
    passed(f"/readyz 200 after {time.monotonic() - started:.1f} s: {readyz}")

    for name in PROCESSES:  # what the compose healthchecks run
        stack.run("healthcheck", name, timeout=60)
    passed("the compose healthchecks: entrypoint.sh healthcheck web, worker, beat, fix")
    check_hardening(http)
    order = place_order(stack, http)
    check_metrics(stack, http, order)
    check_stream(http, order)
    check_fix(stack, http)
    check_readyz_notices_a_missing_worker(stack, http)


def check_hardening(http: Http) -> None:
    status, headers, _ = http.request("GET", "/admin/login/", proxied=False)
    if status != 301 or not headers.get("Location", "").startswith("https://"):
        raise SmokeFailed(f"plain http was not redirected to https: {status} {dict(headers)}")
    status, headers, _ = http.request("GET", "/admin/login/")
    csp = headers.get("Content-Security-Policy", "")
    for needed in ("script-src 'self'", "frame-ancestors 'none'"):
        if needed not in csp:
            raise SmokeFailed(f"/admin/login/ Content-Security-Policy lacks {needed}: {csp!r}")
    if "unsafe-inline" in csp or "max-age=" not in headers.get("Strict-Transport-Security", ""):
        raise SmokeFailed(f"weak headers on /admin/login/: {dict(headers)}")
    cookies = "; ".join(headers.get_all("Set-Cookie") or [])
    if "csrftoken" in cookies and "Secure" not in cookies:
        raise SmokeFailed(f"a cookie without Secure: {cookies}")
    status, headers, _ = http.request("GET", "/v1/docs")
    if status != 200 or "script-src 'self'" not in headers.get("Content-Security-Policy", ""):
        raise SmokeFailed(f"/v1/docs: {status} {headers.get('Content-Security-Policy')}")
    passed("plain http redirects to https; HSTS, CSP (no unsafe-inline), Secure cookies")


def place_order(stack: Stack, http: Http) -> str:
    # A desk admin (a superuser): only an admin may link accounts.
    stack.run(
        "manage", "createsuperuser", "--noinput", "--username", "ci", "--email", "ci@ci.invalid"
    )
    key = stack.run("manage", "create_api_key", "ci", "--label", "smoke").strip().splitlines()[-1]
    http.headers["Authorization"] = f"Bearer {key}"
    say("user ci and its API key created with manage.py")

    linked = http.json("POST", "/v1/accounts", {"exchange_id": ACCOUNT, "parameters": []})
    say(f"POST /v1/accounts: {linked}")

    def funded():
        snapshot = http.json("GET", f"/v1/balances?exchange_id={ACCOUNT}")
        usd = [
            row for item in snapshot for row in item["data"] if row["asset_id_exchange"] == "USD"
        ]
        return usd and usd[0]["available"] >= 1000

    wait_until(f"{ACCOUNT}'s first sync to record its balances", funded, stack, timeout=60)

    client_order_id = f"ci-smoke-{secrets.token_hex(4)}"
    ticket = {
        "exchange_id": ACCOUNT,
        "client_order_id": client_order_id,
        "symbol_id_coinapi": SYMBOL,
        "amount_order": 0.01,
        "price": 10000,  # the market starts at 50000: the order rests
        "side": "BUY",
        "order_type": "LIMIT",
        "time_in_force": "GOOD_TILL_CANCEL",
    }
    report = http.json("POST", "/v1/orders", ticket)
    say(f"POST /v1/orders: {report['status']} {report['status_history']}")

    def is_new():
        report = http.json("GET", f"/v1/orders/status/{client_order_id}")
        return report if report["status"] == "NEW" else None

    report = wait_until(f"{client_order_id} to be NEW", is_new, stack, timeout=30)
    passed(
        f"GET /v1/orders/status/{client_order_id}: {report['status']}, "
        f"history {report['status_history']}"
    )
    return client_order_id


def check_metrics(stack: Stack, http: Http, client_order_id: str) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    status, _, _ = http.request("GET", "/metrics", proxied=False)
    if status != 401:
        raise SmokeFailed(f"/metrics without the token answered {status}, not 401")
    token = stack.env["EMSWEB_METRICS_TOKEN"]
    status, _, text = http.request(
        "GET", "/metrics", proxied=False, Authorization=f"Bearer {token}"
    )
    if status != 200:
        raise SmokeFailed(f"/metrics with the token answered {status}")
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }

    def value(name: str, **labels) -> float | None:
        return samples.get((name, tuple(sorted(labels.items()))))

    expectations = {
        "the order counted NEW": value("emsweb_orders", status="NEW") == 1,
        "its routing latency observed": (value("emsweb_order_routing_latency_seconds_count") or 0)
        >= 1,
        "queue depths": None
        not in (
            value("emsweb_queue_depth", queue="orders"),
            value("emsweb_queue_depth", queue="default"),
        ),
        f"{ACCOUNT}'s sync lag under 30 s": (
            value("emsweb_account_sync_lag_seconds", exchange_id=ACCOUNT) or 1e9
        )
        < 30,
        "both sources up": value("emsweb_metrics_source_up", source="database")
        == value("emsweb_metrics_source_up", source="redis")
        == 1,
    }
    failed = [what for what, ok in expectations.items() if not ok]
    say("GET /metrics (Bearer token):")
    for line in text.splitlines():
        if line.startswith("emsweb_") and not line.startswith("emsweb_orders_created"):
            print(f"        {line}", flush=True)
    if failed:
        raise SmokeFailed(f"/metrics: not found: {', '.join(failed)}")
    passed("/metrics: " + "; ".join(expectations))


def check_stream(http: Http, client_order_id: str) -> None:
    """/v1/ws on the web port, with the key REST used: SERVER_INFO, the snapshots (the resting
    order among the open ones), then a cancel sent over the socket and its update streamed."""
    from websockets.sync.client import connect

    url = f"ws://127.0.0.1:{http.port}/v1/ws"
    headers = {"Authorization": http.headers["Authorization"]}
    with connect(url, additional_headers=headers, open_timeout=10) as ws:

        def receive() -> dict:
            return json.loads(ws.recv(timeout=10))

        first = receive()
        if first.get("type") != "SERVER_INFO" or not isinstance(first.get("seq"), int):
            raise SmokeFailed(f"/v1/ws: the first message is not SERVER_INFO with a seq: {first}")
        message = receive()
        while message["type"] != "ORDER_EXEC_REPORT_SNAPSHOT":
            message = receive()
        if client_order_id not in [report["client_order_id"] for report in message["data"]]:
            raise SmokeFailed(f"/v1/ws: {client_order_id} not in the snapshot: {message}")
        cancel = {
            "type": "ORDER_CANCEL_SINGLE_REQUEST",
            "exchange_id": ACCOUNT,
            "client_order_id": client_order_id,
        }
        ws.send(json.dumps(cancel))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            message = receive()
            if message["type"] == "MESSAGE_REJECT":
                raise SmokeFailed(f"/v1/ws: the cancel was refused: {message}")
            if message["type"] == "ORDER_EXEC_REPORT_UPDATE" and message["status"] == "CANCELED":
                break
        else:
            raise SmokeFailed(f"/v1/ws: no CANCELED update for {client_order_id} within 30 s")
    passed(
        f"/v1/ws: SERVER_INFO (seq {first['seq']}), {client_order_id} in the snapshot, canceled "
        f"over the socket, its CANCELED update streamed (seq {message['seq']})"
    )


# Celery's SIGTERM handler writes this straight to the file descriptor (os.write: no logging
# inside a signal handler), so it is the one line that cannot be JSON.
NOT_LOGGED = {"", "worker: Warm shutdown (MainProcess)"}


def check_readyz_notices_a_missing_worker(stack: Stack, http: Http) -> None:
    if not stop_group(stack.processes["worker"], timeout=STOP_TIMEOUT):
        raise SmokeFailed("the worker did not stop on SIGTERM")
    stack.processes.pop("worker")
    started = time.monotonic()

    def not_ready():
        status, _, text = http.request("GET", "/readyz", proxied=False)
        checks = json.loads(text)["checks"]
        stale = status == 503 and not checks["worker"]["ok"] and checks["beat"]["ok"]
        return text if stale else None

    readyz = wait_until("/readyz to notice the worker is gone", not_ready, stack, timeout=60)
    passed(f"worker stopped: /readyz 503 after {time.monotonic() - started:.1f} s: {readyz}")


def fix_message(begin_string: str, msg_type: str, fields: list[tuple[int, str]]) -> bytes:
    """One FIX message, framed: BodyLength and CheckSum computed."""
    body = f"35={msg_type}\x01" + "".join(f"{tag}={value}\x01" for tag, value in fields)
    head = f"8={begin_string}\x019={len(body)}\x01"
    checksum = sum((head + body).encode()) % 256
    return f"{head}{body}10={checksum:03d}\x01".encode()


def fix_read(connection: socket.socket, buffer: bytearray) -> dict[int, str]:
    """The next whole message from the socket, as tag -> value."""
    while b"\x0110=" not in buffer or not buffer.split(b"\x0110=", 1)[1].count(b"\x01"):
        chunk = connection.recv(4096)
        if not chunk:
            raise SmokeFailed("the FIX gateway closed the connection")
        buffer.extend(chunk)
    head, rest = bytes(buffer).split(b"\x0110=", 1)
    checksum, _, left = rest.partition(b"\x01")
    buffer[:] = left
    pairs = (pair.partition(b"=") for pair in (head + b"\x0110=" + checksum).split(b"\x01"))
    return {int(tag): value.decode() for tag, _, value in pairs if tag.isdigit()}


def check_fix(stack: Stack, http: Http) -> None:
    """Log on to the FIX gateway with the key (Password 554), place a resting order with a
    NewOrderSingle, and see it acknowledged (ExecType 0) from the event stream."""
    key = http.headers["Authorization"].removeprefix("Bearer ")
    sender, port = key[:12], int(stack.env["EMSWEB_FIX_PORT"])
    client_order_id = f"ci-fix-{secrets.token_hex(4)}"

    def message(msg_type: str, seq: int, fields: list[tuple[int, str]]) -> bytes:
        now = time.strftime("%Y%m%d-%H:%M:%S", time.gmtime())
        header = [(49, sender), (56, "EMSWEB"), (34, str(seq)), (52, now)]
        return fix_message("FIX.4.4", msg_type, header + fields)

    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        buffer = bytearray()
        connection.sendall(message("A", 1, [(98, "0"), (108, "30"), (141, "Y"), (554, key)]))
        logon = fix_read(connection, buffer)
        if logon.get(35) != "A":
            raise SmokeFailed(f"FIX Logon not answered by a Logon: {logon}")
        order = [
            (11, client_order_id), (100, ACCOUNT), (48, SYMBOL), (22, "101"), (55, "BTCUSD"),
            (54, "1"), (60, time.strftime("%Y%m%d-%H:%M:%S", time.gmtime())), (38, "0.01"),
            (40, "2"), (44, "10000"), (59, "1"),
        ]  # fmt: skip
        connection.sendall(message("D", 2, order))
        while True:
            report = fix_read(connection, buffer)
            if report.get(35) == "8" and report.get(11) == client_order_id:
                break
        if report.get(150) != "0" or report.get(39) != "0":
            raise SmokeFailed(f"the FIX order was not acknowledged: {report}")
        connection.sendall(message("5", 3, []))
    passed(f"FIX: logon with the API key, NewOrderSingle {client_order_id} acknowledged (150=0)")


def check_json_logs() -> None:
    """Every line each long-running process wrote is one JSON object."""
    for name in PROCESSES:
        lines = (WORK / f"{name}.log").read_text(errors="replace").splitlines()
        lines = [line for line in lines if line not in NOT_LOGGED]
        bad = []
        for line in lines:
            try:
                parsed = json.loads(line)
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict) or not {"time", "level", "message"} <= parsed.keys():
                bad.append(line)
        if bad:
            raise SmokeFailed(f"{name}: {len(bad)} of {len(lines)} lines are not JSON: {bad[:5]}")
        passed(f"{name}: all {len(lines)} log lines are JSON")


def main() -> int:
    def stop_on_signal(signum, frame):
        say(f"interrupted by signal {signum}: stopping everything it started")
        raise SystemExit(128 + signum)  # through the finally below

    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, stop_on_signal)

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    port = free_port()
    stack, http = Stack(production_env(port)), Http(port)
    failure = None
    try:
        smoke(stack, http)
    except SmokeFailed as problem:
        failure = str(problem)
    except Exception:  # noqa: BLE001 - reported like any failure, after the cleanup
        failure = traceback.format_exc()
    finally:
        killed = stack.stop()
    if killed:
        failure = failure or f"did not stop on SIGTERM within {STOP_TIMEOUT:g} s: {killed}"
    if failure is None:
        passed("stopped web, fix, beat and worker cleanly (SIGTERM); no process left behind")
        try:
            check_json_logs()
        except SmokeFailed as problem:
            failure = str(problem)
    if failure:
        say(f"FAILED: {failure}")
        for name in PROCESSES:
            say(f"--- last lines of {name}.log ---\n{tail(name)}")
    say(f"logs in {WORK.relative_to(ROOT)}/")
    print(f"smoke: {len(PASSED)} passed, {1 if failure else 0} failed", flush=True)
    return 1 if failure else 0


if __name__ == "__main__":
    sys.exit(main())
