"""The paper exchange's liquidations and settlements as a venue shows them (an order of its own,
filled at the mark, with its trade), cross margin shared across one asset's positions, and the
dated futures: listed on the next quarterly expiry, settled at the mark at expiry, then refused.
Every figure is worked out by hand beside it (fees, margins and maintenance rounded up to 1e-8,
PnL half-even; taker fee 0.26 %, maintenance 0.5 %)."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tests.paper.helpers import ACCOUNT_KEY, intent
from venues.base import OrdSide, TimeInForce
from venues.errors import Rejected
from venues.paper import engine, markets
from venues.paper.adapter import PaperVenue
from venues.paper.marks import Marked
from venues.paper.models import PaperBalance, PaperOrder
from venues.paper.second import SecondPaperVenue

pytestmark = pytest.mark.django_db

IOC = TimeInForce.IMMEDIATE_OR_CANCEL
T0 = datetime(2026, 12, 4, 0, 30, tzinfo=UTC)  # no funding time (01:00) is crossed below
LINEAR_FUTURE = "BTCUSDT-261225"  # the next quarterly expiry after T0: Friday 25 December 2026
EXPIRY = datetime(2026, 12, 25, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def hourly_funding(settings):
    settings.EMSWEB_PAPER_FUNDING_SECONDS = 3600


def wallet(asset: str) -> tuple[Decimal, Decimal]:
    row = PaperBalance.objects.get(account=engine.account_get(ACCOUNT_KEY), asset=asset)
    return row.total, row.locked


def fund(asset: str, total: str) -> None:
    PaperBalance.objects.filter(account=engine.account_get(ACCOUNT_KEY), asset=asset).update(
        total=Decimal(total)
    )


def held(symbol: str) -> Marked:
    return next(m for m in engine.positions_get(ACCOUNT_KEY) if m.position.symbol == symbol)


def order(side, amount, price, symbol, *, at=T0, time_in_force=IOC):
    return engine.order_submit(
        ACCOUNT_KEY, intent(side, amount, price, symbol=symbol, time_in_force=time_in_force), now=at
    )


def test_the_next_quarterly_expiry_is_the_last_friday_of_the_quarter_at_eight():
    assert markets.next_quarterly_expiry(T0) == date(2026, 12, 25)
    assert markets.next_quarterly_expiry(EXPIRY.replace(minute=0, hour=7)) == date(2026, 12, 25)
    # At 08:00 on 25 December it has expired: the next is the last Friday of March 2027 (the
    # 31st is a Wednesday, so the 26th).
    assert markets.next_quarterly_expiry(EXPIRY) == date(2027, 3, 26)
    assert markets.next_quarterly_expiry(datetime(2026, 7, 1, tzinfo=UTC)) == date(2026, 9, 25)


def test_one_future_per_perpetual_is_listed_with_its_expiry():
    listed = {definition.symbol: definition for definition in markets.listed(T0)}
    linear, inverse = listed[LINEAR_FUTURE], listed["XBTUSD-261225"]
    assert (linear.kind, linear.inverse, linear.settle, linear.expiry) == (
        "FUTURE", False, "USDT", date(2026, 12, 25)
    )  # fmt: skip
    assert (inverse.kind, inverse.inverse, inverse.settle) == ("FUTURE", True, "BTC")
    assert linear.expires_at == EXPIRY
    # A made-up date is no future of the exchange's.
    with pytest.raises(Rejected, match="Unknown asset pair"):
        engine.market_def("BTCUSDT-261224")
    # PAPER2 lists its own copies under the same names.
    assert "XBTUSD-261225.2" in {definition.symbol for definition in markets.listed(T0)}


def test_the_venues_list_the_futures_with_the_hosted_ems_names(db):
    names = {spec.symbol_id_exchange: spec for spec in PaperVenue(account_key="").instruments()}
    expiry = markets.next_quarterly_expiry(datetime.now(UTC))
    future = names[f"BTCUSDT-{expiry:%y%m%d}"]
    assert (future.kind, future.expiry, future.settlement_asset) == ("FUTURE", expiry, "USDT")
    assert not any(symbol.endswith(".2") for symbol in names)
    second = {spec.symbol_id_exchange for spec in SecondPaperVenue(account_key="").instruments()}
    assert second == set(names)


def test_a_liquidation_is_an_order_of_the_exchange_filled_at_the_mark_with_its_trade():
    symbol = "BTCUSDT-PERP"
    engine.leverage_set(ACCOUNT_KEY, symbol, Decimal(10), cross=False, now=T0)
    # BUY 0.2 at the best ask 50010: fee 10002 * 0.0026 = 26.0052, margin 10002 / 10 = 1000.2.
    order(OrdSide.BUY, "0.2", "50100", symbol)
    assert wallet("USDT") == (Decimal("99973.9948"), Decimal("1000.2"))
    # A resting BUY 0.1 at 40000 locks 4000 / 10 = 400 of margin and 4000 * 0.0026 = 10.4.
    resting = order(OrdSide.BUY, "0.1", "40000", symbol, time_in_force="GOOD_TILL_CANCEL")
    _, cursor = engine.trades_since(ACCOUNT_KEY, None)

    # At 45200: unrealized 0.2 (45200 - 50010) = -962, equity 1000.2 - 962 = 38.2 < maintenance
    # 0.2 * 45200 * 0.005 = 45.2: liquidated. The resting order is canceled (its 410.4 freed),
    # the loss is 962 and the fee takes the 38.2 left: 99973.9948 - 1000.2 = 98973.7948.
    engine.market_set_mid(symbol, "45200", now=T0.replace(minute=40))
    assert wallet("USDT") == (Decimal("98973.7948"), Decimal(0))
    resting.refresh_from_db()
    assert resting.status == "CANCELED"
    assert resting.message == "Canceled: the position was liquidated"

    (trade,), _ = engine.trades_since(ACCOUNT_KEY, cursor)
    assert (trade.price, trade.amount, trade.fee, trade.fee_asset) == (
        Decimal(45200), Decimal("0.2"), Decimal("38.2"), "USDT"
    )  # fmt: skip
    liquidation = trade.order
    assert (liquidation.side, liquidation.status, liquidation.client_order_id) == (
        "SELL", "FILLED", ""
    )  # fmt: skip
    assert (liquidation.filled, liquidation.avg_price) == (Decimal("0.2"), Decimal(45200))
    assert liquidation.message.startswith("Liquidation")
    position = held(symbol).position
    assert (position.size, position.realized_pnl, position.fees) == (
        Decimal(0), Decimal(-962), Decimal("64.2052")  # 26.0052 + 38.2
    )  # fmt: skip
    assert position.liquidated_at == T0.replace(minute=40)


def test_cross_positions_in_one_asset_share_the_free_balance_and_are_liquidated_together():
    perp, future = "BTCUSDT-PERP", LINEAR_FUTURE
    fund("USDT", "3000")
    for symbol in (perp, future):
        engine.leverage_set(ACCOUNT_KEY, symbol, Decimal(10), cross=True, now=T0)
        # BUY 0.2 at the best ask 50010 on each: fee 26.0052, margin 1000.2 each.
        order(OrdSide.BUY, "0.2", "50100", symbol)
    # 3000 - 2 * 26.0052 = 2947.9896, of which 2000.4 locked: 947.5896 free. The pool the two
    # share is the free balance and their margins: 2947.9896, counted once.
    assert wallet("USDT") == (Decimal("2947.9896"), Decimal("2000.4"))

    engine.market_set_mid(future, "47000", now=T0.replace(minute=35))
    engine.market_set_mid(perp, "50000", now=T0.replace(minute=35))
    # The future at 47000: unrealized 0.2 (47000 - 50010) = -602, maintenance 0.2 * 47000 *
    # 0.005 = 47. The perpetual at 50000: unrealized -2, maintenance 50.
    # The perpetual's collateral: the pool with the future's -602 - 47: 2298.9896; it is
    # liquidated where 2298.9896 + 0.2 (P - 50010) = 0.001 P: P = (50010 - 2298.9896 / 0.2)
    # / 0.995 = 38708.5949..., on the tick up: 38708.6.
    # The future's: 2947.9896 - 2 - 50 = 2895.9896, P = (50010 - 14479.948) / 0.995 =
    # 35708.5949...: 35708.6 (it is already 9 % below its entry, the perpetual is not).
    assert (held(perp).collateral, held(perp).liquidation_price) == (
        Decimal("2298.9896"), Decimal("38708.6")
    )  # fmt: skip
    assert (held(future).collateral, held(future).liquidation_price) == (
        Decimal("2895.9896"), Decimal("35708.6")
    )  # fmt: skip

    # At 38800: the pool's equity 2947.9896 - 602 + 0.2 (38800 - 50010) = 2947.9896 - 2844 =
    # 103.9896 >= maintenance 47 + 38.8 = 85.8: both still open. (Each counting the whole free
    # balance, the perpetual had 947.5896 + 1000.2 = 1947.7896 < its loss of 2242 already.)
    engine.market_set_mid(perp, "38800", now=T0.replace(minute=40))
    assert held(perp).position.size == held(future).position.size == Decimal("0.2")

    # At 38700: 2947.9896 - 602 - 2262 = 83.9896 < 47 + 38.7 = 85.7: both are liquidated, each
    # at its mark. The loss 2864 is within the pool; the fees take the 83.9896 left: 47 the
    # future's maintenance, 36.9896 the perpetual's (which triggered it). Nothing is left.
    engine.market_set_mid(perp, "38700", now=T0.replace(minute=45))
    assert wallet("USDT") == (Decimal(0), Decimal(0))
    closed = {
        o.symbol: o.trades.get()
        for o in PaperOrder.objects.filter(message__startswith="Liquidation")
    }
    assert (closed[future].price, closed[future].fee) == (Decimal(47000), Decimal(47))
    assert (closed[perp].price, closed[perp].fee) == (Decimal(38700), Decimal("36.9896"))
    assert held(future).position.realized_pnl == Decimal(-602)
    assert held(perp).position.realized_pnl == Decimal(-2262)


def test_an_isolated_position_keeps_its_own_margin_beside_cross_ones():
    perp, future = "BTCUSDT-PERP", LINEAR_FUTURE
    fund("USDT", "3000")
    engine.leverage_set(ACCOUNT_KEY, perp, Decimal(10), cross=True, now=T0)
    engine.leverage_set(ACCOUNT_KEY, future, Decimal(10), cross=False, now=T0)
    order(OrdSide.BUY, "0.2", "50100", perp)
    order(OrdSide.BUY, "0.2", "50100", future)
    # The perpetual's pool: the free 947.5896 and its own margin 1000.2, not the isolated
    # future's: 1947.7896 (at the mark 50000, the future at 50000 too).
    engine.market_set_mid(perp, "50000", now=T0.replace(minute=35))
    engine.market_set_mid(future, "50000", now=T0.replace(minute=35))
    assert held(perp).collateral == Decimal("1947.7896")
    assert held(future).collateral == Decimal("1000.2")


def test_a_future_settles_at_the_mark_at_its_expiry_and_then_trades_no_more():
    future = LINEAR_FUTURE
    # BUY 0.1 at the best ask 50010 (1x isolated): fee 5001 * 0.0026 = 13.0026, margin 5001.
    order(OrdSide.BUY, "0.1", "50100", future)
    # A SELL 0.05 resting at 60000 locks 3000 of margin and 3000 * 0.0026 = 7.8.
    resting = order(OrdSide.SELL, "0.05", "60000", future, time_in_force="GOOD_TILL_CANCEL")
    assert wallet("USDT") == (Decimal("99986.9974"), Decimal("8008.8"))
    engine.market_set_mid(future, "52000", now=EXPIRY.replace(hour=7))

    # Before its expiry nothing happens; after it, the next pass settles it at 52000: realized
    # 0.1 (52000 - 50010) = 199, no fee, margin and reservation freed:
    # 99986.9974 + 199 = 100185.9974, nothing locked.
    engine.advance_markets(now=EXPIRY.replace(hour=7, minute=59))
    assert held(future).position.size == Decimal("0.1")
    engine.advance_markets(now=EXPIRY.replace(minute=5))
    assert wallet("USDT") == (Decimal("100185.9974"), Decimal(0))
    position = held(future).position
    assert (position.size, position.margin, position.realized_pnl) == (0, 0, Decimal(199))
    resting.refresh_from_db()
    assert resting.status == "CANCELED"
    assert resting.message == "Canceled: the future expired at 2026-12-25 08:00 UTC"
    settled = PaperOrder.objects.get(message__startswith="Settlement")
    (trade,) = settled.trades.all()
    assert (settled.side, settled.status, trade.price, trade.amount, trade.fee) == (
        "SELL", "FILLED", Decimal(52000), Decimal("0.1"), Decimal(0)
    )  # fmt: skip
    assert trade.time == EXPIRY

    with pytest.raises(Rejected, match=r"BTCUSDT-261225 expired at 2026-12-25 08:00 UTC"):
        order(OrdSide.BUY, "0.1", "60000", future, at=EXPIRY.replace(minute=10))
    listed = {definition.symbol for definition in markets.listed(EXPIRY)}
    assert future not in listed and "BTCUSDT-270326" in listed
    # Settled once: a later pass finds nothing more to do.
    engine.advance_markets(now=EXPIRY.replace(hour=9))
    assert PaperOrder.objects.filter(message__startswith="Settlement").count() == 1
