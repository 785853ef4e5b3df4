"""One database connection per QuickFIX thread, kept across its calls into Python.

QuickFIX calls the application from threads of its own (one per FIX connection), and its SWIG
wrapper gives each call a fresh Python thread state: Django keeps its connections in a
thread-local, which a fresh thread state sees empty, so every message would open a connection
to PostgreSQL of its own and leave it to the garbage collector. Each call here finds the
connections its thread opened before (the same OS thread, which Django's own check of thread
sharing compares), and the thread's last call (its logout, or a refused logon) closes them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

Result = TypeVar("Result")

_held: dict[int, dict[str, BaseDatabaseWrapper]] = {}  # by thread ident, by alias
_held_lock = threading.Lock()


def with_thread_connections(function: Callable[..., Result], *args) -> Result:
    """`function(*args)` with the calling thread's database connections of its earlier calls."""
    ident = threading.get_ident()
    local = connections._connections  # noqa: SLF001 - the thread-local a fresh state sees empty
    with _held_lock:
        held = dict(_held.get(ident, {}))
    for alias, wrapper in held.items():
        if not hasattr(local, alias):
            setattr(local, alias, wrapper)
    try:
        return function(*args)
    finally:
        opened = {alias: getattr(local, alias) for alias in connections if hasattr(local, alias)}
        with _held_lock:
            if opened:
                _held[ident] = opened
            else:
                _held.pop(ident, None)


def thread_connections_close() -> None:
    """The calling thread's FIX connection is done: its database connections closed and
    forgotten."""
    local = connections._connections  # noqa: SLF001
    for alias in connections:
        if hasattr(local, alias):
            getattr(local, alias).close()
            delattr(local, alias)
