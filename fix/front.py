"""The gateway's listening socket: it reads each connection's first message (the Logon), finds
the API key its Password (554) carries, and hands the connection to that key's QuickFIX acceptor
on 127.0.0.1, copying bytes both ways from then on.

Why a front at all: a QuickFIX acceptor knows its sessions when it starts, so a key created
while the gateway runs would need a restart of every session; and it refuses a second logon to
a session that is logged on, where the hosted EMS ends the first. Here each key has an acceptor
of its own, started on the key's first logon, and a second logon logs the first session out
before it is handed over (QuickFIX's threaded acceptor waits a few seconds for the session to
be free). Anything that is not a Logon of a known key, or garbage, is closed at once.

TLS, when configured, ends here too (the front must read the Logon to route it), with a client
certificate required when a CA is given, as the hosted EMS does. QuickFIX's own SSL acceptor
would not do: the PyPI sources build without it (HAVE_SSL unset), and it would sit behind the
front, which has to see the Logon in clear.
"""

from __future__ import annotations

import contextlib
import logging
import re
import select
import socket
import ssl
import threading
from collections.abc import Callable

from django.db import connection as database

from accounts.models import ApiKey
from emsweb.api.auth import api_key_authenticate

from .config import FRONT_ADDRESS

logger = logging.getLogger(__name__)

FIRST_MESSAGE_LIMIT = 8192  # a Logon is a few hundred bytes
FIRST_MESSAGE_WAIT = 10.0  # seconds to send it, as QuickFIX's own logon timeout
CHUNK = 65536
# A complete first message: BeginString first, CheckSum last.
MESSAGE = re.compile(rb"^8=[^\x01]+\x019=\d+\x01.*?\x0110=\d{3}\x01", re.DOTALL)


class Refused(Exception):
    """The first message is not a Logon this gateway will take."""


def logon_fields(data: bytes) -> dict[int, str]:
    """The tag=value pairs of one raw message (the first value of a repeated tag)."""
    fields: dict[int, str] = {}
    for pair in data.split(b"\x01"):
        tag, _, value = pair.partition(b"=")
        if tag.isdigit():
            fields.setdefault(int(tag), value.decode("latin-1"))
    return fields


def logon_key(fields: dict[int, str]) -> ApiKey:
    """The key a Logon's Password names, checked against its CompIDs; Refused otherwise."""
    if fields.get(35) != "A":
        raise Refused("the first message is not a Logon")
    key = api_key_authenticate(fields.get(554))
    if key is None:
        raise Refused("no active API key in Password (554)")
    if (fields.get(49), fields.get(56)) != (key.fix_sender, key.fix_target):
        raise Refused(f"CompIDs are not those of key {key.prefix}")
    return key


def read_first_message(connection: socket.socket) -> bytes:
    connection.settimeout(FIRST_MESSAGE_WAIT)
    data = b""
    while not MESSAGE.match(data):
        if len(data) > FIRST_MESSAGE_LIMIT or (data and not b"8=FIX".startswith(data[:5])):
            raise Refused("not a FIX message")
        chunk = connection.recv(4096)
        if not chunk:
            raise Refused("closed before a whole message")
        data += chunk
    connection.settimeout(None)
    return data


def pump(source: socket.socket, target: socket.socket) -> None:
    """Copy until either side closes, then close both (the other pump then ends too)."""
    try:
        while chunk := source.recv(CHUNK):
            target.sendall(chunk)
    except OSError:
        pass
    finally:
        for side in (source, target):
            with contextlib.suppress(OSError):
                side.shutdown(socket.SHUT_RDWR)
            side.close()


def tls_context(*, certificate: str, key: str = "", client_ca: str = "") -> ssl.SSLContext:
    """The server side's TLS: `certificate` (PEM, with its chain) and its `key` (or in the same
    file); with `client_ca`, a client certificate it signed is required."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certificate, key or None)
    if client_ca:
        context.load_verify_locations(cafile=client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def relay(client: ssl.SSLSocket, upstream: socket.socket) -> None:
    """pump's work for a TLS connection, both ways in one thread: an SSL socket must not be
    read and written by two threads at once."""
    try:
        while True:
            ready = [client] if client.pending() else select.select([client, upstream], [], [])[0]
            for side in ready:
                other = upstream if side is client else client
                side.setblocking(side is not client)  # TLS: the record may not be whole yet
                try:
                    chunk = side.recv(CHUNK)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    continue
                finally:
                    side.setblocking(True)
                if not chunk:
                    return
                other.sendall(chunk)
    except OSError:
        pass
    finally:
        for side in (client, upstream):
            with contextlib.suppress(OSError):
                side.shutdown(socket.SHUT_RDWR)
            side.close()


class Front:
    """Accepts connections and hands each to `route(key, fields)`, which returns the port of
    the key's acceptor once it is ready for this logon."""

    def __init__(
        self,
        host: str,
        port: int,
        route: Callable[[ApiKey, dict], int],
        tls: ssl.SSLContext | None = None,
    ):
        self.route = route
        self.tls = tls
        self.listener = socket.create_server((host, port), backlog=64, reuse_port=False)
        self.port = self.listener.getsockname()[1]
        self.stopped = threading.Event()

    def serve(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, address = self.listener.accept()
            except OSError:
                return  # the listener was closed: stopping
            threading.Thread(
                target=self.handle, args=(connection, address), daemon=True, name="fix-front"
            ).start()

    def handle(self, connection: socket.socket, address) -> None:
        try:
            if self.tls is not None:
                connection.settimeout(FIRST_MESSAGE_WAIT)  # the handshake's too
                connection = self.tls.wrap_socket(connection, server_side=True)
            first = read_first_message(connection)
            fields = logon_fields(first)
            key = logon_key(fields)
            port = self.route(key, fields)
            upstream = socket.create_connection((FRONT_ADDRESS, port))
        except (Refused, OSError) as refusal:
            logger.info("FIX connection from %s closed: %s", address[0], refusal)
            connection.close()
            return
        except Exception:
            logger.exception("FIX connection from %s failed", address[0])
            connection.close()
            return
        finally:
            database.close()  # this thread's: it is done with the database
        upstream.sendall(first)  # the Logon, and whatever followed it already
        if self.tls is not None:
            relay(connection, upstream)
            return
        threading.Thread(target=pump, args=(upstream, connection), daemon=True).start()
        pump(connection, upstream)

    def stop(self) -> None:
        self.stopped.set()
        self.listener.close()
