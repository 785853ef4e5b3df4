"""Requests served in this process through Django's own WSGI handler (every middleware, the
session in Redis, the templates), to time what the server spends and count what it asks of
PostgreSQL and Redis, without a network or a client in the figure."""

from __future__ import annotations

import io
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import redis.connection
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection

_handler = None


def handler() -> WSGIHandler:
    global _handler
    if _handler is None:
        _handler = WSGIHandler()
    return _handler


@dataclass
class Served:
    status: int
    body_bytes: int
    ms: float
    lines: int = 0


def get(
    path: str, query: str = "", *, cookie: str = "", htmx: bool = False, headers=None
) -> Served:
    """GET path?query, read to the end (a streamed body too); the time includes reading it.
    `headers`: more request headers, by their WSGI names (HTTP_X_COINAPI_KEY)."""
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_COOKIE": f"sessionid={cookie}" if cookie else "",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if htmx:
        environ["HTTP_HX_REQUEST"] = "true"
    environ.update(headers or {})
    status = []
    began = time.perf_counter()
    response = handler()(environ, lambda line, headers, exc_info=None: status.append(line))
    size = lines = 0
    try:
        for chunk in response:
            size += len(chunk)
            lines += chunk.count(b"\n")
    finally:
        close = getattr(response, "close", None)
        if close is not None:
            close()
    return Served(int(status[0].split()[0]), size, (time.perf_counter() - began) * 1000, lines)


@dataclass
class Asked:
    """What a stretch of code asked of the database and of Redis."""

    sql: list[str] = field(default_factory=list)
    params: list = field(default_factory=list)
    redis: list[str] = field(default_factory=list)
    redis_round_trips: int = 0


@contextmanager
def counting():
    """Count SQL statements (this connection) and Redis commands and round trips (any client
    in this process: the session cache, the change counter, Celery's publisher)."""
    asked = Asked()
    connection_class = redis.connection.AbstractConnection
    send, send_packed, pack_many = (
        connection_class.send_command,
        connection_class.send_packed_command,
        connection_class.pack_commands,
    )

    def counted_send(self, *args, **kwargs):
        asked.redis.append(str(args[0]))
        return send(self, *args, **kwargs)

    def counted_pack_many(self, commands):
        asked.redis.extend(str(command[0]) for command in commands)
        return pack_many(self, commands)

    def counted_send_packed(self, command, check_health=True):
        asked.redis_round_trips += 1
        return send_packed(self, command, check_health)

    def wrapper(execute, sql, params, many, context):
        asked.sql.append(sql)
        asked.params.append(params)
        return execute(sql, params, many, context)

    connection_class.send_command = counted_send
    connection_class.send_packed_command = counted_send_packed
    connection_class.pack_commands = counted_pack_many
    try:
        with connection.execute_wrapper(wrapper):
            yield asked
    finally:
        connection_class.send_command = send
        connection_class.send_packed_command = send_packed
        connection_class.pack_commands = pack_many
