"""The FIX gateway process (`manage.py fix_gateway`): the front, one QuickFIX acceptor per API key
that has logged on, and the loop that sends every logged-on session its execution reports.

The loop is one more reader of the event stream: it listens on Redis for the sequencer's batches
and the writers' pokes (running a sequencer pass itself when poked, as every web process's hub
does, so the stream moves even with no web process), and each second it also reads the table,
checks that each key with an acceptor is still active (a revoked key's session is logged out),
records the gateway's heartbeat for /readyz, and marks the keys with a session as connected for
CANCEL_ON_DISCONNECT (orders.presence, as a /v1/ws connection does).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import quickfix
import redis
from django.db import close_old_connections

from accounts.models import ApiKey
from emsweb.heartbeats import FIX_KEY, heartbeat_record
from emsweb.redis import redis_client
from orders.presence import presence_drop, presence_touch
from orders.services.disconnect import connection_left
from stream.outbox import POKE_CHANNEL
from stream.sequencer import EVENTS_CHANNEL, sequence_pass

from .application import GatewayApplication, SessionEvents
from .config import BEGIN_STRINGS, acceptor_settings
from .connections import thread_connections_close
from .delivery import (
    order_events,
    previous_report,
    session_position,
    session_position_save,
)
from .front import Front
from .translate import changes, execution_report

logger = logging.getLogger(__name__)

CHECK_EVERY = 1.0  # seconds: the table read, key checks, heartbeat, presence
LISTEN_WAIT = 0.2  # seconds a listen waits for Redis before looking at new logons
# A second logon waits this long at most for the first's connection to go: the first's Logout
# goes out within a second (QuickFIX's timer) and its answer is awaited 2 s (LogoutTimeout).
HANDOVER_WAIT = 5.0
HANDOVER_POLL = 0.02


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class KeyAcceptor:
    """One key's QuickFIX acceptor and its two sessions (FIX.4.4, FIXT.1.1)."""

    key_id: int
    comp_ids: tuple[str, str]  # the client's (SenderCompID, TargetCompID)
    port: int
    acceptor: quickfix.ThreadedSocketAcceptor
    session_ids: list = field(default_factory=list)


def active_key(key_id: int) -> ApiKey | None:
    return (
        ApiKey.objects.select_related("user")
        .filter(pk=key_id, revoked_at__isnull=True, user__is_active=True)
        .first()
    )


class Gateway(SessionEvents):
    def __init__(self, *, host: str, port: int, directory: Path, tls=None):
        self.directory = Path(directory)
        for sub in ("store", "log", "sessions"):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)
        self.application = GatewayApplication(self)
        self.acceptors: dict[int, KeyAcceptor] = {}
        self.key_ids: dict[str, int] = {}  # a session id's text -> its key's id
        self.live: dict[str, quickfix.SessionID] = {}  # the logged-on sessions, by name
        self.lock = threading.RLock()
        self.stopped = threading.Event()
        self.new_logon = threading.Event()  # deliver at once, not at the next second
        self.front = Front(host, port, self.route, tls)

    # --- sessions ----------------------------------------------------------------------------

    def route(self, key: ApiKey, fields: dict) -> int:
        """The port of `key`'s acceptor, started if need be, with its sessions logged out."""
        stale = None
        with self.lock:
            running = self.acceptors.get(key.pk)
            if running and running.comp_ids != (key.fix_sender, key.fix_target):
                stale = self._take_acceptor(key.pk)
                running = None
            if running is None:
                running = self._start_acceptor(key)
        if stale is not None:
            self._stop_acceptor(stale, reason="The key's CompIDs changed")
        found = map(quickfix.Session.lookupSession, running.session_ids)
        sessions = [session for session in found if session is not None]
        ending = [session for session in sessions if session.isLoggedOn()]
        for session in ending:
            # One session per key: a second logon ends the first, as the hosted EMS does.
            session.logout("Logged on again with this API key")
        self._wait_until_free([session.getSessionID() for session in ending])
        for session in sessions:
            if not session.isEnabled():
                # Logged out above, or by an earlier logon just after its connection had gone
                # by itself: no onLogout followed to enable it again, and it would refuse
                # every logon.
                session.logon()
        return running.port

    @staticmethod
    def _wait_until_free(session_ids: list) -> None:
        """Wait (a few seconds at most) until the connections of the sessions logged out have
        gone. QuickFIX gives a session to one connection at a time: a Logon that arrived
        before then would wait for it beside the first's own reconnection (a client that
        reconnects by itself), and whichever looked first would win. Handed over only once
        the session is free, the last logon wins, every time."""
        deadline = time.monotonic() + HANDOVER_WAIT
        while any(map(quickfix.Session.isSessionRegistered, session_ids)):
            if time.monotonic() > deadline:
                logger.warning("FIX sessions still taken after %s s: handed over", HANDOVER_WAIT)
                return
            time.sleep(HANDOVER_POLL)

    def _start_acceptor(self, key: ApiKey) -> KeyAcceptor:
        port = free_port()
        path = self.directory / "sessions" / f"key-{key.pk}.cfg"
        path.write_text(acceptor_settings(key, port=port, directory=self.directory))
        settings = quickfix.SessionSettings(str(path))
        acceptor = quickfix.ThreadedSocketAcceptor(
            self.application,
            quickfix.FileStoreFactory(settings),
            settings,
            quickfix.FileLogFactory(settings),
        )
        running = KeyAcceptor(key.pk, (key.fix_sender, key.fix_target), port, acceptor)
        for begin_string in BEGIN_STRINGS:
            session_id = quickfix.SessionID(begin_string, key.fix_target, key.fix_sender)
            running.session_ids.append(session_id)
            self.key_ids[session_id.toString()] = key.pk
        acceptor.start()
        self.acceptors[key.pk] = running
        logger.info("FIX sessions of key %s (%s -> %s) open", key.prefix, *running.comp_ids)
        return running

    def _take_acceptor(self, key_id: int) -> KeyAcceptor:
        """Forget `key_id`'s acceptor (under the lock); stop it after, without the lock: its
        sessions' logouts call back into logged_out, from QuickFIX's threads."""
        running = self.acceptors.pop(key_id)
        for session_id in running.session_ids:
            self.key_ids.pop(session_id.toString(), None)
        return running

    def _stop_acceptor(self, running: KeyAcceptor, *, reason: str) -> None:
        for session_id in running.session_ids:
            session = quickfix.Session.lookupSession(session_id)
            if session is not None and session.isLoggedOn():
                session.logout(reason)
        running.acceptor.stop()  # sends the Logouts, waits for their answers a moment
        logger.info("FIX sessions of key #%s closed: %s", running.key_id, reason)

    def key_of(self, session_id) -> ApiKey | None:
        key_id = self.key_ids.get(session_id.toString())
        return active_key(key_id) if key_id is not None else None

    def logged_on(self, session_id) -> None:
        key = self.key_of(session_id)
        if key is None:
            return
        begin_string = session_id.getBeginString().getValue()
        session_position(api_key=key, begin_string=begin_string)  # a new session starts now
        with self.lock:
            self.live[session_id.toString()] = session_id
        self.new_logon.set()
        presence_touch(connections=[(key.pk, session_id.toString())])

    def logged_out(self, session_id) -> None:
        with self.lock:
            self.live.pop(session_id.toString(), None)
        # A session we logged out (a second logon, a revoked key) stays disabled in QuickFIX,
        # refusing every later logon: enabled again, the next logon is checked as any other.
        session = quickfix.Session.lookupSession(session_id)
        if session is not None:
            session.logon()
        key_id = self.key_ids.get(session_id.toString())
        try:
            if key_id is not None:
                presence_drop(api_key_id=key_id, connection_id=session_id.toString())
                connection_left(api_key_id=key_id)
        finally:
            thread_connections_close()  # the connection's thread is done with the database

    # --- the stream ---------------------------------------------------------------------------

    def deliver(self, session_id) -> None:
        """Send the session the reports of the events after its position, and move it on."""
        key = self.key_of(session_id)
        if key is None:
            return
        begin_string = session_id.getBeginString().getValue()
        since = session_position(api_key=key, begin_string=begin_string)
        position = since
        try:
            while True:
                events, read_to = order_events(api_key=key, since=position)
                for seq, order_id, report in events:
                    if not self._send_reports(session_id, begin_string, seq, order_id, report):
                        return
                    position = seq
                if read_to <= position:
                    break
                position = read_to  # past other orders' events too
        finally:
            if position != since:
                session_position_save(api_key=key, begin_string=begin_string, seq=position)

    def _send_reports(self, session_id, begin_string: str, seq: int, order_id: int, report) -> bool:
        previous = previous_report(order_id=order_id, before=seq)
        for n, change in enumerate(changes(previous, report)):
            message = execution_report(
                report, begin_string=begin_string, exec_id=f"{seq}.{n}", **change
            )
            if not quickfix.Session.sendToTarget(message, session_id):
                return False
        return True

    def deliver_all(self) -> None:
        with self.lock:
            sessions = list(self.live.values())
        for session_id in sessions:
            try:
                self.deliver(session_id)
            except quickfix.SessionNotFound:
                continue  # it went away meanwhile

    def check(self) -> None:
        """Each second: revoked keys' sessions end; heartbeat; presence of the live keys."""
        with self.lock:
            key_ids = list(self.acceptors)
        active = set(
            ApiKey.objects.filter(
                pk__in=key_ids, revoked_at__isnull=True, user__is_active=True
            ).values_list("pk", flat=True)
        )
        for key_id in set(key_ids) - active:
            with self.lock:
                revoked = self._take_acceptor(key_id)
            self._stop_acceptor(revoked, reason="The API key was revoked")
        with self.lock:
            live = [(self.key_ids[name], name) for name in self.live if name in self.key_ids]
        if live:
            presence_touch(connections=live)
        heartbeat_record(redis_client(), FIX_KEY, sessions=len(live), port=self.front.port)

    def run(self) -> None:
        """Serve until stop(): the front in a thread, the stream loop in this one."""
        threading.Thread(target=self.front.serve, daemon=True, name="fix-front").start()
        tls = " (TLS)" if self.front.tls is not None else ""
        logger.info("FIX gateway listening on port %s%s", self.front.port, tls)
        while not self.stopped.is_set():
            try:
                self._listen()
            except (redis.RedisError, OSError):
                logger.warning("FIX gateway: Redis unreachable, retrying", exc_info=True)
            except Exception:  # noqa: BLE001 - the database, say: the loop must go on
                logger.exception("FIX gateway: the stream loop failed, retrying")
            self.stopped.wait(CHECK_EVERY)

    def _listen(self) -> None:
        pubsub = redis_client().pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(EVENTS_CHANNEL, POKE_CHANNEL)
        checked = 0.0
        try:
            while not self.stopped.is_set():
                poked, heard = False, False
                message = pubsub.get_message(timeout=LISTEN_WAIT)
                while message is not None:
                    heard = True
                    poked = poked or message["channel"] == POKE_CHANNEL.encode()
                    message = pubsub.get_message(timeout=0)
                close_old_connections()
                due = time.monotonic() - checked >= CHECK_EVERY
                if poked or due:
                    sequence_pass(busy_skips=True)
                if heard or due or self.new_logon.is_set():
                    self.new_logon.clear()
                    self.deliver_all()
                if due:
                    self.check()
                    checked = time.monotonic()
        finally:
            pubsub.close()

    def stop(self) -> None:
        self.stopped.set()
        self.front.stop()
        with self.lock:
            stopping = [self._take_acceptor(key_id) for key_id in list(self.acceptors)]
        for running in stopping:
            self._stop_acceptor(running, reason="The gateway is stopping")
