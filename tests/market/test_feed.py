"""The workers' pass (market.feed): only what is on some screen is read; each book and candle is
kept in Redis with the time it was read and published ready to send; a failed read and the
account's own state are said in words."""

import json
from decimal import Decimal

import pytest
import requests

from accounts.models import AlertKind, ExchangeAccount
from emsweb.redis import redis_client
from market.feed import market_refresh
from market.wire import Feed, account_channel
from orders.instruments import instruments_refresh
from orders.sync import account_sync
from tests.factories import AccountFactory, InstrumentFactory
from tests.market.conftest import Listener, on_screen
from tests.venues.scripts.kraken import Kraken
from venues.paper import engine
from venues.paper.models import Fault

pytestmark = pytest.mark.django_db
D = Decimal
BTCUSD = Feed("PAPER", False, "BTCUSD")


@pytest.fixture
def paper(settings):
    settings.EMSWEB_PAPER_TICK_SECONDS = 0
    settings.EMSWEB_MARKET_BOOK_EVERY = 0.001  # due on every pass
    settings.EMSWEB_MARKET_CANDLES_EVERY = 0.001
    instruments_refresh(venue="PAPER")
    engine.market_set_mid("BTCUSD", D(50000))
    return AccountFactory()


def test_nothing_is_read_for_an_instrument_nobody_has_on_screen(paper):
    assert market_refresh() == 0
    assert not list(redis_client().scan_iter("emsweb:market:book:*"))


def test_a_book_on_screen_is_kept_with_its_read_time_and_published_ready_to_send(paper):
    on_screen(paper, "BTCUSD")
    listener = Listener(BTCUSD.channel)
    assert market_refresh() == 1
    kept = json.loads(redis_client().get(BTCUSD.key("book")))
    assert kept["type"] == "book" and kept["read_at"] > 0
    assert kept["bids"][0] == ["49990", "0.5"] and kept["asks"][0] == ["50010", "0.5"]
    assert len(kept["bids"]) == len(kept["asks"]) == 5
    published = {message["type"]: message for message in listener.messages()}
    assert published["book"] == kept
    assert published["status"]["state"] == "live"
    candles = published["candles"]
    assert candles["timeframe"] == "1m" and candles["candles"][-1][1:5] == ["50000"] * 4
    listener.close()


def test_a_later_pass_sends_only_the_last_candle_that_changed(paper):
    on_screen(paper, "BTCUSD")
    market_refresh()
    listener = Listener(BTCUSD.channel)
    engine.market_set_mid("BTCUSD", D(50100))
    market_refresh()
    published = listener.messages()
    kinds = [message["type"] for message in published]
    assert "candles" not in kinds and "status" not in kinds  # still live: said once
    [update] = [message for message in published if message["type"] == "candle"]
    assert update["candle"][2] == "50100" and update["candle"][4] == "50100"  # high, close
    listener.close()


def test_a_refused_key_is_said_on_the_accounts_channel_in_words(paper):
    paper.alert_kind, paper.alert = AlertKind.AUTH, "Key refused: EAPI:Invalid key."
    paper.save()
    on_screen(paper, "BTCUSD")
    listener = Listener(account_channel(paper.pk))
    market_refresh()
    [status] = listener.messages()
    assert status["state"] == "key_refused"
    assert "EAPI:Invalid key" in status["message"] and paper.exchange_id in status["message"]
    market_refresh()
    assert listener.messages() == []  # said when it changes, not on every pass
    listener.close()


def test_a_paper_account_that_cannot_reach_its_venue_says_the_venue_is_unreachable(paper):
    """The paper exchange's "unreachable" fault fails the account's sync as a venue that does not
    answer would: said as the venue being unreachable, not as a sync that went wrong."""
    engine.set_knobs(paper.exchange_id, fault=Fault.UNREACHABLE)
    on_screen(paper, "BTCUSD")
    listener = Listener(account_channel(paper.pk))
    account_sync(account_id=paper.pk)
    market_refresh()
    [status] = listener.messages()
    assert status["state"] == "venue_unreachable"
    assert f"is unreachable from {paper.exchange_id}: Exchange is unreachable." in status["message"]
    # A sync that fails otherwise (an answer it could not read) is a failed sync.
    ExchangeAccount.objects.filter(pk=paper.pk).update(last_sync_unreachable=False)
    market_refresh()
    [status] = listener.messages()
    assert status["state"] == "sync_failed"
    engine.set_knobs(paper.exchange_id, fault=Fault.NONE)
    account_sync(account_id=paper.pk)
    market_refresh()
    [status] = listener.messages()
    assert status["state"] == "live"
    assert not ExchangeAccount.objects.get(pk=paper.pk).last_sync_unreachable
    listener.close()


@pytest.fixture
def kraken(fake, settings):
    settings.EMSWEB_MARKET_BOOK_EVERY = 0.001
    settings.EMSWEB_MARKET_CANDLES_EVERY = 3600  # the book alone here
    Kraken().markets(fake)
    InstrumentFactory(venue="KRAKEN", symbol_id_exchange="XXBTZUSD", symbol_id_coinapi="K_BTC")
    account = AccountFactory(exchange_id="KRAKEN/DESK", venue="KRAKEN", tag="DESK")
    on_screen(account, "XXBTZUSD")
    return account


def test_a_venue_that_cannot_be_reached_is_said_in_words(fake, kraken):
    fake.on("GET", "/0/public/Depth", raises=requests.ConnectionError("connection refused"))
    feed = Feed("KRAKEN", False, "XXBTZUSD")
    listener = Listener(feed.channel)
    market_refresh()
    [status] = listener.messages()
    assert status["state"] == "venue_unreachable"
    assert status["message"].startswith("Kraken is unreachable")
    listener.close()


def test_market_data_held_back_for_orders_says_so(fake, kraken, settings):
    settings.EMSWEB_CCXT_BURST_SECONDS = 10.0
    settings.EMSWEB_CCXT_MARKET_DATA_RESERVE = 0.99  # always more than the bucket spares
    fake.on("GET", "/0/public/Depth", {"error": [], "result": {}})
    listener = Listener(Feed("KRAKEN", False, "XXBTZUSD").channel)
    market_refresh()
    [status] = listener.messages()
    assert status["state"] == "throttled"
    assert "orders, cancels and syncs first" in status["message"]
    assert not fake.requests_to("/0/public/Depth")
    listener.close()


def test_beat_runs_the_pass_every_second_on_a_queue_of_its_own(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["refresh-market-data"]
    assert entry["task"] == "market.tasks.refresh_market_data"
    assert entry["schedule"].total_seconds() == 1 and entry["options"]["expires"] == 1
    assert settings.CELERY_TASK_ROUTES[entry["task"]] == {"queue": "market"}
