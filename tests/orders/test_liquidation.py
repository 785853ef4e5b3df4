"""What the desk sees of a derivative position's life beyond its own orders: a liquidation on the
paper exchange arrives as the venue's order and trade, adopted by the sync (history, fills,
stream) with the account's alert naming the position, counted once; the router records the
positions as soon as a fill comes back, with no sync; an expired future is refused at submit.
Figures as in tests/paper/test_settlement.py (taker fee 0.26 %, maintenance 0.5 %)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import AlertKind, Balance, ExchangeAccount
from accounts.services import account_link
from orders import gate
from orders.instruments import instrument_find, instruments_refresh
from orders.models import Fill, Instrument, Order
from orders.services import OrderInvalid, OrderTicket, order_route, order_submit
from orders.sync import account_sync
from positions import services as positions_services
from positions.models import Position
from positions.services import leverage_set
from stream.models import EventKind, StreamEvent
from venues.base import OrderIntent, TimeInForce
from venues.base import OrdStatus as S
from venues.paper import engine
from venues.paper.markets import MARKETS, next_quarterly_expiry

PERP = "PAPER_PERP_BTC_USDT"


@pytest.fixture
def account(db):
    instruments_refresh(venue="PAPER")
    engine.market_set_mid("BTCUSDT-PERP", Decimal("50000"))
    account, _ = account_link(exchange_id="PAPER/LIQ", parameters={})
    account_sync(account_id=account.pk)
    return account


def routed(account, client_order_id, side, amount, price, symbol=PERP) -> Order:
    """Submitted and routed, with no sync after."""
    ticket = OrderTicket(
        client_order_id=client_order_id, symbol=symbol, side=side, amount=amount, price=price,
        time_in_force="IMMEDIATE_OR_CANCEL",
    )  # fmt: skip
    order = order_submit(account=account, ticket=ticket)
    order_route(order_id=order.pk)
    order.refresh_from_db()
    return order


def test_the_router_records_the_position_as_soon_as_the_fill_comes_back(account):
    events = StreamEvent.objects.filter(kind=EventKind.POSITION)
    before = events.count()
    opened = routed(account, "prompt-1", "BUY", "0.2", "50100")
    assert (opened.status, opened.amount_filled) == (S.FILLED, Decimal("0.2"))
    # No sync has run: the router read the positions itself, then the balances they moved.
    position = Position.objects.get(account=account, symbol_id_exchange="BTCUSDT-PERP")
    assert (position.size, position.entry_price, position.margin) == (
        Decimal("0.2"), Decimal(50010), Decimal(10002)  # 0.2 * 50010 at 1x
    )  # fmt: skip
    assert events.count() == before + 1 and events.latest("id").ref_id == position.pk
    usdt = Balance.objects.get(account=account, asset_id_exchange="USDT")
    # 100000 - the fee 10002 * 0.0026 = 26.0052; the margin locked.
    assert (usdt.balance, usdt.locked) == (Decimal("99973.9948"), Decimal(10002))


def test_a_liquidation_shows_as_the_venues_order_and_fill_and_raises_the_alert(
    account, monkeypatch
):
    raised = []  # every alert raised, each still raised for real
    real = positions_services.account_alert_raise
    monkeypatch.setattr(
        positions_services,
        "account_alert_raise",
        lambda **alert: (raised.append(alert), real(**alert)),
    )
    perp = instrument_find(venue="PAPER", symbol="BTCUSDT-PERP")
    leverage_set(account=account, instrument=perp, leverage="10", cross=False)
    routed(account, "lev-open", "BUY", "0.2", "50100")  # margin 1000.2, fee 26.0052
    account_sync(account_id=account.pk)

    # At 45200 the long is liquidated (equity 1000.2 - 962 = 38.2 < maintenance 45.2): the
    # exchange sells 0.2 at the mark, its fee the 38.2 left.
    engine.market_set_mid("BTCUSDT-PERP", Decimal(45200))
    account_sync(account_id=account.pk)

    liquidation = Order.objects.get(account=account, origin="EXTERNAL")
    assert (liquidation.side, liquidation.status, liquidation.amount_filled) == (
        "SELL", S.FILLED, Decimal("0.2")
    )  # fmt: skip
    assert liquidation.avg_px == Decimal(45200)
    assert liquidation.instrument.symbol_id_coinapi == PERP
    assert liquidation.events.filter(note__startswith="Liquidation").exists()
    (fill,) = liquidation.fills.all()
    assert (fill.price, fill.amount, fill.fee) == (Decimal(45200), Decimal("0.2"), Decimal("38.2"))
    assert StreamEvent.objects.filter(kind=EventKind.ORDER, ref_id=liquidation.pk).exists()

    position = Position.objects.get(account=account, symbol_id_exchange="BTCUSDT-PERP")
    assert position.size == 0 and position.liquidated_at is not None
    assert position.realized_pnl == Decimal(-962)  # 0.2 (45200 - 50010)
    flagged = ExchangeAccount.objects.get(pk=account.pk)
    assert flagged.alert_kind == AlertKind.LIQUIDATION
    assert "PAPER_PERP_BTC_USDT (last seen long 0.2) was liquidated" in flagged.alert
    assert len(raised) == 1
    usdt = Balance.objects.get(account=account, asset_id_exchange="USDT")
    # 100000 - 26.0052 - 962 - 38.2: the isolated margin 1000.2 lost whole.
    assert (usdt.balance, usdt.locked) == (Decimal("98973.7948"), Decimal(0))

    # Synced again: nothing counted twice, the alert not raised again.
    account_sync(account_id=account.pk)
    account_sync(account_id=account.pk)
    assert Order.objects.filter(account=account, origin="EXTERNAL").count() == 1
    assert Fill.objects.filter(order__account=account).count() == 2  # the open, the liquidation
    assert len(raised) == 1


def test_the_futures_are_instruments_named_with_their_expiry(account):
    expiry = next_quarterly_expiry(timezone.now())
    futures = Instrument.objects.filter(venue="PAPER", kind="FUTURE", active=True)
    assert {(f.symbol_id_coinapi, f.inverse, f.expiry) for f in futures} == {
        (f"PAPER_FTS_BTC_USDT_{expiry:%y%m%d}", False, expiry),
        (f"PAPER_FTS_BTC_USD_{expiry:%y%m%d}", True, expiry),
    }


def test_an_expired_future_is_refused_at_submit_naming_its_expiry(account):
    future = Instrument.objects.filter(venue="PAPER", kind="FUTURE").first()
    yesterday = timezone.now().date() - timedelta(days=1)
    Instrument.objects.filter(pk=future.pk).update(expiry=yesterday)
    ticket = OrderTicket(
        client_order_id="late-1", symbol=future.symbol_id_coinapi, side="BUY", amount="0.1",
        price="50000",
    )  # fmt: skip
    with pytest.raises(OrderInvalid) as refused:
        order_submit(account=account, ticket=ticket)
    assert f"expired on {yesterday}" in refused.value.errors["symbol_id_exchange"][0]


def test_a_future_settled_at_expiry_shows_as_the_venues_order_even_once_unlisted(account):
    expiry = next_quarterly_expiry(timezone.now())
    future = Instrument.objects.get(symbol_id_coinapi=f"PAPER_FTS_BTC_USDT_{expiry:%y%m%d}")
    engine.market_set_mid(future.symbol_id_exchange, Decimal(50000))
    # BUY 0.1 at the best ask 50010 (1x): fee 5001 * 0.0026 = 13.0026, margin 5001.
    opened = routed(account, "fts-1", "BUY", "0.1", "50100", symbol=future.symbol_id_coinapi)
    assert opened.status == S.FILLED
    account_sync(account_id=account.pk)

    # The exchange's pass after the expiry settles it at the mark, 52000; the refresh of the
    # instruments then unlists it, before the sync reads what happened.
    engine.market_set_mid(future.symbol_id_exchange, Decimal(52000))
    engine.advance_markets(now=MARKETS[future.symbol_id_exchange].expires_at + timedelta(minutes=5))
    Instrument.objects.filter(pk=future.pk).update(active=False)
    account_sync(account_id=account.pk)

    settled = Order.objects.get(account=account, origin="EXTERNAL")
    assert (settled.instrument_id, settled.side, settled.status) == (future.pk, "SELL", S.FILLED)
    (fill,) = settled.fills.all()
    assert (fill.price, fill.amount, fill.fee) == (Decimal(52000), Decimal("0.1"), Decimal(0))
    position = Position.objects.get(account=account, symbol_id_exchange=future.symbol_id_exchange)
    assert (position.size, position.realized_pnl) == (0, Decimal(199))  # 0.1 (52000 - 50010)
    usdt = Balance.objects.get(account=account, asset_id_exchange="USDT")
    assert (usdt.balance, usdt.locked) == (Decimal("100185.9974"), Decimal(0))  # - 13.0026 + 199


def test_a_sync_is_not_skipped_while_the_router_reads_positions_it_waits_its_turn(
    account, monkeypatch
):
    monkeypatch.setattr(gate, "RECORDS_WAIT_SECONDS", 0.2)
    engine.order_submit(
        "PAPER/LIQ",
        OrderIntent(
            client_order_id="by-hand-perp", symbol_id_exchange="BTCUSDT-PERP", side="BUY",
            amount=Decimal("0.1"), price=Decimal(50100),
            time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL,
        ),
    )  # fmt: skip
    with gate.records_lock(account.pk) as held:  # as the router holds it while it reads
        assert held
        assert account_sync(account_id=account.pk)  # ran: the order and its fill are adopted
        assert Order.objects.get(client_order_id="by-hand-perp").status == S.FILLED
        # Its positions were not read: the other read holds them past the wait.
        assert not Position.objects.filter(account=account).exists()
    account_sync(account_id=account.pk)
    assert Position.objects.get(account=account).size == Decimal("0.1")
