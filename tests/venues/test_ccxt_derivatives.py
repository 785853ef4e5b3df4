"""Derivatives venues through ccxt's real code, their HTTP answered with documented shapes.

Per venue: contracts load as instruments with their contract size and expiry, named
<VENUE>_PERP_... and <VENUE>_FTS_..._YYMMDD, only on the assets the desk trades; DO_NOT_INCREASE
is the exchange's reduce-only flag; positions come from the exchange's positions call; leverage
and margin mode go through its own calls; a 5xx on create stays unknown until a lookup by client
order id resolves it, with one create ever (all asserted on the captured requests).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from orders.instruments import instruments_refresh
from orders.models import Instrument
from tests.api.conftest import api, trader  # noqa: F401
from tests.venues.scripts.binance import Binance
from tests.venues.scripts.binance_usdm import BinanceFts
from tests.venues.scripts.bybit import Bybit
from tests.venues.scripts.deribit import Deribit
from tests.venues.scripts.krakenfutures import KrakenFts
from tests.venues.scripts.okx import Okx
from tests.venues.test_exchanges import ORDER, creates, intent, make_venue
from venues.base import InstrumentKind, OrdStatus
from venues.ccxt.adapter import CcxtVenue
from venues.errors import OutcomeUnknown, Rejected
from venues.registry import CATALOG

D = Decimal
SCRIPTS = [BinanceFts, Bybit, Okx, KrakenFts, Deribit]


@pytest.fixture(params=SCRIPTS, ids=lambda script: script.code)
def script(request):
    return request.param()


@pytest.fixture
def venue(script, fake):
    script.markets(fake)
    return make_venue(script)


def test_each_venue_is_in_the_catalog_with_its_required_parameters(script):
    info = CATALOG[script.code]
    assert set(info.required_parameters) == set(script.credentials)
    assert info.adapter == "venues.ccxt.derivatives.CcxtDerivativesVenue"


@pytest.mark.django_db
def test_get_exchanges_lists_each_venue_with_its_required_parameters(api):  # noqa: F811
    answer = api.get("/v1/exchanges")
    assert answer.status_code == 200
    listed = {item["exchange_id"]: item["required_parameters"] for item in answer.json()}
    for script in SCRIPTS:
        assert listed[script.code] == sorted(script.credentials)


# --- instruments ------------------------------------------------------------------------------


def test_perpetuals_and_futures_load_with_contract_size_settlement_and_expiry(script, venue):
    specs = {spec.symbol_id_exchange: spec for spec in venue.instruments()}
    perpetual = specs[script.symbol]
    assert perpetual.kind == InstrumentKind.PERPETUAL and perpetual.expiry is None
    contracts = [perpetual]
    if script.future_symbol:  # a venue that lists futures too
        future = specs[script.future_symbol]
        assert future.kind == InstrumentKind.FUTURE
        assert future.expiry.strftime("%y%m%d") == script.future_coinapi[-6:]
        contracts.append(future)
    for spec in contracts:
        assert (spec.base, spec.quote) == (script.base, script.quote)
        assert spec.contract_size == script.contract_size
        assert spec.settlement_asset == script.settlement
        assert (spec.tick_size, spec.lot_size) == (script.tick, script.lot)


def test_contracts_on_assets_the_desk_does_not_trade_are_not_loaded(script, venue, settings):
    settings.EMSWEB_DERIVATIVES_ASSETS = ["BTC"]
    assert script.other_asset_symbol not in {s.symbol_id_exchange for s in venue.instruments()}
    settings.EMSWEB_DERIVATIVES_ASSETS = ["*"]
    assert script.other_asset_symbol in {s.symbol_id_exchange for s in venue.instruments()}


def test_two_contracts_of_one_name_load_once(script, venue, monkeypatch):
    # Kraken Futures lists a linear and an inverse BTC/USD perpetual: one contract name each.
    [spec] = [s for s in venue.instruments() if s.symbol_id_exchange == script.symbol]
    twin = replace(spec, symbol_id_exchange="ZZ_" + spec.symbol_id_exchange, inverse=True)
    monkeypatch.setattr(CcxtVenue, "instruments", lambda self: [twin, spec])
    assert venue.instruments() == [spec]


@pytest.mark.django_db
def test_instruments_are_named_perp_and_fts_with_the_expiry(script, fake, settings):
    settings.EMSWEB_DERIVATIVES_ASSETS = ["BTC", "ETH"]
    script.markets(fake)
    expected = {script.symbol: script.perpetual_coinapi}
    if script.future_symbol:
        expected[script.future_symbol] = script.future_coinapi
    expected.update(script.other_names)
    assert instruments_refresh(venue=script.code) == len(expected)
    names = dict(
        Instrument.objects.filter(venue=script.code).values_list(
            "symbol_id_exchange", "symbol_id_coinapi"
        )
    )
    assert names == expected


# --- orders -----------------------------------------------------------------------------------


@pytest.mark.fault(19, "create captured at the HTTP edge, per exchange")
def test_do_not_increase_is_sent_as_the_exchanges_reduce_only_flag(script, venue, fake):
    client_id = venue.client_order_id_for(ORDER)
    script.created(fake, client_id=client_id)

    report = venue.submit(intent(script, reduce_only=True))

    [sent] = creates(script, fake)
    assert script.reduce_only_sent(sent)
    assert script.client_id_sent(sent) == client_id
    assert report.exchange_order_id == script.exchange_order_id


def test_an_order_without_do_not_increase_is_not_reduce_only(script, venue, fake):
    script.created(fake, client_id=venue.client_order_id_for(ORDER))
    venue.submit(intent(script))
    [sent] = creates(script, fake)
    assert not script.reduce_only_sent(sent)


def test_do_not_increase_on_a_spot_venue_is_refused_before_sending(fake):
    spot = Binance()
    spot.markets(fake)
    with pytest.raises(Rejected, match="reduce-only"):
        make_venue(spot).submit(intent(spot, reduce_only=True))
    assert creates(spot, fake) == []


def test_a_5xx_on_create_stays_unknown_then_resolves_by_lookup_with_one_create(script, venue, fake):
    client_id = venue.client_order_id_for(ORDER)
    status, body = script.server_error
    fake.on(*script.create, body, status=status)

    with pytest.raises(OutcomeUnknown):
        venue.submit(intent(script, reduce_only=True))

    script.found(fake, client_id=client_id, status="open", filled="0")
    found = venue.lookup(ORDER, script.symbol)
    assert found is not None and found.status == OrdStatus.NEW
    assert found.exchange_order_id == script.exchange_order_id
    assert found.client_order_id_format_exchange == client_id
    assert len(creates(script, fake)) == 1  # one create request, ever
    script.assert_lookup_requests(fake, client_id)


# --- positions and leverage -------------------------------------------------------------------


def test_positions_come_from_the_exchanges_positions_call_signed(script, venue, fake):
    expected = script.positions(fake)
    positions = venue.positions()
    got = [
        (
            p.symbol_id_exchange,
            p.size,
            p.entry_price,
            p.mark_price,
            p.leverage,
            p.cross,
            p.liquidation_price,
        )
        for p in positions
    ]
    assert sorted(got) == sorted(expected)
    assert all(p.settlement_asset == script.settlement for p in positions)
    assert script.positions_requests(fake)


def test_leverage_and_margin_mode_are_set_through_the_exchanges_own_calls(script, venue, fake):
    if script.no_leverage:
        pytest.skip("no leverage call: refused before sending (below)")
    script.leverage_set(fake)
    venue.leverage_set(script.symbol, D("20.00"), True)
    assert script.leverage_sent(fake) == script.leverage_expected


def test_fractional_leverage_is_refused_before_sending(script, venue, fake):
    with pytest.raises(Rejected, match=script.no_leverage or "whole leverage"):
        venue.leverage_set(script.symbol, D("2.5"), False)
    assert not [request for request in fake.sent if request.method in ("POST", "PUT")]


def test_a_leverage_change_where_the_exchange_sets_none_is_refused_before_sending(
    script, venue, fake
):
    if not script.no_leverage:
        pytest.skip("the exchange sets leverage per contract")
    sent_before = len(fake.sent)
    with pytest.raises(Rejected, match=script.no_leverage):
        venue.leverage_set(script.symbol, D(20), True)
    assert len(fake.sent) == sent_before  # nothing asked, nothing sent


def test_a_symbol_the_venue_does_not_trade_is_refused_before_sending(script, venue, fake):
    with pytest.raises(Rejected, match="no derivatives market"):
        venue.submit(intent(script, symbol_id_exchange="NOSUCHCONTRACT"))
    assert creates(script, fake) == []
