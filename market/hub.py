"""The web process's side: one Redis subscription per instrument (and per account) on screen in
this process, whatever the number of its screens, and the latest of each kept in memory.

Workers publish each book and candle ready to send (market.wire); the hub reads a message's
type and time once, keeps it, and marks every screen of that instrument to be sent it. A screen
sends at most EMSWEB_MARKET_PUSH_RATE times a second and only the latest of each: a burst
between two sends costs one send (market.consumer). No update queries the database: a screen's
access was checked when it connected, and the account's state comes from the workers too. Once a
second one query asks whether the screens' users are still active (as stream.hub does for /stream):
a deactivated user's screens are revoked, and their consumers close them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from channels.db import database_sync_to_async
from django.conf import settings

from accounts.selectors import users_active
from market import interest
from market.wire import Feed, State, account_channel, status_message

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.2  # the subscription's loop looks for channels to add or drop this often
CHECK_EVERY = 1.0  # staleness, and the screens' interest refreshed every REFRESH_EVERY
REDIS_RETRY_AFTER = 1.0
CANDLE_UPDATES_KEPT = 3  # a screen's unsent last-bar updates, by bar: never more than this


@dataclass
class FeedState:
    """The latest of one instrument in this process."""

    book: str | None = None
    read_at: float | None = None  # the book's
    candles: str | None = None
    status: tuple[str, str] = (State.WAITING, "")  # the workers' word on the last read
    screens: set[Screen] = field(default_factory=set)


class Screen:
    """One page's view of one account and instrument: what it still has to be sent.

    Only flags and the latest of each thing: the texts are the feed's, shared by every screen."""

    def __init__(
        self, hub: MarketHub, *, account_id: int, feed: Feed, venue_name: str, user_id: int
    ):
        self.hub = hub
        self.account_id = account_id
        self.user_id = user_id
        self.revoked = False  # its user was deactivated: its consumer closes it
        self.feed = feed
        self.venue_name = venue_name
        self.book_due = False
        self.candles_due = False
        self.candle_updates: dict[int, str] = {}
        self.status_sent = ""
        self.wake = asyncio.Event()

    def mark(self, *, book: bool = False, candles: bool = False) -> None:
        self.book_due |= book
        if candles:
            self.candles_due, self.candle_updates = True, {}
        self.wake.set()

    def candle(self, start: int, message: str) -> None:
        if self.candles_due:
            return  # the whole history, about to be sent, holds it
        self.candle_updates[start] = message
        while len(self.candle_updates) > CANDLE_UPDATES_KEPT:
            del self.candle_updates[min(self.candle_updates)]
        self.wake.set()

    def revoke(self) -> None:
        self.revoked = True
        self.wake.set()

    def take(self) -> list[str]:
        """What to send now, latest of each, and nothing twice."""
        state = self.hub.feeds[self.feed]
        messages = []
        status = self.hub.status_for(self)
        if status != self.status_sent:
            messages.append(status)
            self.status_sent = status
        if self.candles_due and state.candles:
            messages.append(state.candles)
        messages += [self.candle_updates[start] for start in sorted(self.candle_updates)]
        if self.book_due and state.book:
            messages.append(state.book)
        self.book_due = self.candles_due = False
        self.candle_updates = {}
        self.wake.clear()
        return messages


class MarketHub:
    """This process's market subscriptions (see the module docstring)."""

    def __init__(self, url: str | None = None):
        self.url = url or settings.REDIS_URL
        self.feeds: dict[Feed, FeedState] = {}
        self.accounts: dict[int, str] = {}  # account id -> its status message, as published
        self._account_screens: dict[int, set[Screen]] = {}
        self._channels: dict[str, Callable[[str], None]] = {}
        self._subscribed: set[str] = set()
        self._client: aioredis.Redis | None = None
        self._tasks: list[asyncio.Task] = []

    @property
    def client(self) -> aioredis.Redis:
        if self._client is None:
            self._client = aioredis.Redis.from_url(self.url, socket_connect_timeout=5)
        return self._client

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._listen(), name="market-listen"),
                asyncio.create_task(self._check_loop(), name="market-check"),
            ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()
            self._client = None

    # --- screens ------------------------------------------------------------------------------

    async def open(self, *, account_id: int, feed: Feed, venue_name: str, user_id: int) -> Screen:
        """A screen of this account and instrument, sent what is known of it at once."""
        self.start()
        screen = Screen(
            self, account_id=account_id, feed=feed, venue_name=venue_name, user_id=user_id
        )
        state = self.feeds.get(feed)
        if state is None:
            state = self.feeds[feed] = FeedState()
            self._channels[feed.channel] = lambda text: self._on_feed(feed, text)
            await self._load_feed(feed, state)
        if account_id not in self._account_screens:
            channel = account_channel(account_id)
            self._channels[channel] = lambda text: self._on_account(account_id, text)
            self.accounts[account_id] = await self._get(channel) or ""
        state.screens.add(screen)
        self._account_screens.setdefault(account_id, set()).add(screen)
        with contextlib.suppress(aioredis.RedisError):  # renewed each REFRESH_EVERY anyway
            await interest.watch(self.client, {(account_id, feed.symbol)}, now=time.time())
        screen.mark(book=True, candles=True)
        return screen

    def close(self, screen: Screen) -> None:
        state = self.feeds.get(screen.feed)
        if state is not None:
            state.screens.discard(screen)
            if not state.screens:
                del self.feeds[screen.feed]
                self._channels.pop(screen.feed.channel, None)
        screens = self._account_screens.get(screen.account_id)
        if screens is not None:
            screens.discard(screen)
            if not screens:
                del self._account_screens[screen.account_id]
                self.accounts.pop(screen.account_id, None)
                self._channels.pop(account_channel(screen.account_id), None)

    async def _get(self, key: str) -> str | None:
        try:
            raw = await self.client.get(key)
        except aioredis.RedisError:
            return None
        return raw.decode() if raw else None

    async def _load_feed(self, feed: Feed, state: FeedState) -> None:
        """What the workers keep of a feed this process was not subscribed to yet."""
        for what in ("book", "candles", "status"):
            text = await self._get(feed.key(what))
            if text is not None:
                with contextlib.suppress(ValueError, AttributeError):
                    self._keep(state, text)

    # --- messages -----------------------------------------------------------------------------

    def _keep(self, state: FeedState, text: str) -> dict:
        message = json.loads(text)
        kind = message.get("type")
        if kind == "book":
            state.book, state.read_at = text, message.get("read_at")
        elif kind == "candles":
            state.candles = text
        elif kind == "status":
            state.status = (message.get("state", ""), message.get("message", ""))
        return message

    def _on_feed(self, feed: Feed, text: str) -> None:
        state = self.feeds.get(feed)
        if state is None:
            return
        message = self._keep(state, text)
        kind = message.get("type")
        for screen in state.screens:
            if kind == "candle":
                screen.candle(message["candle"][0], text)
            else:
                screen.mark(book=kind == "book", candles=kind == "candles")

    def _on_account(self, account_id: int, text: str) -> None:
        if account_id in self.accounts:
            self.accounts[account_id] = text
            for screen in self._account_screens.get(account_id, ()):
                screen.mark()

    def status_for(self, screen: Screen, now: float | None = None) -> str:
        """One status for the screen, the most pressing first: the account's key refused or
        the account disabled; the venue unreachable (for the account's sync, or for the book)
        or refusing; no book yet; a stale book; the account's sync failing; else live."""
        now = time.time() if now is None else now
        state = self.feeds[screen.feed]
        account = json.loads(self.accounts.get(screen.account_id) or "{}")
        account_state = account.get("state", State.LIVE)
        if account_state in (State.KEY_REFUSED, State.ACCOUNT_ALERT, State.DISABLED):
            return status_message(account_state, account["message"])
        feed_state, feed_words = state.status
        age = None if state.read_at is None else max(0.0, now - state.read_at)
        shown = "" if age is None else f" The book shown was read {_age(age)} ago."
        if account_state == State.VENUE_UNREACHABLE:  # for this account: its last sync
            old = age is not None and age > settings.EMSWEB_MARKET_STALE_AFTER
            words = account["message"] + (shown if old else "")
            return status_message(account_state, words, read_at=state.read_at)
        if feed_state in (State.VENUE_UNREACHABLE, State.REFUSED, State.NO_MARKET_DATA):
            return status_message(feed_state, feed_words + shown, read_at=state.read_at)
        if age is None:
            words = f"Waiting for the first order book from {screen.venue_name}."
            return status_message(State.WAITING, words)
        if age > settings.EMSWEB_MARKET_STALE_AFTER:
            why = f" {feed_words}" if feed_state == State.THROTTLED else ""
            words = f"Prices are stale: the book shown was read {_age(age)} ago.{why}"
            return status_message(State.STALE, words, read_at=state.read_at)
        if account_state == State.SYNC_FAILED:
            return status_message(account_state, account["message"])
        return status_message(State.LIVE, "Live.")  # its time is the book's: no news each book

    # --- the loops ----------------------------------------------------------------------------

    async def _listen(self) -> None:
        """One pubsub connection for all of this process's channels; added and dropped as
        screens open and close. After Redis comes back, each feed is read again."""
        while True:
            client = aioredis.Redis.from_url(self.url, socket_connect_timeout=5)
            try:
                async with client.pubsub() as pubsub:
                    self._subscribed = set()
                    await self._follow(pubsub)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - Redis gone: retry
                logger.warning("market: subscription lost; retrying", exc_info=True)
                await asyncio.sleep(REDIS_RETRY_AFTER)
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()

    async def _follow(self, pubsub) -> None:
        while True:
            wanted = set(self._channels)
            if wanted != self._subscribed:
                added, dropped = wanted - self._subscribed, self._subscribed - wanted
                if added:
                    await pubsub.subscribe(*added)
                if dropped:
                    await pubsub.unsubscribe(*dropped)
                self._subscribed = wanted
                await self._reload(added)
            if not self._subscribed:
                await asyncio.sleep(POLL_SECONDS)  # no screen here now
                continue
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=POLL_SECONDS)
            if message is not None and message.get("type") == "message":
                channel = message["channel"].decode()
                handler = self._channels.get(channel)
                if handler is not None:
                    try:
                        handler(message["data"].decode())
                    except (ValueError, KeyError, IndexError, TypeError):
                        logger.warning("market: unreadable message on %s", channel)

    async def _reload(self, channels: set[str]) -> None:
        """Subscribed first, then read: nothing published in between is missed."""
        for feed, state in list(self.feeds.items()):
            if feed.channel in channels:
                await self._load_feed(feed, state)
                for screen in state.screens:
                    screen.mark(book=True, candles=True)
        for account_id in list(self.accounts):
            channel = account_channel(account_id)
            if channel in channels:
                self.accounts[account_id] = await self._get(channel) or ""

    def screens(self) -> list[Screen]:
        return [screen for state in self.feeds.values() for screen in state.screens]

    async def check_users(self) -> None:
        """Revoke the screens of users deactivated since they connected, whatever door
        deactivated them (the users page, the admin, the shell): one query for all of them."""
        screens = self.screens()
        if not screens:
            return
        active = await database_sync_to_async(users_active, thread_sensitive=False)(
            ids={screen.user_id for screen in screens}
        )
        for screen in screens:
            if screen.user_id not in active:
                screen.revoke()

    async def _check_loop(self) -> None:
        """Each second: every screen's status looked at again (a book grows stale with nothing
        published) and its user's access; every REFRESH_EVERY, this process's screens' interest
        renewed."""
        refreshed = 0.0
        while True:
            await asyncio.sleep(CHECK_EVERY)
            for screen in self.screens():
                screen.wake.set()  # its sender sends the status if it changed
            try:
                await self.check_users()
            except Exception:  # noqa: BLE001 - the database is away: next second
                logger.warning("market: the screens' users not checked", exc_info=True)
            now = time.time()
            if now - refreshed >= interest.REFRESH_EVERY:
                pairs = {
                    (screen.account_id, feed.symbol)
                    for feed, state in self.feeds.items()
                    for screen in state.screens
                }
                try:
                    await interest.watch(self.client, pairs, now=now)
                    refreshed = now
                except aioredis.RedisError:
                    logger.warning("market: interest not renewed", exc_info=True)


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{int(seconds)} s"
    if seconds < 7200:
        return f"{int(seconds // 60)} min"
    return f"{int(seconds // 3600)} h"


_hub: MarketHub | None = None


def market_hub() -> MarketHub:
    """This process's market hub (made on first use, started by its first screen)."""
    global _hub
    if _hub is None:
        _hub = MarketHub()
    return _hub
