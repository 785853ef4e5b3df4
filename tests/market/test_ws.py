"""/stream/market on a real server (deploy/entrypoint.sh web) with a real `websockets` client:
who may connect; the book and candles a worker's pass read, pushed; a burst coalesced; and
"stale" and "unreachable" said in words."""

from __future__ import annotations

import json
import os
import time
from decimal import Decimal

import pytest
import redis
import requests
from django.conf import settings
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from market.feed import market_refresh
from market.tasks import refresh_market_data
from market.wire import Feed, book_message
from tests.conftest import VAR, Worker, wait_for
from tests.factories import AccountFactory, InstrumentFactory
from tests.stream.test_ws import session_cookie
from tests.venues.scripts.kraken import Kraken
from venues.base import MarketBook

TIMEOUT = 10
BTCUSD = Feed("PAPER", False, "BTCUSD")


def screen(server, user, account_id, instrument: str = "BTCUSD", **kwargs):
    headers = {"Cookie": session_cookie(user)} if user is not None else {}
    return connect(
        f"{server.ws_url}/stream/market?account={account_id}&instrument={instrument}",
        origin=kwargs.get("origin", server.origin),
        additional_headers=headers,
    )


def until(ws, predicate, *, refresh=None) -> dict:
    """The first message that satisfies `predicate`, running a worker's pass meanwhile."""
    return gather(ws, predicate, refresh=refresh)[-1]


def gather(ws, done, *, refresh=None) -> list[dict]:
    """The messages received until `done(message)`, running a worker's pass meanwhile."""
    deadline = time.monotonic() + TIMEOUT
    received = []
    while time.monotonic() < deadline:
        if refresh is not None:
            refresh()
        try:
            received.append(json.loads(ws.recv(timeout=0.5)))
        except TimeoutError:
            continue
        if done(received[-1]):
            return received
    raise AssertionError(f"not received; received: {received[-5:]}")


def test_a_signed_in_screen_is_pushed_the_book_and_candles_a_worker_read(web_server, user, account):
    with screen(web_server, user, account.pk) as ws:
        first = json.loads(ws.recv(timeout=TIMEOUT))
        assert first["type"] == "status" and first["state"] == "waiting"
        # A worker's pass: the book, the candles and the status (in one push or two).
        pushed = {}

        def both_read(message: dict) -> bool:
            pushed[message["type"]] = message
            return {"book", "candles"} <= pushed.keys()

        gather(ws, both_read, refresh=market_refresh)
        book, candles = pushed["book"], pushed["candles"]
        assert book["bids"][0] == ["49990", "0.5"] and book["asks"][0] == ["50010", "0.5"]
        assert candles["candles"][-1][1:5] == ["50000"] * 4
        assert pushed["status"]["state"] == "live"
        # Nothing read since: the screen is told, in words, with the age.
        stale = until(ws, lambda m: m["type"] == "status")
        assert stale["state"] == "stale" and stale["message"].startswith("Prices are stale:")


def test_a_burst_of_books_reaches_a_screen_coalesced_to_the_latest(web_server, user, account):
    with screen(web_server, user, account.pk) as ws:
        ws.recv(timeout=TIMEOUT)
        publisher = redis.Redis.from_url(settings.REDIS_URL)
        while not publisher.pubsub_numsub(BTCUSD.channel)[0][1]:
            time.sleep(0.02)
        for n in range(1, 201):
            book = MarketBook(bids=((Decimal(n), Decimal(1)),), asks=())
            publisher.publish(BTCUSD.channel, book_message(book, read_at=time.time()))
        received = []
        while not received or received[-1]["bids"] != [["200", "1"]]:
            message = json.loads(ws.recv(timeout=TIMEOUT))
            if message["type"] == "book":
                received.append(message)
        assert len(received) < 20


def test_screens_of_one_instrument_share_one_subscription_per_process(web_server, user, account):
    publisher = redis.Redis.from_url(settings.REDIS_URL)

    def subscribers() -> int:
        return publisher.pubsub_numsub(BTCUSD.channel)[0][1]

    with (
        screen(web_server, user, account.pk) as first,
        screen(web_server, user, account.pk) as second,
    ):
        for ws in (first, second):
            ws.recv(timeout=TIMEOUT)
        until(first, lambda m: m["type"] == "book", refresh=market_refresh)
        until(second, lambda m: m["type"] == "book")
        assert subscribers() == 1
    wait_for(lambda: subscribers() == 0, what="the last screen's subscription to go")


def test_a_venue_that_cannot_be_reached_is_said_on_the_screen(web_server, user, fake):
    Kraken().markets(fake)
    fake.on("GET", "/0/public/Depth", raises=requests.ConnectionError("connection refused"))
    fake.on("GET", "/0/public/OHLC", raises=requests.ConnectionError("connection refused"))
    InstrumentFactory(venue="KRAKEN", symbol_id_exchange="XXBTZUSD", symbol_id_coinapi="K_BTC")
    kraken = AccountFactory(exchange_id="KRAKEN/DESK", venue="KRAKEN", tag="DESK")
    with screen(web_server, user, kraken.pk, "XXBTZUSD") as ws:
        status = until(ws, lambda m: m.get("state") == "venue_unreachable", refresh=market_refresh)
        assert status["message"].startswith("Kraken is unreachable")


@pytest.mark.pipeline
def test_a_worker_on_the_market_queue_reads_what_a_screen_watches(web_server, user, account):
    """As deployed: beat's task (sent here) on the market queue, a worker of its own."""
    log = VAR / f"test-worker-market-{os.getpid()}.log"
    worker = Worker("market", 1, log, queues="market")
    try:
        with screen(web_server, user, account.pk) as ws:
            book = until(ws, lambda m: m["type"] == "book", refresh=refresh_market_data.delay)
            assert book["bids"][0] == ["49990", "0.5"]
    finally:
        worker.stop()


# --- who may connect --------------------------------------------------------------------------


def test_a_screen_not_signed_in_is_refused(web_server, account):
    with pytest.raises(InvalidStatus) as refused:
        screen(web_server, None, account.pk)
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize("origin", [None, "http://evil.example"])
def test_a_screen_from_another_origin_is_refused(web_server, user, account, origin):
    with pytest.raises(InvalidStatus) as refused:
        screen(web_server, user, account.pk, origin=origin)
    assert refused.value.response.status_code == 403


def test_an_account_the_user_may_not_see_is_refused(web_server, user, account):
    with pytest.raises(InvalidStatus) as refused:
        screen(web_server, user, account.pk + 1000)  # no such account
    assert refused.value.response.status_code == 403
    user.is_active = False
    user.save()
    with pytest.raises(InvalidStatus):
        screen(web_server, user, account.pk)


def test_a_deactivated_users_open_screen_is_closed(web_server, user, account):
    """As /stream and /v1/ws: whatever door deactivates the user, within about a second."""
    other = type(user).objects.create_user("other-screen", password="screen-password-2")
    with screen(web_server, user, account.pk) as ws, screen(web_server, other, account.pk) as kept:
        ws.recv(timeout=TIMEOUT)
        kept.recv(timeout=TIMEOUT)
        user.is_active = False
        user.save()
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=TIMEOUT)
        assert closed.value.rcvd.code == 4401
        # Another user's screen of the same instrument stays open and is still sent its book.
        until(kept, lambda m: m["type"] == "book", refresh=market_refresh)


def test_an_instrument_the_venue_does_not_list_is_said_and_closed(web_server, user, account):
    with screen(web_server, user, account.pk, "NOPE") as ws:
        status = json.loads(ws.recv(timeout=TIMEOUT))
        assert status["state"] == "refused" and "NOPE" in status["message"]
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=TIMEOUT)
    assert closed.value.rcvd.code == 4404
