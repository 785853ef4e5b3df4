"""/v1/ws and /stream on a real server (deploy/entrypoint.sh web) with a real `websockets` client:
who may connect, resume by seq with no gap and no repeat, the heartbeat, a slow client cut off,
a revoked key's connection closed, and frames that are too big, binary or not JSON."""

from __future__ import annotations

import json
import socket
import time

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
from tests.stream.live import WebServer

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


def test_a_client_that_stops_reading_is_closed_as_slow_while_another_keeps_receiving(
    transactional_db, key, account
):
    server = WebServer("slow", env={"EMSWEB_STREAM_CLIENT_BUFFER": "1500"})
    # A small receive window, so that the kernel's buffers hold little of what is not read.
    small = socket.socket()
    small.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    small.connect(("127.0.0.1", server.port))
    try:
        headers = {"X-CoinAPI-Key": key}
        url = f"{server.ws_url}/v1/ws"
        with (
            connect(url, sock=small, additional_headers=headers, max_queue=4) as stalled,
            connect(url, additional_headers=headers) as reader,
        ):
            receive(stalled)
            receive(reader)
            account_events(account, 20_000)
            assert events_until(reader, 20_000)[-1] == 20_000
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    stalled.recv(timeout=TIMEOUT)
        assert closed.value.rcvd.code == 1013
        assert closed.value.rcvd.reason == "slow consumer"
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


def test_the_pages_stream_sends_events_to_a_signed_in_page_of_the_site(web_server, user, account):
    headers = {"Cookie": session_cookie(user)}
    with connect(
        f"{web_server.ws_url}/stream", origin=web_server.origin, additional_headers=headers
    ) as ws:
        receive(ws)
        account_events(account, 3)
        assert events_until(ws, 3) == [1, 2, 3]


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
