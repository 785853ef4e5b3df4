"""Derivatives through the order services: a perpetual position opened on the paper exchange,
recorded by the sync with its stream event, reduce-only orders checked against it, and the
REDUCING state letting only reduce-only orders through on a derivative."""

import re
from datetime import date
from decimal import Decimal

import pytest

from accounts.models import AuditAction, AuditEvent, DeskMember, DeskRole
from accounts.services import account_link
from orders.funds import balance_available
from orders.instruments import coinapi_symbol, instrument_find, instruments_refresh
from orders.models import Order
from orders.services import (
    OrderInvalid,
    OrderTicket,
    order_route,
    order_submit,
    positions_flatten,
)
from orders.sync import account_sync
from positions.models import Position
from positions.services import LeverageInvalid, leverage_set
from risk.models import RiskLimits, TradingState
from risk.rules import rules_changed
from risk.services import trading_state_set
from stream.models import EventKind, StreamEvent
from tests.factories import UserFactory
from tests.web.conftest import client_for
from venues.base import OrdStatus as S
from venues.paper import engine

PERP = "PAPER_PERP_BTC_USDT"


@pytest.fixture
def account(db):
    instruments_refresh(venue="PAPER")
    engine.market_set_mid("BTCUSDT-PERP", Decimal("50000"))
    account, _ = account_link(exchange_id="PAPER/DERIV", parameters={})
    account_sync(account_id=account.pk)
    return account


def place(account, client_order_id: str, side: str, amount: str, price: str, **fields) -> Order:
    ticket = OrderTicket(
        client_order_id=client_order_id, symbol=PERP, side=side, amount=amount, price=price,
        time_in_force="IMMEDIATE_OR_CANCEL", **fields,
    )  # fmt: skip
    order = order_submit(account=account, ticket=ticket)
    order_route(order_id=order.pk)
    account_sync(account_id=account.pk)
    order.refresh_from_db()
    return order


def test_the_perpetuals_are_instruments_with_their_kind(account):
    linear = instrument_find(venue="PAPER", symbol="BTCUSDT-PERP")
    inverse = instrument_find(venue="PAPER", symbol="PAPER_PERP_BTC_USD")
    assert (linear.symbol_id_coinapi, linear.kind, linear.settlement_asset) == (
        PERP, "PERPETUAL", "USDT"
    )  # fmt: skip
    assert (inverse.symbol_id_exchange, inverse.inverse, inverse.settlement_asset) == (
        "XBTUSD", True, "BTC"
    )  # fmt: skip
    assert instrument_find(venue="PAPER", symbol="BTCUSD").kind == "SPOT"


def test_a_position_is_recorded_from_the_sync_and_streamed_and_reduce_only_guards_it(account):
    opened = place(account, "open-1", "BUY", "0.2", "50100")
    assert (opened.status, opened.amount_filled) == (S.FILLED, Decimal("0.2"))
    position = Position.objects.get(account=account, symbol_id_exchange="BTCUSDT-PERP")
    assert (position.side, position.size, position.entry_price) == ("BUY", Decimal("0.2"), 50010)
    assert position.symbol_id_coinapi == PERP
    assert StreamEvent.objects.filter(kind=EventKind.POSITION, ref_id=position.pk).exists()

    with pytest.raises(OrderInvalid) as flipping:
        place(account, "flip-1", "SELL", "0.3", "49900", exec_inst=("DO_NOT_INCREASE",))
    assert "would flip the position" in flipping.value.errors["amount_order"][0]
    with pytest.raises(OrderInvalid) as growing:
        place(account, "grow-1", "BUY", "0.1", "50100", exec_inst=("DO_NOT_INCREASE",))
    assert "would increase the position" in growing.value.errors["exec_inst"][0]
    assert not Order.objects.filter(client_order_id__in=["flip-1", "grow-1"]).exists()

    closed = place(account, "close-1", "SELL", "0.2", "49900", exec_inst=("DO_NOT_INCREASE",))
    assert (closed.status, closed.amount_filled) == (S.FILLED, Decimal("0.2"))
    position.refresh_from_db()
    assert position.size == 0 and position.side == "BUY"  # the side of the one closed
    # Opened and closed: two updates at least, the last one flat.
    assert StreamEvent.objects.filter(kind=EventKind.POSITION, ref_id=position.pk).count() >= 2


def test_reduce_only_on_spot_is_refused_naming_the_field(account):
    ticket = OrderTicket(
        client_order_id="spot-dni", symbol="BTCUSD", side="SELL", amount="0.1", price="50000",
        exec_inst=("DO_NOT_INCREASE",),
    )  # fmt: skip
    with pytest.raises(OrderInvalid) as refused:
        order_submit(account=account, ticket=ticket)
    assert "derivatives" in refused.value.errors["exec_inst"][0]


def test_margin_is_checked_in_the_settlement_asset(account):
    with pytest.raises(OrderInvalid) as refused:
        place(account, "big-1", "BUY", "3", "50100")  # 150,300 USDT at 1x: 100,000 held
    assert "USDT" in refused.value.errors["amount_order"][0]


def test_reducing_lets_only_reduce_only_orders_through_on_a_derivative(account):
    place(account, "open-2", "BUY", "0.2", "50100")
    admin = UserFactory(is_superuser=True, is_staff=True)
    trading_state_set(state=TradingState.REDUCING, user=admin, account=account)
    with pytest.raises(OrderInvalid) as refused:
        place(account, "more-2", "SELL", "0.1", "49900")
    assert "reduce-only" in refused.value.errors["exec_inst"][0]
    reduced = place(account, "less-2", "SELL", "0.1", "49900", exec_inst=("DO_NOT_INCREASE",))
    assert reduced.status == S.FILLED


def test_a_position_limit_counts_the_position_and_working_orders_and_spares_reduce_only(account):
    RiskLimits.objects.create(account=account, max_position_usd=Decimal(15000))
    rules_changed()
    place(account, "pos-1", "BUY", "0.2", "50100")  # reach 0.2 * 50100 = 10,020 USD
    with pytest.raises(OrderInvalid) as refused:
        place(account, "pos-2", "BUY", "0.1", "50100")  # 0.3 * 50100 = 15,030 USD
    assert "Max position per instrument" in refused.value.errors["amount_order"][0]
    place(account, "pos-3", "BUY", "0.09", "50100")  # 0.29 * 50100 = 14,529 USD: passes
    assert place(account, "pos-4", "SELL", "0.29", "49900", exec_inst=("DO_NOT_INCREASE",))


def flattened(account, **fields):
    report = positions_flatten(accounts=[account], **fields)
    for order in report.orders:
        order_route(order_id=order.pk)  # a worker's job: here, in the test's own process
    account_sync(account_id=account.pk)
    return report


def test_flatten_closes_every_position_with_reduce_only_ioc_orders_at_the_band(account):
    place(account, "long-1", "BUY", "0.2", "50100")
    engine.market_set_mid("XBTUSD", Decimal("50000"))
    xbt = instrument_find(venue="PAPER", symbol="XBTUSD")
    order_submit(
        account=account,
        ticket=OrderTicket(
            client_order_id="short-1", symbol=xbt.symbol_id_coinapi, side="SELL",
            amount="1000", price="49000", time_in_force="IMMEDIATE_OR_CANCEL",
        ),
    )  # fmt: skip
    order_route(order_id=Order.objects.get(client_order_id="short-1").pk)
    account_sync(account_id=account.pk)
    assert Position.objects.filter(account=account).exclude(size=0).count() == 2

    report = flattened(account)
    assert report.not_closed == []
    by_symbol = {order.instrument.symbol_id_exchange: order for order in report.orders}
    # No quote stored, so the venue's mark (50000) is the reference; 2 % with no band set.
    sell, buy = by_symbol["BTCUSDT-PERP"], by_symbol["XBTUSD"]
    assert (sell.side, sell.price, sell.amount_order) == ("SELL", Decimal(49000), Decimal("0.2"))
    assert (buy.side, buy.price, buy.amount_order) == ("BUY", Decimal(51000), Decimal(1000))
    assert all(o.exec_inst == ["DO_NOT_INCREASE"] for o in report.orders)
    assert all(o.time_in_force == "IMMEDIATE_OR_CANCEL" for o in report.orders)
    assert not Position.objects.filter(account=account).exclude(size=0).exists()
    assert AuditEvent.objects.filter(action=AuditAction.FLATTEN).count() == 1


def test_flatten_reports_what_it_could_not_close(account):
    place(account, "long-2", "BUY", "0.2", "50100")
    admin = UserFactory(is_superuser=True, is_staff=True)
    trading_state_set(state=TradingState.HALTED, user=admin, account=account)
    report = flattened(account)
    assert report.orders == []
    (line,) = report.not_closed
    assert line.startswith("PAPER/DERIV BTCUSDT-PERP: refused: Trading is halted")


def test_leverage_is_set_at_the_venue_recorded_and_audited(account):
    perp = instrument_find(venue="PAPER", symbol="BTCUSDT-PERP")
    row = leverage_set(account=account, instrument=perp, leverage="10", cross=True)
    assert (row.leverage, row.cross) == (Decimal(10), True)
    assert engine.positions_get("PAPER/DERIV")[0].position.leverage == 10
    assert AuditEvent.objects.get(action=AuditAction.LEVERAGE).detail["leverage"] == "10"
    opened = place(account, "lev-1", "BUY", "0.2", "50100")
    assert opened.status == S.FILLED
    # 0.2 * 50010 / 10 = 1000.2 of margin, not 10,002.
    assert Position.objects.get(account=account).margin == Decimal("1000.2")
    with pytest.raises(LeverageInvalid) as refused:
        leverage_set(account=account, instrument=perp, leverage="101", cross=True)
    assert "leverage" in refused.value.errors
    spot = instrument_find(venue="PAPER", symbol="BTCUSD")
    with pytest.raises(LeverageInvalid):
        leverage_set(account=account, instrument=spot, leverage="2", cross=False)


def test_a_desk_admin_sets_leverage_in_the_admin_through_the_same_service(account, admin_client):
    perp = instrument_find(venue="PAPER", symbol="BTCUSDT-PERP")
    response = admin_client.post(
        "/admin/positions/position/add/",
        {"account": account.pk, "instrument": perp.pk, "leverage": "20", "cross": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    row = Position.objects.get(account=account)
    assert (row.symbol_id_exchange, row.leverage, row.cross) == ("BTCUSDT-PERP", 20, True)
    assert engine.positions_get("PAPER/DERIV")[0].position.leverage == 20
    entry = AuditEvent.objects.get(action=AuditAction.LEVERAGE)
    assert (entry.target, entry.detail["margin"]) == ("PAPER/DERIV PAPER_PERP_BTC_USDT", "cross")

    admin_client.post(
        f"/admin/positions/position/{row.pk}/change/",
        {"account": account.pk, "leverage": "3"},
    )
    assert engine.positions_get("PAPER/DERIV")[0].position.leverage == 3
    assert engine.positions_get("PAPER/DERIV")[0].position.cross is False


def test_a_derivative_order_not_yet_read_back_holds_its_margin_of_the_settlement_asset(account):
    perp = instrument_find(venue="PAPER", symbol="BTCUSDT-PERP")
    leverage_set(account=account, instrument=perp, leverage="10", cross=False)
    ticket = OrderTicket(
        client_order_id="held-1", symbol=PERP, side="BUY", amount="0.2", price="49000"
    )
    order_submit(account=account, ticket=ticket)  # RECEIVED: the venue's figure lacks it
    # 0.2 * 49000 / 10 = 980 USDT held; nothing of BTC or USD.
    assert balance_available(account=account, asset="USDT") == Decimal(99020)
    assert balance_available(account=account, asset="BTC") == Decimal(2)
    assert balance_available(account=account, asset="USD") == Decimal(100000)
    reducing = OrderTicket(
        client_order_id="held-2", symbol=PERP, side="SELL", amount="0.1", price="51000",
        exec_inst=("DO_NOT_INCREASE",),
    )  # fmt: skip
    place(account, "held-long", "BUY", "0.1", "50100")
    order_submit(account=account, ticket=reducing)
    assert Order.objects.get(client_order_id="held-2").status == S.RECEIVED
    # The long's margin is in the venue's figure now: 0.1 * 50010 / 10 = 500.1 and its fee
    # 13.0026; the resting BUY still holds 980; the reduce-only SELL holds nothing.
    assert balance_available(account=account, asset="USDT") == Decimal("98506.8974")


def test_symbol_ids_name_the_kind_and_a_futures_expiry():
    assert coinapi_symbol("PAPER", "BTC", "USD") == "PAPER_SPOT_BTC_USD"
    assert coinapi_symbol("BITMEX", "BTC", "USD", "PERPETUAL") == "BITMEX_PERP_BTC_USD"
    future = coinapi_symbol("DERIBIT", "BTC", "USD", "FUTURE", date(2026, 12, 25))
    assert future == "DERIBIT_FTS_BTC_USD_261225"


def test_the_ticket_shows_the_margin_asset_and_the_value_of_an_inverse_order(account):
    admin = UserFactory(username="desk-admin")
    DeskMember.objects.create(user=admin, role=DeskRole.ADMIN)
    form = {
        "account": account.pk, "symbol": "PAPER_PERP_BTC_USD", "side": "BUY", "amount": "1000",
        "price": "50000", "time_in_force": "GOOD_TILL_CANCEL", "client_order_id": "t-1",
    }  # fmt: skip
    content = client_for(admin).post("/orders/ticket/check/", form).content.decode()
    assert re.search(r"<dt>Available BTC</dt><dd[^>]*>2</dd>", content)
    # 1000 contracts of 1 USD at 50000: 0.02 BTC.
    assert re.search(r"<dt>Notional</dt><dd[^>]*>0.02000000 BTC</dd>", content)


def test_the_overview_flags_a_position_within_the_desks_liquidation_threshold(account):
    admin = UserFactory(username="desk-admin-2")
    DeskMember.objects.create(user=admin, role=DeskRole.ADMIN)
    place(account, "near-1", "BUY", "0.2", "50100")
    Position.objects.filter(account=account).update(
        mark_price=Decimal(50000), liquidation_price=Decimal(46000)
    )  # 8 % away
    overview = client_for(admin).get("/").content.decode()
    assert "8.00%" in overview and "Near liquidation" in overview  # within the default 10 %
    RiskLimits.objects.create(liquidation_alert_percent=Decimal(5))
    overview = client_for(admin).get("/").content.decode()
    assert "8.00%" in overview and "Near liquidation" not in overview
    # PnL in USD and the desk's total: 0.2 * (50000 - 50010) = -2 USDT at 1 USD.
    assert re.search(r'id="positions-pnl">-2.00 USD<', overview)


def test_only_the_working_reduce_only_orders_of_the_side_count_against_the_position(account):
    place(account, "long-5", "BUY", "0.2", "50100")  # long 0.2
    resting = {"time_in_force": "GOOD_TILL_CANCEL"}
    for client_order_id, amount, exec_inst in (
        ("rest-reduce-5", "0.15", ("DO_NOT_INCREASE",)),
        ("rest-plain-5", "0.1", ()),
        ("rest-both-5", "0.01", ("MAKER_OR_CANCEL", "DO_NOT_INCREASE")),
    ):
        ticket = OrderTicket(
            client_order_id=client_order_id, symbol=PERP, side="SELL", amount=amount,
            price="60000", exec_inst=exec_inst, **resting,
        )  # fmt: skip
        order_submit(account=account, ticket=ticket)  # RECEIVED: working, never routed
    flip = OrderTicket(
        client_order_id="flip-5", symbol=PERP, side="SELL", amount="0.05", price="60000",
        exec_inst=("DO_NOT_INCREASE",), **resting,
    )  # fmt: skip
    with pytest.raises(OrderInvalid) as flipping:
        order_submit(account=account, ticket=flip)  # 0.05 + 0.16 > 0.2; the plain 0.1 aside
    assert "0.16 already in working reduce-only orders" in flipping.value.errors["amount_order"][0]
    fits = OrderTicket(
        client_order_id="fits-5", symbol=PERP, side="SELL", amount="0.04", price="60000",
        exec_inst=("DO_NOT_INCREASE",), **resting,
    )  # fmt: skip
    assert order_submit(account=account, ticket=fits).status == S.RECEIVED
