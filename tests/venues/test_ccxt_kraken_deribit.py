"""Kraken Futures and Deribit beyond the shared suites (test_exchanges, test_ccxt_derivatives):
which of their contracts load and how they are named, Kraken's isolated leverage, and Deribit's
inverse contracts, whose amounts are USD in lots of one 10 USD contract (requests captured)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from accounts.services import account_link
from orders.instruments import instruments_refresh
from orders.models import Instrument
from positions.models import Position
from positions.services import LeverageInvalid, leverage_set
from tests.venues.scripts.deribit import API as DERIBIT_API
from tests.venues.scripts.deribit import Deribit, deribit_order, deribit_position, rpc
from tests.venues.scripts.krakenfutures import KrakenFts
from tests.venues.test_exchanges import ORDER, creates, intent, make_venue
from venues.base import InstrumentKind, OrdSide, OrdStatus
from venues.errors import Rejected

D = Decimal


@pytest.fixture
def kraken(fake):
    script = KrakenFts()
    script.markets(fake)
    return script, make_venue(script)


@pytest.fixture
def deribit(fake):
    script = Deribit()
    script.markets(fake)
    return script, make_venue(script)


# --- Kraken Futures -------------------------------------------------------------------------


def test_kraken_futures_loads_its_multi_collateral_contracts_not_the_inverse_ones(kraken):
    script, venue = kraken
    specs = {spec.symbol_id_exchange: spec for spec in venue.instruments()}
    assert set(specs) == {"PF_XBTUSD", "FF_XBTUSD_261225"}
    assert not set(script.inverse_symbols) & set(specs)
    assert not any(spec.inverse for spec in specs.values())
    assert {spec.settlement_asset for spec in specs.values()} == {"USD"}


def test_an_order_on_a_kraken_inverse_contract_is_refused_before_sending(kraken, fake):
    script, venue = kraken
    with pytest.raises(Rejected, match="no derivatives market PI_XBTUSD"):
        venue.submit(intent(script, symbol_id_exchange="PI_XBTUSD"))
    assert creates(script, fake) == []


def test_kraken_futures_isolated_leverage_is_the_contracts_max_leverage(kraken, fake):
    script, venue = kraken
    script.leverage_set(fake)
    venue.leverage_set("PF_XBTUSD", D(20), False)
    assert script.leverage_sent(fake) == {"symbol": "PF_XBTUSD", "maxLeverage": "20"}


def test_kraken_futures_orders_are_reported_with_the_limit_price_ccxt_leaves_out(kraken, fake):
    script, venue = kraken
    client_id = venue.client_order_id_for(ORDER)
    script.open_orders(fake, client_id=client_id)
    script.found(fake, client_id=client_id, status="filled", filled="0.01")
    [working] = venue.open_orders()
    found = venue.lookup(ORDER, script.symbol)
    assert working.price == found.price == D(50000)
    assert (found.status, found.avg_px) == (OrdStatus.FILLED, D(0))  # the fills carry the prices
    assert {fill.price for fill in found.fills} == {D(50000)}


def test_kraken_futures_sends_no_fill_or_kill(kraken, fake):
    script, venue = kraken
    with pytest.raises(Rejected, match="FILL_OR_KILL"):
        venue.submit(intent(script, time_in_force="FILL_OR_KILL"))
    assert creates(script, fake) == []


# --- Deribit --------------------------------------------------------------------------------


def test_deribit_inverse_contracts_load_in_usd_with_the_10_usd_contract_as_lot(deribit, settings):
    settings.EMSWEB_DERIVATIVES_ASSETS = ["BTC"]
    _, venue = deribit
    specs = {spec.symbol_id_exchange: spec for spec in venue.instruments()}
    assert set(specs) == {"BTC_USDC-PERPETUAL", "BTC-PERPETUAL", "BTC-27DEC26"}  # no option
    perpetual, future = specs["BTC-PERPETUAL"], specs["BTC-27DEC26"]
    assert perpetual.kind == InstrumentKind.PERPETUAL and perpetual.expiry is None
    assert future.kind == InstrumentKind.FUTURE and future.expiry == date(2026, 12, 27)
    for spec in (perpetual, future):
        assert spec.inverse and (spec.base, spec.quote, spec.settlement_asset) == (
            "BTC",
            "USD",
            "BTC",
        )
        assert (spec.contract_size, spec.lot_size, spec.min_amount) == (D(1), D(10), D(10))
    assert (perpetual.tick_size, future.tick_size) == (D("0.5"), D("2.5"))
    linear = specs["BTC_USDC-PERPETUAL"]
    assert not linear.inverse and linear.contract_size == D(1) and linear.lot_size == D("0.0001")


def test_deribit_reduce_only_on_the_inverse_perpetual_sends_usd_in_whole_contracts(deribit, fake):
    script, venue = deribit
    client_id = venue.client_order_id_for(ORDER)
    placed = deribit_order(
        client_id,
        "open",
        "0",
        order_id="29834562913",
        instrument_name="BTC-PERPETUAL",
        direction="sell",
        amount=100.0,
        reduce_only=True,
    )
    fake.on("GET", f"{DERIBIT_API}/private/sell", rpc({"trades": [], "order": placed}))

    report = venue.submit(
        intent(
            script,
            symbol_id_exchange="BTC-PERPETUAL",
            side=OrdSide.SELL,
            amount=D("105"),
            reduce_only=True,
        )
    )

    [sent] = creates(script, fake)
    assert sent.path == f"{DERIBIT_API}/private/sell"
    assert sent.query["instrument_name"] == "BTC-PERPETUAL"
    assert sent.query["amount"] == "100"  # down to whole 10 USD contracts
    assert sent.query["reduce_only"] == "true" and sent.query["label"] == client_id
    assert (report.exchange_order_id, report.amount, report.status) == (
        "29834562913",
        D(100),
        OrdStatus.NEW,
    )


def test_a_deribit_inverse_position_is_in_usd_settled_in_btc_and_cross(deribit, fake):
    _, venue = deribit
    fake.on(
        "GET",
        f"{DERIBIT_API}/private/get_positions",
        rpc([deribit_position("BTC-PERPETUAL", "-100", size_currency=-0.002, leverage=50)]),
    )
    [position] = venue.positions()
    assert (position.symbol_id_exchange, position.size) == ("BTC-PERPETUAL", D(-100))
    assert (position.settlement_asset, position.cross, position.leverage) == ("BTC", True, D(50))
    assert position.liquidation_price == D("54487.7")


def test_a_deribit_lookup_asks_the_contracts_settlement_currency(deribit, fake):
    script, venue = deribit
    fake.on("GET", f"{DERIBIT_API}/private/get_order_state_by_label", rpc([]))
    assert venue.lookup(ORDER, "BTC-PERPETUAL") is None
    [looked] = fake.requests_to(f"{DERIBIT_API}/private/get_order_state_by_label", "GET")
    assert looked.query == {"currency": "BTC", "label": venue.client_order_id_for(ORDER)}


@pytest.mark.django_db
def test_a_deribit_leverage_change_from_the_desk_is_refused_naming_the_field(fake):
    script = Deribit()
    script.markets(fake)
    account, _ = account_link(exchange_id="DERIBIT/DESK", parameters=script.credentials)
    instruments_refresh(venue="DERIBIT")
    perpetual = Instrument.objects.get(venue="DERIBIT", symbol_id_exchange="BTC-PERPETUAL")
    sent_before = len(fake.sent)

    with pytest.raises(LeverageInvalid) as refused:
        leverage_set(account=account, instrument=perpetual, leverage="10", cross=True)

    assert "no leverage to set" in refused.value.errors["leverage"][0]
    assert len(fake.sent) == sent_before
    assert not Position.objects.filter(account=account).exists()
