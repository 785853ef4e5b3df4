"""The paper exchange's own market data: its book, and one-minute candles of its mid at every
step and of its trades."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.paper.conftest import paper_settings  # noqa: F401 - the paper tests' settings
from tests.paper.helpers import ACCOUNT_KEY, intent
from venues.errors import Rejected
from venues.paper import engine
from venues.paper.adapter import PaperVenue
from venues.paper.candles import KEPT
from venues.paper.models import PaperCandle

pytestmark = pytest.mark.django_db
D = Decimal
MINUTE = datetime(2026, 12, 3, 21, 30, tzinfo=UTC)


@pytest.fixture
def public() -> PaperVenue:
    return PaperVenue(account_key="")


def test_the_book_has_at_least_five_levels_a_side_best_first(public):
    engine.market_set_mid("BTCUSD", D(50000))
    book = public.book("BTCUSD", 10)
    assert len(book.bids) >= 5 and len(book.asks) >= 5
    assert [price for price, _ in book.bids] == sorted((p for p, _ in book.bids), reverse=True)
    assert [price for price, _ in book.asks] == sorted(p for p, _ in book.asks)
    assert book.bids[0][0] < D(50000) < book.asks[0][0]
    assert all(isinstance(value, Decimal) for level in book.bids + book.asks for value in level)


def test_the_book_shows_what_this_step_has_left_of_a_level(public):
    engine.market_set_mid("BTCUSD", D(50000))
    best_ask, size = public.book("BTCUSD", 5).asks[0]
    engine.order_submit(ACCOUNT_KEY, intent(amount="0.1", price=str(best_ask)))
    assert public.book("BTCUSD", 5).asks[0] == (best_ask, size - D("0.1"))


def test_an_unknown_market_is_refused(public):
    with pytest.raises(Rejected):
        public.book("NOPE", 5)
    with pytest.raises(Rejected):
        public.candles("BTCUSD", "1h", 10)


def test_each_step_and_trade_goes_into_its_minutes_candle(public):
    engine.market_set_mid("BTCUSD", D(50000), now=MINUTE)
    engine.market_set_mid("BTCUSD", D(50100), now=MINUTE + timedelta(seconds=10))
    engine.market_set_mid("BTCUSD", D(49900), now=MINUTE + timedelta(seconds=20))
    engine.market_set_mid("BTCUSD", D(50050), now=MINUTE + timedelta(seconds=59))
    engine.market_set_mid("BTCUSD", D(50200), now=MINUTE + timedelta(seconds=61))
    best_ask = public.book("BTCUSD", 5).asks[0][0]
    engine.order_submit(
        ACCOUNT_KEY, intent(amount="0.3", price=str(best_ask)), now=MINUTE + timedelta(seconds=62)
    )
    first, second = PaperCandle.objects.filter(symbol="BTCUSD").order_by("start")
    assert (first.open, first.high, first.low, first.close, first.volume) == (
        D(50000),
        D(50100),
        D(49900),
        D(50050),
        0,
    )
    assert second.start == MINUTE + timedelta(minutes=1)
    assert (second.open, second.close, second.volume) == (D(50200), best_ask, D("0.3"))


def test_candles_are_read_oldest_first_with_the_current_minute_at_the_mid(public):
    engine.market_set_mid("BTCUSD", D(50000), now=MINUTE)
    engine.market_set_mid("BTCUSD", D(50500), now=MINUTE + timedelta(minutes=2))
    candles = public.candles("BTCUSD", "1m", 300)
    assert len(candles) == 300
    starts = [candle.start for candle in candles]
    first = starts.index(int(MINUTE.timestamp()))
    assert starts[first + 1] == int(MINUTE.timestamp()) + 120
    assert starts == sorted(starts)
    now = candles[-1]  # a frozen market: no step this minute, so its mid, nothing traded
    assert now.start > starts[first + 1] and now.open == now.close == D(50500)
    assert now.volume == 0


def test_before_its_first_minute_a_market_has_a_made_up_past_the_same_on_every_read(public):
    engine.market_set_mid("BTCUSD", D(50000), now=MINUTE)
    candles = public.candles("BTCUSD", "1m", 300)
    assert candles == public.candles("BTCUSD", "1m", 300)
    first = [c.start for c in candles].index(int(MINUTE.timestamp()))
    past = candles[:first]
    assert [c.start for c in past] == [
        int(MINUTE.timestamp()) - 60 * n for n in range(first, 0, -1)
    ]
    assert past[-1].close == D(50000)  # it ends where the recorded minutes begin
    assert all(c.close == later.open for c, later in zip(past, past[1:], strict=False))
    assert all(c.low <= min(c.open, c.close) <= max(c.open, c.close) <= c.high for c in past)
    assert all(c.volume == 0 and c.open % D("0.1") == 0 for c in past)


def test_only_the_last_minutes_are_kept():
    engine.market_set_mid("BTCUSD", D(50000), now=MINUTE)
    engine.market_set_mid("BTCUSD", D(50000), now=MINUTE + timedelta(minutes=KEPT + 1))
    starts = list(PaperCandle.objects.values_list("start", flat=True))
    assert starts == [MINUTE + timedelta(minutes=KEPT + 1)]
