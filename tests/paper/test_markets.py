from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.paper.helpers import ACCOUNT_KEY, intent
from venues.errors import Rejected
from venues.paper import engine
from venues.paper.engine import Level
from venues.paper.markets import MARKETS, next_quarterly_expiry
from venues.paper.models import PaperMarket
from venues.paper.second import SUFFIX

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def mids_after(seconds: int) -> dict[str, Decimal]:
    PaperMarket.objects.all().delete()
    engine.markets_get(T0)
    engine.advance_markets(T0 + timedelta(seconds=seconds))
    return {market.symbol: market.mid for market in PaperMarket.objects.all()}


def test_markets_start_at_the_configured_prices(settings):
    settings.EMSWEB_PAPER2_PRICE_OFFSET = Decimal("0.001")
    markets = engine.markets_get()
    expiry = f"{next_quarterly_expiry(timezone.now()):%y%m%d}"

    starts = {symbol: market.mid for symbol, market in markets.items()}
    assert {symbol: mid for symbol, mid in starts.items() if not symbol.endswith(SUFFIX)} == {
        "BTCUSD": Decimal(50000),
        "ETHUSD": Decimal(3000),
        "OXTUSD": Decimal("0.11"),
        "USDJPY": Decimal(150),
        # Not in the configured prices: the perpetuals' own default start, and the futures'.
        "BTCUSDT-PERP": Decimal(50000),
        "XBTUSD": Decimal(50000),
        f"BTCUSDT-{expiry}": Decimal(50000),
        f"XBTUSD-{expiry}": Decimal(50000),
    }
    # PAPER2's own markets, in the same engine: the offset away.
    assert starts["BTCUSD" + SUFFIX] == Decimal(50050)
    assert starts["ETHUSD" + SUFFIX] == Decimal(3003)


def test_the_random_walk_is_the_same_for_the_same_seed(settings):
    settings.EMSWEB_PAPER_TICK_SECONDS = 1

    first = mids_after(7)
    again = mids_after(7)

    assert first == again
    assert first["BTCUSD"] != Decimal(50000)


def test_the_random_walk_differs_with_another_seed(settings):
    settings.EMSWEB_PAPER_TICK_SECONDS = 1
    first = mids_after(7)

    settings.EMSWEB_PAPER_SEED = 7
    other = mids_after(7)

    assert first != other


def test_each_step_keeps_the_mid_on_the_tick_and_moves_it_a_few_basis_points(settings):
    settings.EMSWEB_PAPER_TICK_SECONDS = 1
    engine.markets_get(T0)
    previous = {symbol: market.mid for symbol, market in engine.markets_get().items()}

    for second in range(1, 30):
        engine.advance_markets(T0 + timedelta(seconds=second))
        for market in PaperMarket.objects.all():
            tick = MARKETS[market.symbol].tick_size
            assert market.mid % tick == 0
            assert abs(market.mid / previous[market.symbol] - 1) < Decimal("0.005")
            previous[market.symbol] = market.mid


def test_a_market_steps_once_per_elapsed_interval_and_catches_up_at_most_ten(settings):
    settings.EMSWEB_PAPER_TICK_SECONDS = 2
    engine.markets_get(T0)

    engine.advance_markets(T0 + timedelta(seconds=5))
    engine.advance_markets(T0 + timedelta(seconds=5))
    btc = PaperMarket.objects.get(symbol="BTCUSD")
    assert (btc.step, btc.stepped_at) == (2, T0 + timedelta(seconds=4))

    engine.advance_markets(T0 + timedelta(seconds=1000))
    btc.refresh_from_db()
    assert (btc.step, btc.stepped_at) == (12, T0 + timedelta(seconds=1000))


def test_markets_with_a_zero_tick_stay_frozen():
    engine.markets_get(T0)

    engine.advance_markets(T0 + timedelta(hours=1))

    btc = PaperMarket.objects.get(symbol="BTCUSD")
    assert (btc.mid, btc.step) == (Decimal(50000), 0)


def test_the_book_has_five_levels_a_side_around_the_mid():
    current = engine.book("BTCUSD")

    assert current.bids == [
        Level(Decimal("49990.0"), Decimal("0.5")),
        Level(Decimal("49980.0"), Decimal("0.75")),
        Level(Decimal("49970.0"), Decimal("1")),
        Level(Decimal("49960.0"), Decimal("1.25")),
        Level(Decimal("49950.0"), Decimal("1.5")),
    ]
    assert [level.price for level in current.asks] == [
        Decimal("50010.0"),
        Decimal("50020.0"),
        Decimal("50030.0"),
        Decimal("50040.0"),
        Decimal("50050.0"),
    ]
    assert engine.best_bid_ask("BTCUSD") == (Decimal("49990.0"), Decimal("50010.0"))


@pytest.mark.parametrize("symbol", sorted(MARKETS))
def test_every_book_is_on_the_tick_with_a_spread_and_a_level_worth_tens_of_thousands(symbol):
    definition = MARKETS[symbol]
    current = engine.book(symbol)
    best_bid, best_ask = current.bids[0].price, current.asks[0].price
    mid = engine.markets_get()[symbol].mid

    assert best_bid < mid < best_ask
    for level in current.bids + current.asks:
        assert level.price % definition.tick_size == 0
        assert level.size % definition.lot_size == 0
    usd_per_unit = Decimal(1) if definition.base == "USD" or definition.inverse else mid
    assert 20_000 <= current.asks[0].size * usd_per_unit <= 50_000


def test_setting_the_mid_snaps_it_to_the_tick_and_starts_a_fresh_step():
    engine.order_submit(ACCOUNT_KEY, intent(amount="0.3", price="50010"))
    assert engine.book("BTCUSD").asks[0] == Level(Decimal("50010.0"), Decimal("0.2"))

    engine.market_set_mid("BTCUSD", "50000.04")

    btc = PaperMarket.objects.get(symbol="BTCUSD")
    assert (btc.mid, btc.step) == (Decimal(50000), 1)
    assert engine.book("BTCUSD").asks[0] == Level(Decimal("50010.0"), Decimal("0.5"))


def test_setting_a_mid_from_a_float_is_refused():
    with pytest.raises(TypeError):
        engine.market_set_mid("BTCUSD", 49000.5)


def test_an_unknown_market_is_an_unknown_asset_pair():
    with pytest.raises(Rejected, match="EQuery:Unknown asset pair"):
        engine.book("XBTEUR")
