"""The web process's side (market.hub, market.consumer.pump) with a real Redis: a burst of
books is coalesced to the latest, at most the push rate, with no database query per update."""

import asyncio
import json
import time
from decimal import Decimal

import pytest
import redis.asyncio as aioredis
from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper

from market.consumer import pump
from market.hub import FeedState, MarketHub, Screen
from market.wire import Feed, State, account_channel, book_message, status_message
from venues.base import MarketBook

FEED = Feed("PAPER", False, "BTCUSD")
BURST = 200
ONE = Decimal(1)


def book(n: int) -> str:
    levels = MarketBook(bids=((Decimal(n), ONE),), asks=((Decimal(n + 1), ONE),))
    return book_message(levels, read_at=time.time())


@pytest.fixture
def queries(monkeypatch) -> list[str]:
    """Every database connection any thread asks for, from here on (none may be)."""
    asked: list[str] = []

    def ensure_connection(self):
        asked.append(self.alias)
        raise AssertionError("the market feed queried the database")

    monkeypatch.setattr(BaseDatabaseWrapper, "ensure_connection", ensure_connection)
    return asked


async def burst_to_one_screen() -> list[dict]:
    hub = MarketHub()
    screen = await hub.open(account_id=1, feed=FEED, venue_name="Paper", user_id=1)
    sent: list[dict] = []

    async def send(text: str) -> None:
        sent.append(json.loads(text))

    pumping = asyncio.create_task(pump(screen, send))
    publisher = aioredis.Redis.from_url(settings.REDIS_URL)
    try:
        while FEED.channel.encode() not in await publisher.pubsub_channels():
            await asyncio.sleep(0.02)
        for n in range(1, BURST + 1):
            await publisher.publish(FEED.channel, book(n))
        while not sent or sent[-1].get("bids") != [[str(BURST), "1"]]:
            await asyncio.sleep(0.02)
        await publisher.publish(account_channel(1), status_message(State.KEY_REFUSED, "Key!"))
        while sent[-1].get("state") != State.KEY_REFUSED:
            await asyncio.sleep(0.02)
    finally:
        pumping.cancel()
        hub.close(screen)
        await hub.stop()
        await publisher.aclose()
    return sent


def test_a_burst_of_books_sends_only_the_latest_and_queries_nothing(queries, monkeypatch):
    # The once-a-second check of the screens' users is no update's (tests/market/test_ws.py).
    monkeypatch.setattr(MarketHub, "check_users", lambda self: asyncio.sleep(0))
    sent = asyncio.run(asyncio.wait_for(burst_to_one_screen(), 30))
    books = [message for message in sent if message["type"] == "book"]
    assert books[-1]["bids"] == [[str(BURST), "1"]]  # the latest always arrives
    assert len(books) < BURST / 10  # coalesced: the rest were replaced before being sent
    assert sent[0]["type"] == "status" and sent[0]["state"] == State.WAITING
    assert sent[-1]["message"] == "Key!"  # the account's state, pushed too
    assert queries == []


def test_a_screen_says_stale_and_unreachable_in_words_with_the_books_age(settings):
    settings.EMSWEB_MARKET_STALE_AFTER = 5.0
    hub = MarketHub()
    screen = Screen(hub, account_id=1, feed=FEED, venue_name="Paper", user_id=1)
    hub.feeds[FEED] = FeedState(read_at=1000.0, status=(State.LIVE, ""))
    assert json.loads(hub.status_for(screen, now=1002.0))["state"] == State.LIVE
    stale = json.loads(hub.status_for(screen, now=1012.0))
    assert stale["state"] == State.STALE
    assert stale["message"] == "Prices are stale: the book shown was read 12 s ago."
    # The account's own sync could not reach the venue: said first, with the book's age.
    hub.accounts[1] = status_message(State.VENUE_UNREACHABLE, "Paper exchange is unreachable.")
    from_sync = json.loads(hub.status_for(screen, now=1012.0))
    assert from_sync["state"] == State.VENUE_UNREACHABLE
    assert from_sync["message"] == (
        "Paper exchange is unreachable. The book shown was read 12 s ago."
    )
    hub.accounts[1] = ""
    hub.feeds[FEED].status = (State.VENUE_UNREACHABLE, "Kraken is unreachable: refused.")
    unreachable = json.loads(hub.status_for(screen, now=1012.0))
    assert unreachable["state"] == State.VENUE_UNREACHABLE
    assert unreachable["message"] == (
        "Kraken is unreachable: refused. The book shown was read 12 s ago."
    )
