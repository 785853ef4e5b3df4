"""The stream's hub: one per server process, fanning the ordered event stream out to its
connections from one Redis subscription.

It also keeps the stream moving: it runs the sequencer whenever a writer pokes it and every
EMSWEB_STREAM_SEQUENCE_EVERY seconds, and each second it compares the last seq it delivered with
the table's, so an event whose publish was lost (a sequencer killed between its commit and its
publish, Redis restarted) is read from the database instead. No channel layer: every connection
of this process is served from this one subscription, in memory.

A subscription sees every event after the seq it starts from, in order, each once: events older
than what the hub delivered live are read from the database (events_since), and anything that
arrives twice (a batch both read and published, say) is dropped by its seq. Events are published
by the process that numbered them, so two processes' publishes may arrive in the other order:
an event that comes before the one it follows waits for it up to GAP_WAIT, and then the gap is
read from the table (a writer killed after its commit never publishes). Its buffer is
bounded: a connection that falls behind by more than that is marked slow, and its consumer
closes it (the client can resume with its last seq).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import redis.asyncio as aioredis
from django.conf import settings
from django.db import close_old_connections

from accounts.selectors import api_keys_usable, users_active
from stream.outbox import POKE_CHANNEL
from stream.passes import PassRunner
from stream.protocol import ConnectionInfo, connections_alive
from stream.reader import Event, decode_batch, events_since, latest_seq, oldest_seq
from stream.sequencer import EVENTS_CHANNEL

logger = logging.getLogger(__name__)

CHECK_EVERY = 1.0  # the safety net and the access check, in seconds
GAP_WAIT = 0.03  # seconds an event waits for an earlier one published late, before a read
REDIS_RETRY_AFTER = 0.5
READ_LIMIT = 1000


class Subscription:
    """One connection's view of the stream: the events after `last_seq`, in order."""

    def __init__(self, hub: Hub, *, since: int, buffer: int, backlog_gap: bool = False):
        self.hub = hub
        self.last_seq = since  # the last seq handed out by next()
        self.buffer = buffer
        self.backlog_gap = backlog_gap  # `since` was older than the retention: resync
        self.slow = False
        self.revoked = False  # its key was revoked or its user deactivated
        self.finished = False  # slow, revoked, or told to start again (a restored database)
        self.api_key_id: int | None = None
        self.user_id: int | None = None
        self.connection: ConnectionInfo | None = None  # a /v1/ws connection's, for presence
        self.on_end: Callable[[], None] | None = None  # told once when slow or revoked
        # Writes a message to the client at once if it can (web_worker.StreamProtocol): while
        # next() waits with nothing queued, push() hands the event to it instead of waking the
        # connection's task, so a fan-out costs a frame per connection and no task switch.
        self.direct: Callable[[str], bool] | None = None
        self._queue: deque[Event] = deque()
        self._wake = asyncio.Event()
        self._waiting = False  # next() waits for the hub with nothing queued

    @property
    def ended(self) -> bool:
        return self.finished or self.hub.stopped

    def push(self, event: Event) -> None:
        """From the hub, in seq order. A full buffer ends the subscription as slow."""
        if self.ended or event.seq <= self.last_seq:
            return
        if self._waiting and event.seq == self.last_seq + 1 and self._write_now(event):
            self.last_seq = event.seq
            return
        if len(self._queue) >= self.buffer:
            self.end(slow=True)
            return
        self._queue.append(event)
        self._wake.set()

    def _write_now(self, event: Event) -> bool:
        if self.direct is None:
            return False
        try:
            return self.direct(event.message)
        except Exception:  # one connection's failure must not stop the fan-out to the others
            logger.warning("stream: a direct write failed; the connection's task sends it")
            self.direct = None
            return False

    def end(self, *, slow: bool = False, revoked: bool = False) -> None:
        if self.finished:
            return
        self.finished, self.slow, self.revoked = True, slow, revoked
        self._queue.clear()
        self._wake.set()
        if self.on_end is not None:
            self.on_end()

    async def next(self) -> Event | None:
        """The next event; None once the subscription has ended (slow, revoked, hub stopped)."""
        while not self.ended:
            behind = self.hub.last_seq > self.last_seq and (
                not self._queue or self._queue[0].seq > self.last_seq + 1
            )
            if behind:
                # The backlog, or a gap the hub filled before this subscription existed.
                await self._read_missing()
                continue
            if self._queue:
                event = self._queue.popleft()
                if event.seq <= self.last_seq:
                    continue
                self.last_seq = event.seq
                return event
            self._wake.clear()
            self._waiting = True
            try:
                await self._wake.wait()
            finally:
                self._waiting = False
        return None

    async def _read_missing(self) -> None:
        events = await self.hub.read(events_since, self.last_seq, limit=READ_LIMIT)
        if not events or events[0].seq != self.last_seq + 1:
            # Retention removed what this subscription still needed: it cannot go on in order.
            self.end(slow=True)
            return
        head = [event for event in events if event.seq > self.last_seq]
        # Ahead of what is queued: next() drops whatever in the queue they repeat.
        self._queue.extendleft(reversed(head))
        if len(self._queue) > self.buffer + READ_LIMIT:
            self.end(slow=True)

    def close(self) -> None:
        self.hub.unsubscribe(self)


class Hub:
    """The process's fan-out of the event stream (see the module docstring)."""

    def __init__(self):
        self.last_seq = 0  # the last seq delivered to the subscriptions, in order
        self.stopped = False
        self.started = False
        self._subscriptions: set[Subscription] = set()
        self._poked = asyncio.Event()
        self._delivering = asyncio.Lock()
        self._tasks: list[asyncio.Task] = []
        self._ready = asyncio.Event()
        # Database work, off the event loop: the sequencer on a thread of its own, so that a
        # read never waits behind it, and the reads on another. One connection each.
        self._sequencer_thread = ThreadPoolExecutor(1, thread_name_prefix="stream-sequencer")
        self._reader_thread = ThreadPoolExecutor(1, thread_name_prefix="stream-reader")
        self._passes = PassRunner()
        self._writer_poked = False
        self._ahead: dict[int, Event] = {}  # arrived before an event they follow (by seq)
        self._gap_timer: asyncio.TimerHandle | None = None

    async def start(self) -> None:
        if self.started:
            return
        self.started = True
        self._tasks = [
            asyncio.create_task(self._listen(), name="stream-listen"),
            asyncio.create_task(self._sequence_loop(), name="stream-sequence"),
            asyncio.create_task(self._check_loop(), name="stream-check"),
        ]

    async def stop(self) -> None:
        self.stopped = True
        if self._gap_timer is not None:
            self._gap_timer.cancel()
        for subscription in list(self._subscriptions):
            subscription.end()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._sequencer_thread.shutdown(wait=False)
        self._reader_thread.shutdown(wait=False)

    async def ready(self) -> None:
        """Once the hub knows where the stream stands (its first read of latest_seq)."""
        await self.start()
        await self._ready.wait()

    # --- subscriptions ------------------------------------------------------------------------

    async def subscribe(self, *, since: int | None, buffer: int | None = None) -> Subscription:
        """Events after `since`, or after the current seq when None. When `since` is older than
        what the table keeps (or ahead of it), the subscription starts at the current seq with
        `backlog_gap` set: the caller sends snapshots marked resync instead."""
        await self.ready()
        buffer = buffer or settings.EMSWEB_STREAM_CLIENT_BUFFER
        gap = False
        if since is not None and since != self.last_seq:
            oldest, latest = await self.read(_retained_range)
            resumable = since <= latest and (oldest is None or since >= oldest - 1)
            if not resumable:
                since, gap = None, True
        start = self.last_seq if since is None else since
        subscription = Subscription(self, since=start, buffer=buffer, backlog_gap=gap)
        self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    @property
    def subscriptions(self) -> int:
        return len(self._subscriptions)

    # --- delivery -----------------------------------------------------------------------------

    async def read(self, function, *args, **kwargs):
        """Run a database read on the hub's reader thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._reader_thread, _with_fresh_connection(function, *args, **kwargs)
        )

    async def deliver(self, events: list[Event]) -> None:
        """Hand events (a published batch, a pass's own) to every subscription in seq order;
        those past a gap wait for it (see the module docstring)."""
        async with self._delivering:
            for event in events:
                if event.seq > self.last_seq:
                    self._ahead[event.seq] = event
            self._deliver_ahead()

    async def catch_up(self) -> None:
        """Deliver whatever the table has past last_seq (the safety net)."""
        async with self._delivering:
            await self._catch_up_locked(until=None)
            self._deliver_ahead()

    def _deliver_ahead(self) -> None:
        """Deliver the events waiting that follow last_seq; time the wait of those left."""
        while (event := self._ahead.pop(self.last_seq + 1, None)) is not None:
            self._fan_out(event)
        for seq in [seq for seq in self._ahead if seq <= self.last_seq]:
            del self._ahead[seq]
        if not self._ahead and self._gap_timer is not None:
            self._gap_timer.cancel()
            self._gap_timer = None
        elif self._ahead and self._gap_timer is None and not self.stopped:
            self._gap_timer = asyncio.get_running_loop().call_later(GAP_WAIT, self._gap_waited)

    def _gap_waited(self) -> None:
        self._gap_timer = None
        self._tasks.append(asyncio.create_task(self._gap_read(), name="stream-gap"))

    async def _gap_read(self) -> None:
        """The events before those waiting, from the table."""
        try:
            async with self._delivering:
                if self._ahead:
                    await self._catch_up_locked(until=min(self._ahead) - 1)
                self._deliver_ahead()
        except Exception:  # noqa: BLE001 - the database is away: the check each second retries
            logger.warning("stream: could not read a gap", exc_info=True)
        finally:
            self._tasks = [task for task in self._tasks if not task.done()]

    async def _catch_up_locked(self, *, until: int | None) -> None:
        while until is None or self.last_seq < until:
            events = await self.read(events_since, self.last_seq, limit=READ_LIMIT)
            if events and events[0].seq != self.last_seq + 1:
                # Removed by retention while nobody was connected here: start after them.
                logger.warning("stream: events %s..%s gone", self.last_seq + 1, events[0].seq - 1)
                self.last_seq = events[0].seq - 1
            for event in events:
                self._fan_out(event)
            if len(events) < READ_LIMIT:
                return

    def _fan_out(self, event: Event) -> None:
        self.last_seq = event.seq
        for subscription in list(self._subscriptions):
            subscription.push(event)

    # --- the loops ----------------------------------------------------------------------------

    async def _listen(self) -> None:
        """EVENTS_CHANNEL's batches and the sequencer's pokes; after Redis comes back, a catch-up
        from the table covers whatever was published meanwhile."""
        while not self.stopped:
            client = aioredis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=5)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(EVENTS_CHANNEL, POKE_CHANNEL)
                    await self._find_position()
                    self._poked.set()
                    async for message in pubsub.listen():
                        await self._on_message(message)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - Redis gone or the database hiccupped: retry
                logger.warning("stream: subscription lost; retrying", exc_info=True)
                # Without Redis the stream still moves, read from the table each second.
                with contextlib.suppress(Exception):
                    await self._find_position()
                await asyncio.sleep(REDIS_RETRY_AFTER)
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()

    async def _find_position(self) -> None:
        """Subscribed first, then read: nothing published in between is missed."""
        if self._ready.is_set():
            await self.catch_up()
        else:
            self.last_seq = await self.read(latest_seq)
            self._ready.set()

    async def _on_message(self, message: dict) -> None:
        if message.get("type") != "message":
            return
        channel = message["channel"]
        if channel in (POKE_CHANNEL, POKE_CHANNEL.encode()):
            self._writer_poked = True
            self._poked.set()
        else:
            await self.deliver(decode_batch(message["data"]))

    async def _sequence_loop(self) -> None:
        loop = asyncio.get_running_loop()
        every = settings.EMSWEB_STREAM_SEQUENCE_EVERY
        while not self.stopped:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poked.wait(), timeout=every)
            self._poked.clear()
            # A writer's poke means something is pending: no need to look before the lock.
            check_first, self._writer_poked = not self._writer_poked, False
            try:
                done = await loop.run_in_executor(
                    self._sequencer_thread, partial(self._passes.run, check_first=check_first)
                )
            except Exception:  # noqa: BLE001 - the next pass tries again
                logger.warning("stream: sequencing failed; retrying", exc_info=True)
                await asyncio.sleep(REDIS_RETRY_AFTER)
                continue
            if done.events and self._ready.is_set():
                await self.deliver(done.events)
            if done.locked:
                self._poked.set()  # what a pass that skipped meanwhile was poked for

    async def _check_loop(self) -> None:
        """Each second: the table's latest seq against ours, the connections' access, and
        their presence."""
        await self._ready.wait()
        while not self.stopped:
            await asyncio.sleep(CHECK_EVERY)
            try:
                await self.check_position()
                await self._check_access()
                await self._touch_connections()
            except Exception:  # noqa: BLE001 - the database is away: next second
                logger.warning("stream: check failed", exc_info=True)

    async def check_position(self) -> None:
        """Deliver what the table has and we missed; start again if it went back."""
        # Only what was delivered before the read began must be in the table: a pass may
        # commit and deliver more while the read runs.
        delivered = self.last_seq
        latest = await self.read(latest_seq)
        if latest > self.last_seq:
            await self.catch_up()
        elif latest < delivered:
            self._restart_at(latest)

    async def _touch_connections(self) -> None:
        """The /v1/ws connections are alive (CANCEL_ON_DISCONNECT's presence): one Redis
        round trip for all of this process's."""
        connections = [s.connection for s in self._subscriptions if s.connection is not None]
        if connections:
            await self.read(connections_alive, conns=connections)

    def _restart_at(self, latest: int) -> None:
        """The table went back (a database restored): every subscription's position is
        meaningless now; they end, and their clients start again from snapshots."""
        logger.warning(
            "stream: the table's latest seq %s is behind ours, %s", latest, self.last_seq
        )
        self.last_seq = latest
        self._ahead.clear()
        for subscription in list(self._subscriptions):
            subscription.end()

    async def _check_access(self) -> None:
        """Close the subscriptions of a revoked key or a deactivated user, whatever door revoked
        or deactivated it (the keys page, the admin, the shell): one query for all of them."""
        subscriptions = list(self._subscriptions)
        keys = {s.api_key_id for s in subscriptions if s.api_key_id is not None}
        users = {s.user_id for s in subscriptions if s.user_id is not None}
        if not keys and not users:
            return
        usable = await self.read(api_keys_usable, ids=keys) if keys else set()
        active = await self.read(users_active, ids=users) if users else set()
        for subscription in subscriptions:
            key, user = subscription.api_key_id, subscription.user_id
            if (key is not None and key not in usable) or (user is not None and user not in active):
                subscription.end(revoked=True)


def _retained_range() -> tuple[int | None, int]:
    return oldest_seq(), latest_seq()


def _with_fresh_connection(function, *args, **kwargs):
    """As Django does around a request: a connection past its age or broken is replaced."""

    def call():
        close_old_connections()
        try:
            return function(*args, **kwargs)
        finally:
            close_old_connections()

    return call


_hub: Hub | None = None


def process_hub() -> Hub:
    """This process's hub (made on first use; started by the ASGI lifespan or its first
    subscriber)."""
    global _hub
    if _hub is None or _hub.stopped:
        _hub = Hub()
    return _hub
