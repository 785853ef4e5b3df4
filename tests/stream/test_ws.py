"""/v1/ws and /stream on a real server (deploy/entrypoint.sh web) with a real `websockets` client:
who may connect, resume by seq with no gap and no repeat, the heartbeat, a slow client cut off,
a revoked key's connection closed, and frames that are too big, binary or not JSON."""

from __future__ import annotations

import json
import time

import psutil
import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.utils import timezone
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from accounts.models import ApiKey
from accounts.services import api_key_create
from stream.models import StreamEvent
from stream.outbox import events_record
from stream.reader import latest_seq
from tests.conftest import VAR, RedisServer, wait_for
from tests.factories import AccountFactory
from tests.stream.live import SLOW_CLIENT_BUFFER, WAVE, WAVES, WebServer, stalled_client

TIMEOUT = 10


@pytest.fixture
def web_server(transactional_db):
    """A server for one test: each test's database starts empty, its stream at seq 0."""
    server = WebServer("stream")
    yield server
    server.stop()


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("ws-user", password="ws-password-1")


@pytest.fixture
def key(user):
    return api_key_create(user=user, label="stream")[1]


@pytest.fixture
def account(transactional_db):
    return AccountFactory()


def account_events(account, count: int) -> None:
    """`count` events of `account`, committed, then numbered by the server's sequencer."""
    with transaction.atomic():
        events_record(kind="account", account_id=account.pk, ref_ids=[account.pk] * count)
    wait_for(
        lambda: not StreamEvent.objects.filter(seq__isnull=True).exists(),
        what="the server's hub to number the events",
    )


def receive(ws, timeout: float = TIMEOUT) -> dict:
    return json.loads(ws.recv(timeout=timeout))


def is_event(message: dict) -> bool:
    """An account's event (SERVER_INFO with its connection), not the heartbeat."""
    return "connection" in message


def events_until(ws, last_seq: int) -> list[int]:
    """The seqs of the events received until `last_seq`, in the order they came."""
    seen: list[int] = []
    deadline = time.monotonic() + TIMEOUT * 3
    while not seen or seen[-1] < last_seq:
        assert time.monotonic() < deadline, f"only {seen[-5:]} of ..{last_seq}"
        message = receive(ws)
        if is_event(message):
            seen.append(message["seq"])
    return seen


# --- who may connect --------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["header", "bearer", "query"])
def test_a_key_opens_the_api_stream_where_rest_takes_it_and_server_info_comes_first(
    web_server, key, where
):
    url, headers = f"{web_server.ws_url}/v1/ws", {}
    if where == "header":
        headers["X-CoinAPI-Key"] = key
    elif where == "bearer":
        headers["Authorization"] = f"Bearer {key}"
    else:
        url += f"?apikey={key}"
    with connect(url, additional_headers=headers) as ws:
        first = receive(ws)
        assert first["type"] == "SERVER_INFO"
        assert first["seq"] == 0
        assert receive(ws)["type"] == "SERVER_INFO"  # then the heartbeat, every second
    assert key not in web_server.output()


@pytest.mark.parametrize("key_given", ["", "ems_not-a-key"])
def test_a_missing_or_unknown_key_is_refused_with_403(web_server, key_given):
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{web_server.ws_url}/v1/ws", additional_headers={"X-CoinAPI-Key": key_given})
    assert refused.value.response.status_code == 403


def test_a_revoked_keys_open_connection_is_closed(web_server, key):
    with connect(f"{web_server.ws_url}/v1/ws", additional_headers={"X-CoinAPI-Key": key}) as ws:
        receive(ws)
        ApiKey.objects.update(revoked_at=timezone.now())
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                receive(ws)
    assert closed.value.rcvd.code == 4401


def test_a_deactivated_users_open_connection_is_closed(web_server, key, user):
    with connect(f"{web_server.ws_url}/v1/ws", additional_headers={"X-CoinAPI-Key": key}) as ws:
        receive(ws)
        type(user).objects.filter(pk=user.pk).update(is_active=False)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                receive(ws)
    assert closed.value.rcvd.code == 4401


# --- the stream -------------------------------------------------------------------------------


def test_events_come_in_seq_order_and_a_client_resuming_with_since_misses_none_and_repeats_none(
    web_server, key, account
):
    headers = {"X-CoinAPI-Key": key}
    with connect(f"{web_server.ws_url}/v1/ws", additional_headers=headers) as ws:
        receive(ws)
        account_events(account, 30)
        assert events_until(ws, 30) == list(range(1, 31))
    account_events(account, 40)  # while disconnected
    with connect(f"{web_server.ws_url}/v1/ws?since=30", additional_headers=headers) as ws:
        opening = receive(ws)
        assert opening["type"] == "SERVER_INFO"
        account_events(account, 25)  # while the backlog is read
        assert events_until(ws, 95) == list(range(31, 96))


def test_a_since_older_than_the_table_keeps_gets_snapshots_marked_resync(web_server, key, account):
    account_events(account, 10)
    StreamEvent.objects.filter(seq__lte=5).delete()  # as retention would
    headers = {"X-CoinAPI-Key": key}
    with connect(f"{web_server.ws_url}/v1/ws?since=2", additional_headers=headers) as ws:
        assert receive(ws)["type"] == "SERVER_INFO"
        snapshot = receive(ws)
    assert snapshot["type"].endswith("_SNAPSHOT")
    assert snapshot["resync"] is True
    assert latest_seq() == 10


def test_a_since_that_is_not_a_number_is_closed_naming_since(web_server, key):
    url = f"{web_server.ws_url}/v1/ws?since=yesterday"
    with (
        connect(url, additional_headers={"X-CoinAPI-Key": key}) as ws,
        pytest.raises(ConnectionClosed) as closed,
    ):
        receive(ws)
    assert closed.value.rcvd.code == 4400
    assert "since" in closed.value.rcvd.reason


def events_until_closed(ws, latest: int) -> tuple[list[int], ConnectionClosed]:
    """The seqs of the events received until the connection closed, and how it closed; it must
    close before it is sent `latest`."""
    seen: list[int] = []
    try:
        while True:
            message = receive(ws)
            assert message["seq"] < latest, "it was sent every event, and not closed"
            if is_event(message):
                seen.append(message["seq"])
    except ConnectionClosed as closed:
        return seen, closed


def assert_resumes_missing_none(url: str, headers: dict, seen: list[int], latest: int) -> None:
    """A client cut off after `seen` (from seq 1) resumes and is sent every event after them."""
    assert seen == list(range(1, len(seen) + 1))
    since = seen[-1] if seen else 0
    with connect(f"{url}?since={since}", additional_headers=headers) as resumed:
        assert receive(resumed)["type"] == "SERVER_INFO"
        assert events_until(resumed, latest) == list(range(since + 1, latest + 1))


def test_a_client_that_stops_reading_is_closed_as_slow_while_another_keeps_receiving(
    transactional_db, key, account
):
    # Time enough, after the cut-off, for the test to read the stalled client's backlog.
    env = {"EMSWEB_STREAM_CLIENT_BUFFER": str(SLOW_CLIENT_BUFFER)}
    server = WebServer("slow", env={**env, "EMSWEB_STREAM_CLIENT_WAIT": "60"})
    try:
        headers = {"X-CoinAPI-Key": key}
        url = f"{server.ws_url}/v1/ws"
        with (
            stalled_client(url, port=server.port, headers=headers) as stalled,
            connect(url, additional_headers=headers) as reader,
        ):
            assert receive(stalled)["seq"] == receive(reader)["seq"] == 0
            # In waves the reader keeps up with: only the stalled client falls behind.
            for wave in range(1, WAVES + 1):
                account_events(account, WAVE)
                seen = events_until(reader, wave * WAVE)
                assert seen == list(range((wave - 1) * WAVE + 1, wave * WAVE + 1))
            latest = WAVES * WAVE
            stalled_seqs, closed = events_until_closed(stalled, latest)  # its backlog, the close
        assert (closed.rcvd.code, closed.rcvd.reason) == (1013, "slow consumer")
        assert len(stalled_seqs) < latest - SLOW_CLIENT_BUFFER
        assert_resumes_missing_none(url, headers, stalled_seqs, latest)
    finally:
        server.stop()


def server_end_open(server_port: int, client_address: tuple[str, int]) -> bool:
    """Whether the server still holds its end of the client's connection open."""
    ends = (("127.0.0.1", server_port), client_address)
    return any(
        (c.laddr, c.raddr) == ends and c.status == psutil.CONN_ESTABLISHED
        for c in psutil.net_connections(kind="tcp4")
    )


def test_a_client_that_never_reads_is_cut_off_within_its_wait_and_its_connection_dropped(
    transactional_db, key, account
):
    server = WebServer("never-reads", env={"EMSWEB_STREAM_CLIENT_WAIT": "1"})
    try:
        headers = {"X-CoinAPI-Key": key}
        url = f"{server.ws_url}/v1/ws"
        with stalled_client(url, port=server.port, headers=headers) as stalled:
            assert receive(stalled)["seq"] == 0
            address = stalled.local_address
            # More than the connection holds unread, far fewer than the buffer (10,000): only
            # the time it waits cuts it off. It reads neither its backlog nor its close frame,
            # and the server drops the connection.
            account_events(account, 2000)
            wait_for(
                lambda: not server_end_open(server.port, address),
                timeout=30,
                what="the server to drop the connection",
            )
            stalled_seqs, closed = events_until_closed(stalled, 2000)
        assert closed.rcvd is None, "dropped: its close frame was never sent in full"
        assert_resumes_missing_none(url, headers, stalled_seqs, 2000)
    finally:
        server.stop()


# --- bad frames -------------------------------------------------------------------------------


def test_a_frame_over_64_kib_is_closed_with_1009_and_the_server_keeps_serving(web_server, key):
    headers = {"X-CoinAPI-Key": key}
    with connect(f"{web_server.ws_url}/v1/ws", additional_headers=headers) as ws:
        receive(ws)
        ws.send(json.dumps({"type": "ORDER_NEW_SINGLE_REQUEST", "pad": "x" * (1 << 20)}))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                receive(ws)
    assert closed.value.rcvd.code == 1009
    with connect(f"{web_server.ws_url}/v1/ws", additional_headers=headers) as ws:
        assert receive(ws)["type"] == "SERVER_INFO"


def test_a_binary_frame_that_is_not_text_is_closed_with_1003(web_server, key):
    with connect(f"{web_server.ws_url}/v1/ws", additional_headers={"X-CoinAPI-Key": key}) as ws:
        receive(ws)
        ws.send(b"\xff\xfe\x00")
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                receive(ws)
    assert closed.value.rcvd.code == 1003


@pytest.mark.parametrize("frame", ["not json", "[1, 2]", '{"type": "NO_SUCH_REQUEST"}'])
def test_a_text_frame_that_is_no_request_gets_a_message_reject_and_the_stream_goes_on(
    web_server, key, frame
):
    with connect(f"{web_server.ws_url}/v1/ws", additional_headers={"X-CoinAPI-Key": key}) as ws:
        receive(ws)
        ws.send(frame)
        message = receive(ws)
        while message["type"] == "SERVER_INFO":
            message = receive(ws)
        assert message["type"] == "MESSAGE_REJECT"
        assert receive(ws)["type"] == "SERVER_INFO"


# --- the pages' stream ------------------------------------------------------------------------


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def next_html(ws) -> str:
    """The next HTML the pages' stream pushes, past its heartbeats (JSON)."""
    deadline = time.monotonic() + TIMEOUT
    while not (text := ws.recv(timeout=TIMEOUT)).startswith("<"):
        assert time.monotonic() < deadline, "no HTML pushed"
    return text


def test_the_pages_stream_pushes_a_signed_in_pages_live_parts_as_html(web_server, user, account):
    """All of them on connecting, then those the events touch (stream.pages says which)."""
    headers = {"Cookie": session_cookie(user)}
    with connect(
        f"{web_server.ws_url}/stream?page=overview",
        origin=web_server.origin,
        additional_headers=headers,
    ) as ws:
        assert receive(ws)["type"] == "SERVER_INFO"
        assert next_html(ws).startswith('<div id="overview-live" ')
        account_events(account, 3)
        pushed = next_html(ws)
        assert pushed.startswith('<div id="overview-live" ') and account.exchange_id in pushed


@pytest.mark.parametrize("origin", [None, "http://evil.example", "http://127.0.0.1:1"])
def test_the_pages_stream_refuses_another_origin(web_server, user, origin):
    headers = {"Cookie": session_cookie(user)}
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{web_server.ws_url}/stream", origin=origin, additional_headers=headers)
    assert refused.value.response.status_code == 403


def test_the_pages_stream_refuses_a_page_that_is_not_signed_in(web_server):
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{web_server.ws_url}/stream", origin=web_server.origin)
    assert refused.value.response.status_code == 403


def test_with_redis_down_and_back_the_stream_goes_on_from_the_table_in_order(
    transactional_db, key, account
):
    own_redis = RedisServer(VAR / f"test-redis-stream-{id(account)}.sock")
    own_redis.start()
    server = WebServer("redis-restart", env={"REDIS_URL": own_redis.url})
    try:
        url = f"{server.ws_url}/v1/ws"
        with connect(url, additional_headers={"X-CoinAPI-Key": key}) as ws:
            receive(ws)
            account_events(account, 5)
            assert events_until(ws, 5) == [1, 2, 3, 4, 5]
            own_redis.stop()
            account_events(account, 5)  # numbered by the hub's timer, read from the table
            assert events_until(ws, 10) == [6, 7, 8, 9, 10]
            own_redis.start()
            account_events(account, 5)
            assert events_until(ws, 15) == [11, 12, 13, 14, 15]
    finally:
        server.stop()
        own_redis.stop()


def test_a_websocket_to_any_other_path_is_refused_with_403(web_server, key):
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{web_server.ws_url}/ws", additional_headers={"X-CoinAPI-Key": key})
    assert refused.value.response.status_code == 403
