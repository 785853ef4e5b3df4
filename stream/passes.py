"""Who runs the sequencer's passes, and on which thread: the hubs (stream.hub), on a timer and
when poked, and on PostgreSQL the writers themselves, right after their commit. The same
writer's thread announces the events its writer numbered itself (stream.announce).

A writer's own pass (`after_commit`) is the shortest path from a commit to the clients: no poke
to a hub through Redis, no hop to the hub's thread, and not two hubs' passes racing for the
cursor on the same cores as the clients (bench/README.md, "The stream"). It runs on a thread of
the writer's process with a connection of its own, so the request or task that committed goes
on at once: the commit's caller never waits for a pass. Passes stay as safe as the hubs': a
writer killed before its pass leaves its rows committed and unnumbered, and the hubs' timer
numbers them within EMSWEB_STREAM_SEQUENCE_EVERY. On SQLite, where a pass takes the database's
one write lock, writers poke the hubs instead (the embedded default is one machine's desk).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from django.db import close_old_connections, connection

from .announce import Numbered, orders_announce, writers_number
from .sequencer import SequencePass, sequence_pass

logger = logging.getLogger(__name__)

CONNECTION_CHECK_EVERY = 5.0  # seconds


class PassRunner:
    """Passes on one thread's connection, checked as Django checks a request's
    (close_old_connections) after a failure and every CONNECTION_CHECK_EVERY seconds, not on
    every pass: each check costs a round trip (CONN_HEALTH_CHECKS) on the path of every event."""

    def __init__(self):
        self._checked_at: float | None = None

    def run(self, *, check_first: bool) -> SequencePass:
        return self.call(partial(sequence_pass, busy_skips=True, check_first=check_first))

    def call(self, function):
        """function() on this thread's connection, checked as the class docstring says."""
        now = time.monotonic()
        if self._checked_at is None or now - self._checked_at > CONNECTION_CHECK_EVERY:
            close_old_connections()
            self._checked_at = now
        try:
            return function()
        except Exception:
            self._checked_at = None
            raise


class WriterPasses:
    """A writer process's sequencer thread: a pass after each commit that wrote events, run as
    soon as the thread is free. A commit while a pass is queued or running only makes that pass
    look once more before the thread rests (its commit came before that look)."""

    def __init__(self):
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="stream-writer-pass")
        self._runner = PassRunner()
        self._lock = threading.Lock()
        self._busy = False
        self._asked_again = False
        self._announcements: list[tuple[list[Numbered], list[dict] | None]] = []
        self._announcing = False

    def request(self) -> None:
        with self._lock:
            if self._busy:
                self._asked_again = True
                return
            self._busy = True
        self._executor.submit(self._run)

    def announce(self, numbered: list[Numbered], reports: list[dict] | None) -> None:
        """Announce these events on the thread; those that queue up while it is busy go
        together, in one batch."""
        with self._lock:
            self._announcements.append((numbered, reports))
            if self._announcing:
                return
            self._announcing = True
        self._executor.submit(self._announce_queued)

    def _announce_queued(self) -> None:
        while True:
            with self._lock:
                batch, self._announcements = self._announcements, []
                if not batch:
                    self._announcing = False
                    return
            try:
                self._runner.call(partial(orders_announce, batch))
            except Exception:  # noqa: BLE001 - readers build what was not kept, hubs find it
                logger.warning(
                    "stream: a writer could not announce seq %s; its readers will",
                    ", ".join(str(event.seq) for numbered, _ in batch for event in numbered),
                    exc_info=True,
                )

    def stop(self) -> None:
        """Finish the passes asked for, then close the thread's connection (tests, shutdown)."""
        self._executor.submit(_connection_close)
        self._executor.shutdown(wait=True)

    def _run(self) -> None:
        try:
            done = self._runner.run(check_first=False)
            # After a pass that held the cursor: what a writer whose pass skipped meanwhile
            # committed is pending now.
            while done.locked or self._look_again():
                done = self._runner.run(check_first=True)
        except Exception:  # noqa: BLE001 - the hubs' timer numbers what this pass did not
            logger.warning("stream: a writer's pass failed; the hubs will number its events")
            with self._lock:
                self._busy = False

    def _look_again(self) -> bool:
        """Whether a commit asked for a pass since this one began; if not, the thread rests."""
        with self._lock:
            again, self._asked_again = self._asked_again, False
            if not again:
                self._busy = False
            return again


def _connection_close() -> None:
    connection.close()  # the calling thread's: `connection` is a proxy for it


def writers_sequence() -> bool:
    return writers_number(connection)


_writer_passes: tuple[int, WriterPasses] | None = None
_writer_passes_made = threading.Lock()  # the order worker's threads may ask first at once


def after_commit() -> None:
    """Number this process's committed events soon, on its sequencer thread (made on first use
    in each process: a Celery pool forks after import)."""
    _process_passes().request()


def _process_passes() -> WriterPasses:
    global _writer_passes
    passes = _writer_passes
    if passes is not None and passes[0] == os.getpid():
        return passes[1]
    with _writer_passes_made:
        if _writer_passes is None or _writer_passes[0] != os.getpid():
            _writer_passes = (os.getpid(), WriterPasses())
        return _writer_passes[1]


def after_commit_announce(numbered: list[Numbered], reports: list[dict] | None = None) -> None:
    """Announce events this process numbered in its commit, on its sequencer thread."""
    _process_passes().announce(numbered, reports)


def writer_passes_stop() -> None:
    global _writer_passes
    if _writer_passes is not None and _writer_passes[0] == os.getpid():
        _writer_passes[1].stop()
    _writer_passes = None
