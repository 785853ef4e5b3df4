"""The stream's faults: the stream server SIGKILLed under `make run` during a burst of 200 orders,
an order worker killed right after its commit, Redis restarted during a burst, and a client that
stops reading. A real server (gunicorn and its uvicorn workers, as production runs them), real
Celery workers, real Redis, and `websockets` clients that record every seq they are sent.

What each scenario asserts of the stream (issue 14): every committed event reaches a connected or
reconnecting client (`?since=<last seq>`), in seq order, with no gap and none twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.conf import settings
from django.db import transaction
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.sync.client import connect

from accounts.services import api_key_create
from orders.models import Order
from orders.services import orders_sweep_received
from orders.statuses import TERMINAL_STATUSES
from stream.models import StreamEvent
from stream.outbox import events_record
from stream.reader import latest_seq
from tests.conftest import ROOT, wait_for
from tests.conftest import test_database_url as database_url  # not collected as a test
from tests.faults_table import note_verdict
from tests.reliability.conftest import ACCOUNT, assert_invariants, settle, submit, wait_status
from tests.reliability.test_broker import (  # noqa: F401 - the broker scenarios' fixtures
    broker_account,
    broker_worker,
    burst,
    own_redis,
    sweep_until_routed,
)
from tests.reliability.test_supervision import ACCOUNT as DESK_ACCOUNT
from tests.reliability.test_supervision import Desk
from tests.stream.live import SLOW_CLIENT_BUFFER, WAVE, WAVES, WebServer, stalled_client
from venues.base import OrdStatus
from venues.paper import engine

S = OrdStatus
pytestmark = [pytest.mark.pipeline]

WAIT = 90  # generous: a loaded 2-core machine, and nothing here measures time


class StreamClient(threading.Thread):
    """A /v1/ws client on a thread of its own. It records the seq of every event it is sent, in
    the order they came (a repeat would be kept), and every order report; when its connection
    drops it connects again with `?since=<the last seq it saw>`, until stopped."""

    def __init__(self, ws_url: str, key: str, *, since: int | None = None, reconnect=True):
        super().__init__(daemon=True)
        self.url, self.key, self.reconnect = f"{ws_url}/v1/ws", key, reconnect
        self.last = since  # the last event's seq (or where the first connection started)
        self.started_at = since
        self.seqs: list[int] = []
        self.reports: dict[str, list[dict]] = {}  # client_order_id -> its reports, in order
        self.connections = 0
        self.closes: list[tuple[int | None, str]] = []  # close frames received: (code, reason)
        self.resyncs = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self._read()
            except ConnectionClosed as closed:
                if closed.rcvd is not None:
                    self.closes.append((closed.rcvd.code, closed.rcvd.reason))
            except (OSError, TimeoutError, WebSocketException):
                pass  # the server is away: try again
            if not self.reconnect:
                return
            self.stopping.wait(0.2)

    def _read(self) -> None:
        since = "" if self.last is None else f"?since={self.last}"
        headers = {"X-CoinAPI-Key": self.key}
        with connect(self.url + since, additional_headers=headers, open_timeout=30) as ws:
            self.connections += 1
            while not self.stopping.is_set():
                try:
                    text = ws.recv(timeout=0.5)
                except TimeoutError:
                    continue
                self._take(json.loads(text))

    def _take(self, message: dict) -> None:
        if message.get("resync"):
            self.resyncs += 1
        if not is_event(message):
            if self.last is None and message["type"] == "SERVER_INFO":
                self.last = self.started_at = message["seq"]  # the first connection's start
            return
        self.seqs.append(message["seq"])
        self.last = max(self.last or 0, message["seq"])
        if message["type"] == "ORDER_EXEC_REPORT_UPDATE":
            self.reports.setdefault(message["client_order_id"], []).append(message)

    def connected(self) -> bool:
        return self.started_at is not None

    def wait_until_seen(self, seq: int) -> None:
        wait_for(
            lambda: (self.last or 0) >= seq,
            timeout=WAIT,
            what=f"the client to see seq {seq} (saw up to {self.last})",
        )

    def assert_every_event_once(self, until: int) -> None:
        """Every seq after where it started, up to `until` at least, in order, none twice."""
        expected = list(range(self.started_at + 1, self.last + 1))
        assert self.last >= until
        assert self.seqs == expected, f"gaps or repeats: {gaps_and_repeats(self.seqs, expected)}"
        assert self.resyncs == 0, "a resume fell back to snapshots"

    def last_status(self, client_order_id: str) -> str | None:
        reports = self.reports.get(client_order_id)
        return reports[-1]["status"] if reports else None

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=30)


def is_event(message: dict) -> bool:
    """An update with its seq (an account's event is a SERVER_INFO with its connection), not the
    heartbeat, a snapshot or a reply."""
    kind = message.get("type", "")
    return kind.endswith("_UPDATE") or (kind == "SERVER_INFO" and "connection" in message)


def gaps_and_repeats(seen: list[int], expected: list[int]) -> str:
    missing = sorted(set(expected) - set(seen))
    repeated = sorted({seq for seq in seen if seen.count(seq) > 1})
    return f"missing {missing[:20]} ({len(missing)}), repeated {repeated[:20]} ({len(repeated)})"


def all_numbered() -> bool:
    return not StreamEvent.objects.filter(seq__isnull=True).exists()


@pytest.fixture
def key(django_user_model, transactional_db):
    user = django_user_model.objects.create_user("stream-faults", password="a-password-1")
    return api_key_create(user=user, label="stream faults")[1]


@pytest.fixture
def web_servers():
    """Web servers (tests.stream.live), started on the test database, stopped after the test."""
    servers: list[WebServer] = []

    def start(name: str, **env: str) -> WebServer:
        servers.append(WebServer(name, env=env or None))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def numbered(event: StreamEvent) -> int:
    """The event's seq, once the server's sequencer has numbered it."""
    return wait_for(
        lambda: StreamEvent.objects.get(pk=event.pk).seq, what=f"event {event.pk} numbered"
    )


@pytest.fixture
def client_factory():
    """StreamClients, started, and stopped after the test."""
    clients: list[StreamClient] = []

    def start(server_url: str, key: str, **options) -> StreamClient:
        client = StreamClient(server_url, key, **options)
        client.start()
        clients.append(client)
        if options.get("since") is None:
            wait_for(client.connected, timeout=WAIT, what="the client's first connection")
        return client

    yield start
    for client in clients:
        client.stop()


# --- 1. the stream server SIGKILLed under make run ----------------------------------------------

BURST = 200
DESK_STATE = (
    "import json\n"
    "from orders.models import Order\n"
    "from stream.models import StreamEvent\n"
    "orders = Order.objects.filter(client_order_id__startswith='stream-burst-')\n"
    "events = StreamEvent.objects.filter(seq__gt={since}).order_by('seq')\n"
    "print(json.dumps({{\n"
    "    'orders': dict(orders.values_list('client_order_id', 'status')),\n"
    "    'seqs': list(events.values_list('seq', flat=True)),\n"
    "    'unnumbered': StreamEvent.objects.filter(seq__isnull=True).count(),\n"
    "}}))\n"
)


@pytest.fixture
def stream_desk(tmp_path_factory):
    """`make run`'s launcher on a desk of its own, with an API key of its admin."""
    desk = Desk(tmp_path_factory.mktemp("stream-desk") / "var")
    desk.start()
    try:
        desk.key = desk.manage("create_api_key", "admin").splitlines()[-1]
        yield desk
    finally:
        desk.stop()


def place(desk: Desk, client_order_id: str) -> None:
    """POST /v1/orders, a BUY above the market that fills at once. No answer or a 5xx: sent again,
    the same client order id and body (the retry the API says is safe)."""
    order = {
        "exchange_id": DESK_ACCOUNT,
        "client_order_id": client_order_id,
        "symbol_id_coinapi": "PAPER_SPOT_BTC_USD",
        "amount_order": 0.001,
        "price": 60000,
        "side": "BUY",
        "order_type": "LIMIT",
        "time_in_force": "GOOD_TILL_CANCEL",
    }
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            response = requests.post(
                f"{desk.url}/v1/orders", json=order, headers=desk.headers(), timeout=30
            )
        except requests.RequestException:
            time.sleep(0.2)
            continue
        if response.status_code in (200, 504):  # 504: accepted, still routing
            return
        assert response.status_code >= 500, f"{client_order_id}: {response.text}"
        time.sleep(0.2)
    raise AssertionError(f"{client_order_id} was never accepted")


def desk_state(desk: Desk, since: int) -> dict:
    output = desk.manage("shell", "--no-imports", "-c", DESK_STATE.format(since=since))
    return json.loads(output.splitlines()[-1])


@pytest.mark.fault(16, "the stream server SIGKILLed under make run mid-burst of 200 orders")
def test_a_client_resumes_after_the_stream_server_is_killed_mid_burst_missing_none_twice_none(
    stream_desk, client_factory
):
    desk = stream_desk
    client = client_factory(desk.url.replace("http://", "ws://"), desk.key)
    ids = [f"stream-burst-{n}" for n in range(BURST)]
    placed: list[str] = []

    def place_one(client_order_id: str) -> None:
        place(desk, client_order_id)
        placed.append(client_order_id)

    with ThreadPoolExecutor(4) as traders:
        placing = traders.map(place_one, ids)
        wait_for(lambda: len(placed) >= BURST // 4, timeout=WAIT, what="orders before the kill")
        restarted = desk.log().count("web restarted")
        connections = client.connections
        os.killpg(desk.pid_of("web"), signal.SIGKILL)  # gunicorn and its workers, at once
        wait_for(lambda: desk.log().count("web restarted") > restarted, what="web restarted")
        list(placing)  # every order accepted (an exception in a trader is raised here)
    assert "web exited with code -9" in desk.log()

    def settled() -> dict | None:
        state = desk_state(desk, client.started_at)
        statuses = set(state["orders"].values())
        ended = len(state["orders"]) == BURST and statuses <= TERMINAL_STATUSES
        return state if ended and not state["unnumbered"] else None

    state = wait_for(settled, timeout=WAIT, what="every order of the burst to end, numbered")
    client.wait_until_seen(state["seqs"][-1])

    assert client.connections > connections, "the client never had to reconnect"
    client.assert_every_event_once(until=state["seqs"][-1])
    assert client.seqs[: len(state["seqs"])] == state["seqs"]  # every event the table holds
    for client_order_id, status in state["orders"].items():
        assert client.last_status(client_order_id) == status, client_order_id
    verdict = desk.manage("shell", "--no-imports", "-c", INVARIANTS).strip()
    note_verdict("hold" if verdict == "hold" else f"{len(verdict.splitlines())} violated")
    assert verdict == "hold"


INVARIANTS = (
    "from accounts.models import ExchangeAccount\n"
    "from orders.invariants import account_invariants_check\n"
    f"account = ExchangeAccount.objects.get(exchange_id={DESK_ACCOUNT!r})\n"
    "print('\\n'.join(account_invariants_check(account=account)) or 'hold')\n"
)


# --- 2. an order worker killed right after its commit -------------------------------------------


@pytest.mark.fault(3, "SIGKILL pool process right after the claim's commit, a client connected")
def test_the_event_of_a_commit_reaches_a_connected_client_though_its_worker_was_killed_right_after(
    account, pipeline, key, web_servers, client_factory
):
    client = client_factory(web_servers("faults-worker").ws_url, key)
    engine.set_knobs(ACCOUNT, latency_ms=15000)  # the worker waits on the venue, claimed
    order = wait_status(submit(account, "killed-after-commit"), S.ROUTING)
    pipeline.kill_pool_process()
    engine.set_knobs(ACCOUNT, latency_ms=0)

    # The claim's event: the order's second row (its first is the order received).
    claim = StreamEvent.objects.filter(kind="order", ref_id=order.pk).order_by("id")[1]
    client.wait_until_seen(numbered(claim))
    assert StreamEvent.objects.get(pk=claim.pk).seq in client.seqs
    reports = client.reports[order.client_order_id]
    assert S.ROUTING in {status for report in reports for status, _ in report["status_history"]}

    order = settle(account, order, S.REJECTED)  # never placed: reconciled, then streamed
    wait_for(all_numbered, what="the reconciler's events numbered")
    wait_for(lambda: client.last_status(order.client_order_id) == S.REJECTED, timeout=WAIT)
    client.assert_every_event_once(until=latest_seq())
    assert_invariants(account)


# The order path's writer as the API runs it (order_submit), in a process that SIGKILLs itself the
# moment its transaction commits: before the poke that wakes the sequencer, and before the routing
# task is queued (on_commit callbacks run in the order they were added; this one is first).
WRITER_KILLED_ON_COMMIT = """
import os, signal, sys
import django
django.setup()
from django.db import transaction
from accounts.models import ExchangeAccount
from orders.services import OrderTicket, order_submit
account = ExchangeAccount.objects.get(pk=int(sys.argv[1]))
ticket = OrderTicket(
    client_order_id=sys.argv[2], symbol="BTCUSD", side="BUY", amount="0.1", price="49000"
)
with transaction.atomic():
    transaction.on_commit(lambda: os.kill(os.getpid(), signal.SIGKILL))
    order_submit(account=account, ticket=ticket)
"""


def writer_killed_on_commit(account, client_order_id: str) -> None:
    writer = subprocess.run(
        [sys.executable, "-c", WRITER_KILLED_ON_COMMIT, str(account.pk), client_order_id],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL,
        },
        capture_output=True,
        timeout=WAIT,
    )
    assert writer.returncode == -signal.SIGKILL, writer.stderr.decode()[-3000:]


@pytest.mark.fault(3, "writer SIGKILLed between its commit and its poke, a client connected")
def test_the_event_of_a_writer_killed_before_it_could_poke_reaches_a_connected_client(
    account, pipeline, key, web_servers, client_factory
):
    client = client_factory(web_servers("faults-writer").ws_url, key)
    writer_killed_on_commit(account, "killed-on-commit")
    order = Order.objects.get(client_order_id="killed-on-commit")
    assert order.status == S.RECEIVED  # committed; its routing task was never queued

    client.wait_until_seen(numbered(StreamEvent.objects.get(kind="order", ref_id=order.pk)))
    assert client.last_status(order.client_order_id) == S.RECEIVED

    def routed() -> bool:
        orders_sweep_received()  # as beat does: the order is queued again, and routed
        order.refresh_from_db()
        return order.status == S.NEW or time.sleep(0.5)

    wait_for(routed, timeout=WAIT, what="the order swept and routed")
    wait_for(all_numbered, what="the routing's events numbered")
    wait_for(lambda: client.last_status(order.client_order_id) == S.NEW, timeout=WAIT)
    client.assert_every_event_once(until=latest_seq())
    assert_invariants(account)


# --- 3. Redis restarted while a client is connected ---------------------------------------------


@pytest.fixture
def broker(request):
    """test_broker's: a Redis of the test's own, a worker on it, and the account they serve."""
    return tuple(
        request.getfixturevalue(name) for name in ("own_redis", "broker_worker", "broker_account")
    )


def restart(redis_server) -> None:
    redis_server.stop()
    time.sleep(0.5)  # the server's hub and the worker find it gone
    redis_server.start()


@pytest.mark.fault(14, "Redis restarted (no persistence) mid-burst, a client connected")
def test_a_client_connected_while_redis_restarts_mid_burst_keeps_every_event_and_none_twice(
    broker, key, web_servers, client_factory
):
    redis_server, worker, paper = broker
    client = client_factory(web_servers("faults-redis", REDIS_URL=redis_server.url).ws_url, key)

    restarting = threading.Thread(target=restart, args=(redis_server,))
    accepted, refused = burst(paper, restarting.start)
    restarting.join()
    sweep_until_routed(paper, worker)
    engine.set_knobs(ACCOUNT, latency_ms=0)

    wait_for(all_numbered, timeout=WAIT, what="every event numbered")
    latest = latest_seq()
    client.wait_until_seen(latest)
    client.assert_every_event_once(until=latest)
    orders = Order.objects.filter(client_order_id__in=accepted + refused)
    assert orders.count() >= len(accepted)
    for order in orders:
        assert client.last_status(order.client_order_id) == order.status, order
    assert_invariants(paper)


# --- 4. a client that stops reading -------------------------------------------------------------


@pytest.mark.fault(16, "a client stops reading mid-stream; another on the desk reads on")
def test_a_client_that_stops_reading_is_cut_off_as_slow_while_another_keeps_receiving_orders(
    account, pipeline, key, web_servers, client_factory
):
    # Time enough, after the cut-off, for the orders to go through before the test reads the
    # stalled client's backlog.
    server = web_servers(
        "faults-slow",
        EMSWEB_STREAM_CLIENT_BUFFER=str(SLOW_CLIENT_BUFFER),
        EMSWEB_STREAM_CLIENT_WAIT="90",
    )
    headers = {"X-CoinAPI-Key": key}
    with stalled_client(f"{server.ws_url}/v1/ws", port=server.port, headers=headers) as stalled:
        stalled_from = json.loads(stalled.recv(timeout=WAIT))["seq"]
        reader = client_factory(server.ws_url, key)
        orders = []
        for wave in range(WAVES):  # events the stalled client does not read, orders among them
            with transaction.atomic():
                events_record(kind="account", account_id=account.pk, ref_ids=[account.pk] * WAVE)
            orders.append(submit(account, f"read-on-{wave}"))
            wait_for(all_numbered, timeout=WAIT, what="the wave numbered")
            reader.wait_until_seen(latest_seq())  # in waves the reader keeps up with
        for order in orders:
            wait_status(order, S.NEW)
        wait_for(all_numbered, timeout=WAIT, what="every event numbered")
        latest = latest_seq()
        reader.wait_until_seen(latest)

        stalled_seqs = []
        with pytest.raises(ConnectionClosed) as closed:
            while True:  # what it was sent before it was cut off, then the close
                message = json.loads(stalled.recv(timeout=WAIT))
                assert message["seq"] < latest, "the stalled client was sent it all, not closed"
                if is_event(message):
                    stalled_seqs.append(message["seq"])
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1013, "slow consumer")

    reader.assert_every_event_once(until=latest)
    assert reader.connections == 1 and reader.closes == [], "the reader was cut off too"
    for order in orders:
        assert reader.last_status(order.client_order_id) == S.NEW
    assert len(stalled_seqs) < latest - stalled_from - SLOW_CLIENT_BUFFER, "it was sent it all"

    # Cut off, it resumes from the last seq it read, and misses nothing.
    assert stalled_seqs == list(range(stalled_from + 1, stalled_from + 1 + len(stalled_seqs)))
    resumed = client_factory(server.ws_url, key, since=(stalled_seqs or [stalled_from])[-1])
    resumed.wait_until_seen(latest)
    resumed.assert_every_event_once(until=latest)
