"""The paper perpetuals, linear and inverse: a leveraged position opened, marked, funded, partly
closed with a reduce-only order, and liquidated. Every figure is worked out by hand in the
comments beside it (fees, margins and maintenance rounded up to 1e-8, PnL and funding half-even;
taker fee 0.26 %, maintenance 0.5 %, funding 0.01 % an hour here)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.paper.helpers import ACCOUNT_KEY, intent
from venues.base import OrdSide, TimeInForce
from venues.errors import Rejected
from venues.paper import engine
from venues.paper.marks import Marked
from venues.paper.models import PaperBalance, PaperPosition
from venues.paper.second import SecondPaperVenue

pytestmark = pytest.mark.django_db

IOC = TimeInForce.IMMEDIATE_OR_CANCEL
T0 = datetime(2026, 12, 4, 0, 30, tzinfo=UTC)  # funding times: 00:00, 01:00, ...


@pytest.fixture(autouse=True)
def hourly_funding(settings):
    settings.EMSWEB_PAPER_FUNDING_SECONDS = 3600
    settings.EMSWEB_PAPER_FUNDING_RATE = Decimal("0.0001")


def wallet(asset: str) -> tuple[Decimal, Decimal]:
    row = PaperBalance.objects.get(account=engine.account_get(ACCOUNT_KEY), asset=asset)
    return row.total, row.locked


def held(symbol: str) -> Marked:
    return next(m for m in engine.positions_get(ACCOUNT_KEY) if m.position.symbol == symbol)


def order(side, amount, price, symbol, *, reduce_only=False, at=T0):
    return engine.order_submit(
        ACCOUNT_KEY,
        intent(side, amount, price, symbol=symbol, time_in_force=IOC, reduce_only=reduce_only),
        now=at,
    )


def at(hour: int, minute: int) -> datetime:
    return T0.replace(hour=hour, minute=minute)


def test_a_linear_perpetual_long_through_its_life():
    symbol = "BTCUSDT-PERP"
    assert wallet("USDT") == (Decimal(100000), Decimal(0))  # paper accounts hold USDT too
    engine.leverage_set(ACCOUNT_KEY, symbol, Decimal(10), cross=False)

    # Opened: BUY 0.2 at up to 50100 takes the best ask, 50000 + 10.0 (2 bps) = 50010.0.
    opened = order(OrdSide.BUY, "0.2", "50100", symbol)
    assert (opened.status, opened.avg_price) == ("FILLED", Decimal("50010"))
    # value 0.2 * 50010 = 10002; fee 10002 * 0.0026 = 26.0052; margin 10002 / 10 = 1000.2
    assert wallet("USDT") == (Decimal("99973.9948"), Decimal("1000.2"))
    position = held(symbol)
    assert position.position.size == Decimal("0.2")
    assert position.position.entry_price == Decimal("50010")
    assert position.position.margin == Decimal("1000.2")
    assert position.position.fees == Decimal("26.0052")

    # Marked at 51000: unrealized 0.2 * (51000 - 50010) = 198; maintenance 0.2 * 51000 * 0.005
    # = 51; liquidation where 1000.2 + 0.2 (P - 50010) = 0.005 * 0.2 P, P = (50010 - 1000.2 / 0.2)
    # / 0.995 = 45235.1758..., on the tick up: 45235.2.
    engine.market_set_mid(symbol, "51000", now=at(0, 40))
    position = held(symbol)
    assert position.mark == Decimal("51000")
    assert position.unrealized == Decimal("198")
    assert position.maintenance == Decimal("51")
    assert position.liquidation_price == Decimal("45235.2")

    # Funded at 01:00: the long pays 0.2 * 51000 * 0.0001 = 1.02. Once: a second pass in the
    # same hour pays nothing.
    engine.advance_markets(now=at(1, 5))
    engine.advance_markets(now=at(1, 30))
    assert wallet("USDT") == (Decimal("99972.9748"), Decimal("1000.2"))
    assert held(symbol).position.funding == Decimal("-1.02")

    # A reduce-only order that would flip the long, or grow it, is refused; nothing is kept.
    with pytest.raises(Rejected, match="flip"):
        order(OrdSide.SELL, "0.3", "50900", symbol, reduce_only=True, at=at(1, 10))
    with pytest.raises(Rejected, match="increase"):
        order(OrdSide.BUY, "0.1", "51100", symbol, reduce_only=True, at=at(1, 10))

    # Partly closed: reduce-only SELL 0.1 takes the best bid 51000 - 10.2 = 50989.8.
    # fee 0.1 * 50989.8 * 0.0026 = 13.257348; realized 0.1 * (50989.8 - 50010) = 97.98;
    # margin freed 1000.2 * 0.1 / 0.2 = 500.1.
    # wallet 99972.9748 + 97.98 - 13.257348 = 100057.697452
    closed = order(OrdSide.SELL, "0.1", "50900", symbol, reduce_only=True, at=at(1, 10))
    assert (closed.status, closed.avg_price) == ("FILLED", Decimal("50989.8"))
    assert wallet("USDT") == (Decimal("100057.697452"), Decimal("500.1"))
    position = held(symbol).position
    assert (position.size, position.entry_price) == (Decimal("0.1"), Decimal("50010"))
    assert position.realized_pnl == Decimal("97.98")
    assert position.fees == Decimal("39.262548")  # 26.0052 + 13.257348

    # Liquidation price unchanged, (50010 - 500.1 / 0.1) / 0.995 = 45235.2 up to the tick.
    # At 45300: equity 500.1 + 0.1 (45300 - 50010) = 29.1 >= maintenance 22.65: still open.
    engine.market_set_mid(symbol, "45300", now=at(1, 20))
    assert held(symbol).liquidation_price == Decimal("45235.2")
    assert held(symbol).position.size == Decimal("0.1")

    # At 45200: equity 500.1 - 481 = 19.1 < maintenance 0.1 * 45200 * 0.005 = 22.6: liquidated.
    # Realized -481 at mark, the fee takes the 19.1 left: the isolated margin 500.1 is all lost.
    # wallet 100057.697452 - 500.1 = 99557.597452, nothing locked.
    engine.market_set_mid(symbol, "45200", now=at(1, 25))
    position = held(symbol).position
    assert (position.size, position.margin) == (Decimal(0), Decimal(0))
    assert position.realized_pnl == Decimal("-383.02")  # 97.98 - 481
    assert position.fees == Decimal("58.362548")  # 39.262548 + 19.1
    assert position.liquidated_at == at(1, 25)
    assert wallet("USDT") == (Decimal("99557.597452"), Decimal(0))


def test_an_inverse_perpetual_long_through_its_life():
    symbol = "XBTUSD"
    engine.leverage_set(ACCOUNT_KEY, symbol, Decimal(5), cross=False)

    # Opened: BUY 10000 contracts of 1 USD at up to 50100 take the best ask, 50010.0.
    # value 10000 / 50010 = 0.19996000799... BTC; fee * 0.0026 = 0.00051989... up: 0.00051990;
    # margin / 5 = 0.03999200159... up: 0.03999201. Wallet 2 - 0.00051990 = 1.99948010.
    opened = order(OrdSide.BUY, "10000", "50100", symbol)
    assert (opened.status, opened.avg_price) == ("FILLED", Decimal("50010"))
    assert wallet("BTC") == (Decimal("1.99948010"), Decimal("0.03999201"))
    position = held(symbol).position
    assert (position.size, position.entry_price) == (Decimal(10000), Decimal(50010))

    # Marked at 52000: unrealized 10000 (1/50010 - 1/52000) = 0.0076523156... : 0.00765232;
    # maintenance 10000 / 52000 * 0.005 = 0.00096153... up: 0.00096154; liquidation where
    # 0.03999201 + 10000/50010 - 10000/P = 0.005 * 10000 / P, P = 10050 / (0.03999201 +
    # 0.19996000799...) = 41883.37..., on the tick (0.5) up: 41883.5.
    engine.market_set_mid(symbol, "52000", now=at(0, 40))
    position = held(symbol)
    assert position.unrealized == Decimal("0.00765232")
    assert position.maintenance == Decimal("0.00096154")
    assert position.liquidation_price == Decimal("41883.5")

    # Funded at 01:00: 10000 / 52000 * 0.0001 = 0.0000192307... : 0.00001923 BTC paid.
    engine.advance_markets(now=at(1, 5))
    assert wallet("BTC") == (Decimal("1.99946087"), Decimal("0.03999201"))
    assert held(symbol).position.funding == Decimal("-0.00001923")

    with pytest.raises(Rejected, match="flip"):
        order(OrdSide.SELL, "10001", "51900", symbol, reduce_only=True, at=at(1, 10))

    # Partly closed: reduce-only SELL 4000 takes the best bid, 52000 - 10 = 51990.0.
    # fee 4000 / 51990 * 0.0026 = 0.00020003... up: 0.00020004; realized 4000 (1/50010 -
    # 1/51990) = 0.0030461... : 0.00304613; margin freed 0.03999201 * 4000 / 10000 = 0.01599680.
    # wallet 1.99946087 + 0.00304613 - 0.00020004 = 2.00230696; locked 0.02399521.
    closed = order(OrdSide.SELL, "4000", "51900", symbol, reduce_only=True, at=at(1, 10))
    assert (closed.status, closed.avg_price) == ("FILLED", Decimal("51990"))
    assert wallet("BTC") == (Decimal("2.00230696"), Decimal("0.02399521"))
    position = held(symbol).position
    assert (position.size, position.entry_price) == (Decimal(6000), Decimal(50010))
    assert position.realized_pnl == Decimal("0.00304613")

    # Liquidation: 6030 / (0.02399521 + 6000/50010) = 41883.37...: 41883.5 again.
    # At 42000: unrealized 6000 (1/50010 - 1/42000) = -0.02288114, equity 0.00111407 >=
    # maintenance 0.00071429: open. At 41800: -0.02356467, equity 0.00043054 < 0.00071771:
    # liquidated; the fee takes the 0.00043054 left, so the whole margin 0.02399521 is lost.
    engine.market_set_mid(symbol, "42000", now=at(1, 20))
    assert held(symbol).liquidation_price == Decimal("41883.5")
    assert held(symbol).position.size == Decimal(6000)
    engine.market_set_mid(symbol, "41800", now=at(1, 25))
    position = held(symbol).position
    assert (position.size, position.margin) == (Decimal(0), Decimal(0))
    assert position.realized_pnl == Decimal("-0.02051854")  # 0.00304613 - 0.02356467
    assert wallet("BTC") == (Decimal("1.97831175"), Decimal(0))  # 2.00230696 - 0.02399521


def test_a_short_receives_funding_when_the_rate_is_positive():
    symbol = "BTCUSDT-PERP"
    # SELL 0.1 at the best bid 49990.0: fee 4999 * 0.0026 = 12.9974, margin (1x) 4999.
    order(OrdSide.SELL, "0.1", "49900", symbol)
    assert wallet("USDT") == (Decimal("99987.0026"), Decimal(4999))
    # 01:00 and 02:00 have passed: two funding times at 0.1 * 50000 * 0.0001 = 0.5 each.
    engine.advance_markets(now=at(2, 1))
    assert wallet("USDT") == (Decimal("99988.0026"), Decimal(4999))
    # Short at 1x isolated: liquidation where 4999 + 0.1 (49990 - P) = 0.0005 P, P = (49990 +
    # 49990) / 1.005 = 99482.58..., on the tick down: 99482.5.
    assert held(symbol).liquidation_price == Decimal("99482.5")


def test_a_reduce_only_order_resting_is_cut_to_the_position_left_and_then_canceled():
    symbol = "BTCUSDT-PERP"
    order(OrdSide.BUY, "0.2", "50100", symbol)
    resting = engine.order_submit(
        ACCOUNT_KEY, intent(OrdSide.SELL, "0.2", "51000", symbol=symbol, reduce_only=True)
    )
    order(OrdSide.SELL, "0.15", "49900", symbol)  # not reduce-only: leaves a 0.05 long
    engine.market_set_mid(symbol, "51100")  # the resting SELL crosses now
    resting.refresh_from_db()
    assert (resting.filled, resting.status) == (Decimal("0.05"), "CANCELED")
    assert held(symbol).position.size == 0


def test_reduce_only_on_spot_and_leverage_out_of_range_are_refused():
    with pytest.raises(Rejected, match="reduce_only"):
        engine.order_submit(ACCOUNT_KEY, intent(reduce_only=True))
    with pytest.raises(Rejected, match="leverage"):
        engine.leverage_set(ACCOUNT_KEY, "XBTUSD", Decimal(101), cross=True)
    assert not PaperPosition.objects.filter(leverage__gt=1).exists()


def test_cross_margin_counts_the_free_balance_as_collateral():
    symbol = "BTCUSDT-PERP"
    engine.leverage_set(ACCOUNT_KEY, symbol, Decimal(10), cross=True)
    order(OrdSide.BUY, "0.2", "50100", symbol)
    # Collateral 1000.2 + the free 99973.9948 - 1000.2 = 99973.9948: P = (50010 - 99973.9948 /
    # 0.2) / 0.995 < 0, no liquidation price.
    assert held(symbol).liquidation_price is None
    assert held(symbol).collateral == Decimal("99973.9948")


def test_an_order_locks_what_it_is_worth_where_it_fills_not_only_at_its_limit():
    symbol = "BTCUSDT-PERP"
    # Enough for 0.1 at the SELL's limit of 40000 (4000 margin + 10.4 fee), not at the best bid
    # of 49990 where it would fill (4999 margin + 12.9974 fee): refused, nothing kept.
    PaperBalance.objects.filter(account=engine.account_get(ACCOUNT_KEY), asset="USDT").update(
        total=Decimal("4010.4")
    )
    with pytest.raises(Rejected, match="Insufficient funds"):
        order(OrdSide.SELL, "0.1", "40000", symbol)
    assert wallet("USDT") == (Decimal("4010.4"), Decimal(0))
    # With 5011.9974 it goes through and leaves nothing free: 5011.9974 - 12.9974 = 4999 total,
    # all of it the position's margin.
    PaperBalance.objects.filter(account=engine.account_get(ACCOUNT_KEY), asset="USDT").update(
        total=Decimal("5011.9974")
    )
    order(OrdSide.SELL, "0.1", "40000", symbol)
    assert wallet("USDT") == (Decimal(4999), Decimal(4999))


def test_leverage_changes_wait_for_the_markets_open_orders_to_be_canceled():
    resting = engine.order_submit(
        ACCOUNT_KEY, intent(OrdSide.BUY, "0.1", "49000", symbol="BTCUSDT-PERP")
    )
    with pytest.raises(Rejected, match="open orders"):
        engine.leverage_set(ACCOUNT_KEY, "BTCUSDT-PERP", Decimal(10), cross=False)
    engine.order_cancel(ACCOUNT_KEY, exchange_order_id=resting.exchange_order_id)
    assert engine.leverage_set(ACCOUNT_KEY, "BTCUSDT-PERP", Decimal(10), cross=False).leverage == 10


def test_paper2_reports_its_positions_and_takes_leverage_under_the_names_it_shows():
    """PAPER2 speaks the paper exchange's names (BTCUSDT-PERP) of its own markets
    (BTCUSDT-PERP.2): its positions and leverage too, or the EMS would find no instrument."""
    venue = SecondPaperVenue(account_key="PAPER2-POSITIONS")
    venue.leverage_set("BTCUSDT-PERP", Decimal(5), cross=False)
    venue.submit(intent(OrdSide.BUY, "0.1", "60000", symbol="BTCUSDT-PERP", time_in_force=IOC))
    (position,) = [p for p in venue.positions() if p.size]
    assert (position.symbol_id_exchange, position.size, position.leverage) == (
        "BTCUSDT-PERP",
        Decimal("0.1"),
        Decimal(5),
    )
