"""The workers' side: read the books and candles of the instruments on some screen, and the
state of the accounts they are watched through; keep the latest in Redis with the time it was
read and publish each change on the instrument's (or account's) channel, ready to send.

One pass (market.tasks, on beat) reads each feed whose book or candles are due, once across all
workers (a claim in Redis). A venue call is bounded: a ccxt venue's market data goes at the
lowest priority of the shared budget and gives up rather than wait (venues.ccxt.limits).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis
from django.conf import settings

from accounts.credentials import Credentials
from accounts.models import AlertKind, ExchangeAccount
from emsweb.redis import redis_client
from market import interest
from market.wire import (
    CANDLES_KEPT,
    KEEP_SECONDS,
    PREFIX,
    TIMEFRAME,
    Feed,
    State,
    account_channel,
    book_message,
    candle_message,
    candles_message,
    status_message,
)
from venues.base import Candle
from venues.ccxt.limits import Throttled
from venues.errors import Rejected, VenueError
from venues.registry import UnknownVenue, adapter_class, venue_info

logger = logging.getLogger(__name__)

PASS_LOCK = f"{PREFIX}:pass"
PASS_LOCK_SECONDS = 30


def market_refresh() -> int:
    """One pass over what is on screen. Returns how many feeds it looked at."""
    client = redis_client()
    if not client.set(PASS_LOCK, "1", nx=True, ex=PASS_LOCK_SECONDS):
        return 0  # another worker's pass is under way
    try:
        pairs = interest.watched(client, now=time.time())
        accounts = _accounts(client, {account_id for account_id, _ in pairs})
        feeds = {
            Feed(accounts[account_id].venue, accounts[account_id].sandbox, symbol)
            for account_id, symbol in pairs
            if account_id in accounts
        }
        for feed in sorted(feeds):
            feed_refresh(feed, client=client)
        return len(feeds)
    finally:
        client.delete(PASS_LOCK)


def _accounts(client: redis.Redis, ids: set[int]) -> dict[int, ExchangeAccount]:
    """The watched accounts, one query; each one's status published when it changed."""
    if not ids:
        return {}
    accounts = {account.pk: account for account in ExchangeAccount.objects.filter(pk__in=ids)}
    for account in accounts.values():
        _publish_if_changed(client, account_channel(account.pk), account_status(account))
    return accounts


def account_status(account: ExchangeAccount) -> str:
    """What the screen says of the account itself: its key refused, its sync failing..."""
    name = account.exchange_id
    if not account.enabled:
        message = f"The account {name} is disabled: nothing can be traded on it."
        return status_message(State.DISABLED, message)
    if account.alert:
        state = State.KEY_REFUSED if account.alert_kind == AlertKind.AUTH else State.ACCOUNT_ALERT
        return status_message(state, f"{name}: {account.alert}")
    if account.last_sync_error and account.last_sync_unreachable:
        message = (
            f"{venue_name(account.venue)} is unreachable from {name}: {account.last_sync_error} "
            "Working orders and balances shown are as of its last sync."
        )
        return status_message(State.VENUE_UNREACHABLE, message)
    if account.last_sync_error:
        message = (
            f"{name}: the last sync failed ({account.last_sync_error}). Working orders and "
            "balances shown may be out of date."
        )
        return status_message(State.SYNC_FAILED, message)
    return status_message(State.LIVE, "")


def venue_name(venue: str) -> str:
    """The venue's name for people (Kraken), or its code when emsweb does not know it."""
    try:
        return venue_info(venue).name
    except UnknownVenue:
        return venue


def feed_refresh(feed: Feed, *, client: redis.Redis) -> None:
    """Read the feed's book and candles if due, and publish what changed."""
    try:
        info = venue_info(feed.venue)
        venue = adapter_class(feed.venue)(
            account_key="", credentials=Credentials({}), sandbox=feed.sandbox
        )
    except (UnknownVenue, VenueError) as problem:
        _status(client, feed, State.NO_MARKET_DATA, f"No market data: {problem}")
        return
    if not hasattr(venue, "book"):
        message = f"{info.name} gives emsweb no order book or candles."
        _status(client, feed, State.NO_MARKET_DATA, message)
        return
    if _due(client, feed, "book", settings.EMSWEB_MARKET_BOOK_EVERY):
        _read(client, feed, info.name, "book", lambda: book_read(venue, feed, client))
    if _due(client, feed, "candles", settings.EMSWEB_MARKET_CANDLES_EVERY):
        _read(client, feed, info.name, "candles", lambda: candles_read(venue, feed, client))


def _due(client: redis.Redis, feed: Feed, what: str, every: float) -> bool:
    """Claim this read for `every` seconds: True for the one worker that should read now."""
    return bool(client.set(feed.key(f"due-{what}"), "1", nx=True, px=max(1, int(every * 1000))))


def _read(client: redis.Redis, feed: Feed, venue_name: str, what: str, read: Callable) -> None:
    """Run one read; the feed's status says how the book's last read went. A failed candles
    read is only logged: the book is what says whether prices are live."""
    try:
        read()
    except Throttled:
        state = State.THROTTLED
        message = (
            f"{venue_name}'s request budget goes to orders, cancels and syncs first: "
            "prices are read less often for now."
        )
    except Rejected as refusal:
        state, message = State.REFUSED, f"{venue_name} refused the {what}: {refusal.message}"
    except VenueError as problem:
        state, message = State.VENUE_UNREACHABLE, f"{venue_name} is unreachable: {problem.message}"
    except Exception:
        logger.exception("market data: %s %s failed", feed.name, what)
        state, message = State.VENUE_UNREACHABLE, f"{venue_name}: the {what} could not be read."
    else:
        state, message = State.LIVE, ""
    if what == "book":
        _status(client, feed, state, message)
    elif state != State.LIVE:
        logger.info("market data: %s candles not read: %s", feed.name, message)


def book_read(venue, feed: Feed, client: redis.Redis) -> None:
    """Read the feed's book from `venue`, keep it and publish it (also bench/screen_cpu's)."""
    book = venue.book(feed.symbol, settings.EMSWEB_MARKET_BOOK_LEVELS)
    message = book_message(book, read_at=time.time())
    with client.pipeline() as pipe:
        pipe.set(feed.key("book"), message, ex=KEEP_SECONDS)
        pipe.publish(feed.channel, message)
        pipe.execute()


def candles_read(venue, feed: Feed, client: redis.Redis) -> None:
    """Read the feed's candles, keep them and publish what changed."""
    candles = venue.candles(feed.symbol, TIMEFRAME, CANDLES_KEPT)
    read_at = time.time()
    whole = candles_message(candles, read_at=read_at)
    rows = {candle.start: _row(candle) for candle in candles}
    kept = client.hgetall(feed.key("candles-rows"))
    updates = _updated({int(start): row.decode() for start, row in kept.items()}, candles)
    with client.pipeline() as pipe:
        pipe.set(feed.key("candles"), whole, ex=KEEP_SECONDS)
        pipe.delete(feed.key("candles-rows"))
        if rows:
            pipe.hset(feed.key("candles-rows"), mapping=rows)
            pipe.expire(feed.key("candles-rows"), KEEP_SECONDS)
        if updates is None:
            pipe.publish(feed.channel, whole)
        for candle in updates or ():
            pipe.publish(feed.channel, candle_message(candle, read_at=read_at))
        pipe.execute()


def _row(candle: Candle) -> str:
    values = (candle.start, candle.open, candle.high, candle.low, candle.close, candle.volume)
    return " ".join(map(str, values))


def _updated(kept: dict[int, str], candles: list[Candle]) -> list[Candle] | None:
    """The candles to send one by one: the last one or two, when only they changed (the minute
    goes on, or a new one began). None when the history changed further back, or was not
    known: then the whole of it is sent."""
    if not kept:
        return None
    changed = [i for i, candle in enumerate(candles) if kept.get(candle.start) != _row(candle)]
    if any(i < len(candles) - 2 for i in changed):
        return None
    return [candles[i] for i in changed]


def _status(client: redis.Redis, feed: Feed, state: str, message: str) -> None:
    _publish_if_changed(client, feed.key("status"), status_message(state, message), feed.channel)


def _publish_if_changed(client: redis.Redis, key: str, message: str, channel: str = "") -> None:
    """Keep `message` under `key`, and publish it on `channel` (the key's name by default) when
    it says something new."""
    previous = client.set(key, message, ex=KEEP_SECONDS, get=True)
    if previous is None or previous.decode() != message:
        client.publish(channel or key, message)
