"""The session layer with a real QuickFIX initiator: the key in the Logon, one session per key,
a revoked key logged out, rejects for malformed and unsupported messages, garbage on the socket."""

from __future__ import annotations

import re
import socket
import threading

import pytest
import quickfix
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from accounts.models import ApiKey
from fix.gateway import Gateway
from fix.translate import timestamp
from tests.conftest import wait_for
from tests.fix.conftest import ACCOUNT
from tests.fix.counterparty import TIMEOUT, Initiator, raw_connection

pytestmark = [pytest.mark.pipeline]


def raw_logon(*, sender: str, password: str, target: str = "EMSWEB") -> bytes:
    body = (
        f"35=A\x0149={sender}\x0156={target}\x0134=1\x0152={timestamp()}\x01"
        f"98=0\x01108=30\x01141=Y\x01554={password}\x01"
    )
    head = f"8=FIX.4.4\x019={len(body)}\x01"
    checksum = sum((head + body).encode()) % 256
    return f"{head}{body}10={checksum:03d}\x01".encode()


def closed(connection) -> bool:
    connection.settimeout(TIMEOUT)
    return connection.recv(4096) == b""


def test_a_logon_without_the_key_is_closed_and_one_with_it_is_answered(gateway, trading_key):
    api_key, key = trading_key
    with raw_connection(gateway.port) as connection:
        connection.sendall(raw_logon(sender=api_key.fix_sender, password="ems_not-a-key"))
        assert closed(connection)
    with raw_connection(gateway.port) as connection:
        connection.sendall(raw_logon(sender=api_key.fix_sender, password=key))
        connection.settimeout(TIMEOUT)
        answer = connection.recv(4096)
        assert b"\x0135=A\x01" in answer
    assert gateway.alive()


def test_a_keys_own_acceptor_port_serves_only_the_gateways_connections(gateway, trading_key):
    """QuickFIX 1.16 opens each key's acceptor on every interface; a connection to it from any
    address but 127.0.0.1 (here 127.0.0.2, another loopback address) is closed at its Logon,
    while the same Logon from 127.0.0.1 is answered."""
    api_key, key = trading_key
    with raw_connection(gateway.port) as connection:  # the front starts the key's acceptor
        connection.sendall(raw_logon(sender=api_key.fix_sender, password=key))
        connection.settimeout(TIMEOUT)
        assert b"\x0135=A\x01" in connection.recv(4096)
    settings_text = (gateway.directory / "sessions" / f"key-{api_key.pk}.cfg").read_text()
    port = int(re.search(r"^SocketAcceptPort=(\d+)$", settings_text, re.MULTILINE)[1])
    # The session is free again (QuickFIX waits up to 5 s for the closed one to let go).
    for source, answered in (("127.0.0.2", False), ("127.0.0.1", True)):
        with socket.create_connection(("127.0.0.1", port), TIMEOUT, (source, 0)) as connection:
            connection.sendall(raw_logon(sender=api_key.fix_sender, password=key))
            connection.settimeout(TIMEOUT)
            try:
                answer = connection.recv(4096)
            except ConnectionResetError:
                answer = b""
            assert (b"\x0135=A\x01" in answer) is answered, source


def test_garbage_on_the_socket_is_closed_and_the_gateway_serves_on(gateway, trading_key, connect):
    with raw_connection(gateway.port) as connection:
        connection.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert closed(connection)
    with raw_connection(gateway.port) as connection:
        connection.sendall(b"8=FIX.4.4\x019=5\x0135=D\x0110=000\x01" + bytes(range(256)))
        assert closed(connection)
    api_key, key = trading_key
    oms = connect(api_key, key)
    assert oms.application.logged_on.is_set() and gateway.alive()


def test_a_malformed_message_gets_a_reject_and_an_unsupported_one_a_business_reject(
    gateway, trading_key, connect
):
    api_key, key = trading_key
    oms = connect(api_key, key)
    # No Side (54): required by the dictionary.
    oms.send("D", {11: "no-side", 100: ACCOUNT, 55: "BTCUSD", 60: timestamp(), 38: "1", 40: "2"})
    [reject] = oms.application.expect("3")
    assert reject[371] == "54"  # RefTagID
    oms.send("BE", {923: "user-1", 924: "1", 553: "someone"})  # UserRequest
    [business] = oms.application.expect("j")
    assert business[372] == "BE"
    assert oms.application.logged_on.is_set()


def test_a_second_logon_with_the_same_key_ends_the_first(gateway, trading_key, connect):
    api_key, key = trading_key
    first = connect(api_key, key, name="first")
    second = connect(api_key, key, name="second")
    # The first reconnects by itself and may end the second in turn: as the hosted EMS, the
    # last logon wins.
    logouts = first.application.expect("5")
    assert any("again" in logout.get(58, "") for logout in logouts)
    first.stop()
    second.wait_logged_on()


@pytest.mark.django_db(transaction=True)
def test_a_session_left_disabled_by_a_crossed_logout_takes_the_next_logon(trading_key, tmp_path):
    """A second logon logs the first session out; when the first's connection had already gone,
    no onLogout enables the session again, and QuickFIX would refuse every later logon."""
    api_key, _ = trading_key
    gateway = Gateway(host="127.0.0.1", port=0, directory=tmp_path / "gateway")
    try:
        gateway.route(api_key, {})
        sessions = [
            quickfix.Session.lookupSession(session_id)
            for session_id in gateway.acceptors[api_key.pk].session_ids
        ]
        for session in sessions:
            session.logout("Logged on again with this API key")  # the crossed logout
        assert not any(session.isEnabled() for session in sessions)
        gateway.route(api_key, {})  # the next logon
        assert all(session.isEnabled() for session in sessions)
    finally:
        gateway.stop()


@pytest.fixture
def inprocess(trading_key, tmp_path):
    """The gateway in this process (its front serving; no stream loop), with an initiator of
    the trading key's logged on through it."""
    api_key, key = trading_key
    gateway = Gateway(host="127.0.0.1", port=0, directory=tmp_path / "gateway")
    threading.Thread(target=gateway.front.serve, daemon=True).start()
    first = Initiator(
        port=gateway.front.port,
        key=key,
        sender=api_key.fix_sender,
        target=api_key.fix_target,
        directory=tmp_path / "first",
        reconnect_interval=60,
    )
    try:
        first.wait_logged_on()
        yield gateway, first
    finally:
        first.close()
        gateway.stop()


@pytest.mark.django_db(transaction=True)
def test_a_second_logon_is_handed_over_once_the_first_connection_has_gone(trading_key, inprocess):
    """Handed over while the first was still connected, the second's Logon would wait for the
    session beside the first's own reconnection, and the first could win: last logon wins."""
    api_key, _ = trading_key
    gateway, first = inprocess
    gateway.route(api_key, {})  # as the front does for a second logon
    session_ids = gateway.acceptors[api_key.pk].session_ids
    assert not any(map(quickfix.Session.isSessionRegistered, session_ids))
    assert all(quickfix.Session.lookupSession(id_).isEnabled() for id_ in session_ids)
    [logout] = first.application.expect("5")
    assert "again" in logout[58]


@pytest.fixture
def database_connects(monkeypatch) -> list[threading.Thread]:
    """The thread of every database connection opened from now on; connections kept open
    between requests (CONN_MAX_AGE), as production has them on PostgreSQL."""
    monkeypatch.setitem(connections.settings[DEFAULT_DB_ALIAS], "CONN_MAX_AGE", 60)
    threads = []
    connect = BaseDatabaseWrapper.connect

    def connect_noted(wrapper):
        threads.append(threading.current_thread())
        connect(wrapper)

    monkeypatch.setattr(BaseDatabaseWrapper, "connect", connect_noted)
    return threads


@pytest.mark.django_db(transaction=True)
def test_a_fix_connection_uses_one_database_connection_for_all_its_messages(
    database_connects, inprocess
):
    """QuickFIX calls into Python with a fresh thread state each time (fix.connections)."""
    _, oms = inprocess
    assert database_connects  # the logon's, on the session's thread
    database_connects.clear()
    for n in range(5):
        oms.send("H", {11: f"unknown-{n}", 55: "BTCUSD", 54: "1"})
    oms.application.expect("8", count=5)
    assert database_connects == []


def test_a_revoked_key_is_logged_out(gateway, trading_key, connect):
    api_key, key = trading_key
    oms = connect(api_key, key)
    ApiKey.objects.filter(pk=api_key.pk).update(revoked_at=timezone.now())
    [logout] = oms.application.expect("5")
    assert "revoked" in logout[58]
    oms.stop()
    wait_for(lambda: not oms.application.logged_on.is_set(), what="the session to end")


def test_a_key_given_the_hosted_ems_comp_ids_logs_on_with_them(gateway, trading_key, connect):
    api_key, key = trading_key
    ApiKey.objects.filter(pk=api_key.pk).update(
        fix_sender_comp_id="OMS.FIX.CLIENT", fix_target_comp_id="CoinAPI.OEML.FIX"
    )
    api_key.refresh_from_db()
    oms = connect(api_key, key, begin_string="FIXT.1.1")
    assert oms.application.logged_on.is_set()


def test_a_test_request_is_answered_by_a_heartbeat_with_its_id(gateway, trading_key, connect):
    api_key, key = trading_key
    oms = connect(api_key, key)
    oms.send("1", {112: "are-you-there"})
    oms.application.expect("0", _112="are-you-there")


def test_a_logout_is_answered_by_a_logout_and_the_session_ends(gateway, trading_key, connect):
    api_key, key = trading_key
    oms = connect(api_key, key)
    oms.send("5", {58: "end of day"})
    oms.application.expect("5")
    wait_for(lambda: not oms.application.logged_on.is_set(), what="the session to end")
