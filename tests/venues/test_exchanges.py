"""Each exchange through ccxt's real code, its HTTP answered with documented shapes.

The same behaviour for every exchange: an order reaches it with our client order id in the
exchange's own field, amounts rounded toward the safe side and sent as decimal strings; look-ups
by client order id use the exchange's own query; each refusal is Rejected, a failure that may
have reached the exchange is an unknown outcome, and an unknown outcome is resolved by a look-up,
never by a second create (asserted on the captured requests).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import ccxt
import pytest

from accounts.credentials import Credentials
from tests.venues.fake_http import dropped, read_timeout, refused
from tests.venues.scripts.binance import Binance
from tests.venues.scripts.binance_usdm import BinanceFts
from tests.venues.scripts.bitstamp import Bitstamp
from tests.venues.scripts.bybit import Bybit
from tests.venues.scripts.coinbase_advanced import CoinbaseAdvanced
from tests.venues.scripts.coinbase_exchange import CoinbaseExchange
from tests.venues.scripts.deribit import Deribit
from tests.venues.scripts.gemini import Gemini
from tests.venues.scripts.kraken import Kraken
from tests.venues.scripts.krakenfutures import KrakenFts
from tests.venues.scripts.okx import Okx
from venues.base import OrderIntent, OrderRef, OrdSide, OrdStatus, TimeInForce
from venues.errors import OutcomeUnknown, Rejected, Unreachable
from venues.registry import adapter_class

D = Decimal
S = OrdStatus
ORDER = "desk-order-0001"
SCRIPTS = [
    Kraken,
    Binance,
    CoinbaseExchange,
    CoinbaseAdvanced,
    Gemini,
    Bitstamp,
    BinanceFts,
    Bybit,
    Okx,
    KrakenFts,
    Deribit,
]


@pytest.fixture(params=SCRIPTS, ids=lambda script: script.code)
def script(request):
    return request.param()


@pytest.fixture
def venue(script, fake):
    script.markets(fake)
    return make_venue(script)


def make_venue(script):
    return adapter_class(script.code)(
        account_key=f"{script.code}/DESK",
        credentials=Credentials(script.credentials),
        sandbox=False,
    )


def intent(script, **fields) -> OrderIntent:
    values = {
        "client_order_id": ORDER,
        "symbol_id_exchange": script.symbol,
        "side": OrdSide.BUY,
        "amount": D("0.01"),
        "price": D("50000"),
        "time_in_force": TimeInForce.GOOD_TILL_CANCEL,
    }
    return OrderIntent(**{**values, **fields})


def creates(script, fake):
    method, path = script.create
    return fake.requests_to(path, method)


# --- placing ----------------------------------------------------------------------------------


@pytest.mark.fault(19, "create captured at the HTTP edge, per exchange")
def test_an_order_reaches_the_exchange_with_our_client_order_id_in_its_own_field(
    script, venue, fake
):
    client_id = venue.client_order_id_for(ORDER)
    script.created(fake, client_id=client_id)

    report = venue.submit(intent(script))

    [sent] = creates(script, fake)
    assert script.client_id_sent(sent) == client_id
    assert report.client_order_id == ORDER
    assert report.client_order_id_format_exchange == client_id
    assert report.exchange_order_id == script.exchange_order_id
    assert report.status in (S.NEW, S.PARTIALLY_FILLED, S.FILLED)
    assert (report.side, report.symbol_id_exchange) == (OrdSide.BUY, script.symbol)


def test_an_id_the_exchange_cannot_take_is_sent_as_a_uuid_derived_from_it(script, venue, fake):
    ours = "desk/" + "x" * 60 + "/é"
    client_id = venue.client_order_id_for(ours)
    assert client_id == venue.client_order_id_for(ours) != ours  # deterministic
    script.created(fake, client_id=client_id)

    report = venue.submit(intent(script, client_order_id=ours))

    [sent] = creates(script, fake)
    assert script.client_id_sent(sent) == client_id == report.client_order_id_format_exchange
    assert report.client_order_id == ours


@pytest.mark.parametrize("side", [OrdSide.BUY, OrdSide.SELL])
def test_price_and_amount_are_rounded_toward_the_safe_side_and_sent_as_decimal_strings(
    script, venue, fake, side
):
    script.created(fake, client_id=venue.client_order_id_for(ORDER))
    off_tick = D("50000") + script.tick * D("0.37")
    amount = D("0.01") + script.lot * D("0.9")

    venue.submit(intent(script, side=side, price=off_tick, amount=amount))

    [sent] = creates(script, fake)
    sent_amount, sent_price = script.amount_and_price_sent(sent)
    assert D(sent_amount) == D("0.01")  # down to the lot: never more than asked
    expected = D("50000") if side == OrdSide.BUY else D("50000") + script.tick
    assert D(sent_price) == expected  # a BUY never pays more, a SELL never receives less
    assert "e" not in sent_amount.lower() and "e" not in sent_price.lower()


def test_an_order_below_the_minimum_is_refused_before_sending(script, venue, fake):
    with pytest.raises(Rejected, match="below the minimum"):
        venue.submit(intent(script, amount=script.min_amount / 2))
    assert creates(script, fake) == []


def test_an_unknown_symbol_is_refused_before_sending(script, venue, fake):
    with pytest.raises(Rejected, match="no (spot|derivatives) market"):
        venue.submit(intent(script, symbol_id_exchange="NOSUCHPAIR"))
    assert creates(script, fake) == []


@pytest.mark.parametrize(
    "time_in_force",
    ["GOOD_TILL_CANCEL", "IMMEDIATE_OR_CANCEL", "FILL_OR_KILL", "GOOD_TILL_TIME_EXCHANGE"],
)
def test_time_in_force_is_sent_the_exchanges_way_or_refused_before_sending(
    script, venue, fake, time_in_force
):
    expected = script.time_in_force[time_in_force]
    script.created(fake, client_id=venue.client_order_id_for(ORDER))
    expire = datetime.fromtimestamp(1800000000, tz=UTC)
    order = intent(
        script,
        time_in_force=time_in_force,
        expire_time=expire if time_in_force == "GOOD_TILL_TIME_EXCHANGE" else None,
    )
    if isinstance(expected, str):
        with pytest.raises(Rejected, match=expected):
            venue.submit(order)
        assert creates(script, fake) == []
        return
    venue.submit(order)
    [sent] = creates(script, fake)
    assert script.time_in_force_sent(sent) == expected


def test_post_only_is_sent_the_exchanges_way(script, venue, fake):
    expected = script.time_in_force["post_only"]
    script.created(fake, client_id=venue.client_order_id_for(ORDER))
    venue.submit(intent(script, post_only=True))
    [sent] = creates(script, fake)
    assert script.time_in_force_sent(sent) == expected


# --- refusals and unknown outcomes ---------------------------------------------------------


def refusal_cases():
    return [(script, kind) for script in SCRIPTS for kind in script.refusals]


@pytest.mark.parametrize(
    ("script_class", "kind"), refusal_cases(), ids=[f"{s.code}-{k}" for s, k in refusal_cases()]
)
def test_a_definite_refusal_is_rejected_with_the_exchanges_words(script_class, kind, fake):
    script = script_class()
    script.markets(fake)
    venue = make_venue(script)
    status, body = script.refusals[kind]
    fake.on(*script.create, body, status=status)

    with pytest.raises(Rejected) as refusal:
        venue.submit(intent(script))

    assert len(creates(script, fake)) == 1
    for secret in script.secrets:
        assert secret not in refusal.value.message


def unknown_cases():
    return [(script, kind) for script in SCRIPTS for kind in getattr(script, "unknowns", {})]


@pytest.mark.parametrize(
    ("script_class", "kind"), unknown_cases(), ids=[f"{s.code}-{k}" for s, k in unknown_cases()]
)
def test_an_error_that_does_not_prove_a_refusal_is_an_unknown_outcome(script_class, kind, fake):
    script = script_class()
    script.markets(fake)
    venue = make_venue(script)
    status, body = script.unknowns[kind]
    fake.on(*script.create, body, status=status)

    with pytest.raises(OutcomeUnknown):
        venue.submit(intent(script))


def test_a_server_error_on_create_is_an_unknown_outcome(script, venue, fake):
    status, body = script.server_error
    fake.on(*script.create, body, status=status)
    with pytest.raises(OutcomeUnknown):
        venue.submit(intent(script))
    assert len(creates(script, fake)) == 1


def test_a_rate_limited_create_is_an_unknown_outcome_and_the_key_backs_off(script, venue, fake):
    status, body = script.rate_limited
    fake.on(*script.create, body, status=status)
    with pytest.raises(OutcomeUnknown):
        venue.submit(intent(script))
    # Backing off: the next request waits, or is not sent at all if the wait is too long.
    script.created(fake, client_id=venue.client_order_id_for("desk-order-0002"))
    try:
        venue.submit(intent(script, client_order_id="desk-order-0002"))
    except Unreachable as not_sent:
        assert "backing off" in not_sent.message
        assert len(creates(script, fake)) == 1
    else:
        assert len(creates(script, fake)) == 2


def test_an_exchange_that_cannot_be_reached_is_unreachable_and_nothing_is_sent(script, venue, fake):
    fake.on(*script.create, raises=refused)
    with pytest.raises(Unreachable):
        venue.submit(intent(script))


def test_a_connection_dropped_after_sending_is_an_unknown_outcome(script, venue, fake):
    fake.on(*script.create, raises=dropped)
    with pytest.raises(OutcomeUnknown):
        venue.submit(intent(script))


def test_a_timeout_is_resolved_by_a_lookup_and_never_by_a_second_create(script, venue, fake):
    client_id = venue.client_order_id_for(ORDER)
    fake.on(*script.create, raises=read_timeout)  # the exchange acted; its answer was lost

    with pytest.raises(OutcomeUnknown):
        venue.submit(intent(script))

    script.found(fake, client_id=client_id, status="open", filled="0")
    found = venue.lookup(ORDER, script.symbol)

    assert found is not None and found.status == S.NEW
    assert found.client_order_id == ORDER
    assert found.client_order_id_format_exchange == client_id
    assert found.exchange_order_id == script.exchange_order_id
    assert len(creates(script, fake)) == 1  # one create request, ever
    script.assert_lookup_requests(fake, client_id)


# --- lookups, cancels, open orders ------------------------------------------------------------


def test_not_found_is_none_evidence_not_proof(script, venue, fake, monkeypatch):
    def generic_helper(*args, **kwargs):
        raise AssertionError("fetch_order_with_client_order_id sends the wrong fields")

    monkeypatch.setattr(
        ccxt.Exchange, "fetch_order_with_client_order_id", generic_helper, raising=False
    )
    script.missing(fake)
    assert venue.lookup(ORDER, script.symbol) is None
    script.assert_lookup_requests(fake, venue.client_order_id_for(ORDER))


@pytest.mark.parametrize(("status", "filled"), [("filled", "0.01"), ("canceled", "0.004")])
def test_a_finished_order_is_reported_with_its_fills(script, venue, fake, status, filled):
    script.found(fake, client_id=venue.client_order_id_for(ORDER), status=status, filled=filled)
    found = venue.lookup(ORDER, script.symbol)
    assert found.status == (S.FILLED if status == "filled" else S.CANCELED)
    assert found.amount_filled == D(filled)
    assert sum(fill.amount for fill in found.fills) == D(filled)
    assert all(fill.exchange_order_id == script.exchange_order_id for fill in found.fills)


def test_cancel_reports_the_final_state_with_what_filled_before(script, venue, fake):
    client_id = venue.client_order_id_for(ORDER)
    script.canceled(fake, client_id=client_id, filled="0.004")
    report = venue.cancel(
        OrderRef(script.symbol, client_order_id=ORDER, exchange_order_id=script.exchange_order_id)
    )
    assert report.status == S.CANCELED
    assert report.amount_filled == D("0.004")
    assert report.client_order_id == ORDER
    assert sum(fill.amount for fill in report.fills) == D("0.004")


def test_cancel_all_reports_only_what_the_answer_proves(script, venue, fake):
    script.canceled_all(fake)
    reports = venue.cancel_all()
    assert script.cancel_all_sent(fake)
    for report in reports:
        assert report.status == S.CANCELED


def test_open_orders_carry_the_exchanges_client_id_and_fills_so_far(script, venue, fake):
    client_id = venue.client_order_id_for(ORDER)
    script.open_orders(fake, client_id=client_id)
    venue.hint_symbols([script.symbol])
    [report] = venue.open_orders()
    assert report.client_order_id == client_id == report.client_order_id_format_exchange
    assert report.status == S.PARTIALLY_FILLED
    assert (report.amount, report.amount_filled) == (D("0.01"), D("0.004"))
    assert report.symbol_id_exchange == script.symbol


# --- balances, fills, instruments ---------------------------------------------------------


def test_balances_have_the_exchanges_asset_id_the_common_one_and_a_usd_rate(script, venue, fake):
    expected = script.balance(fake)
    balances = venue.balances()
    got = [
        (b.asset, b.asset_common, b.balance, b.available, b.locked, b.rate_usd) for b in balances
    ]
    assert sorted(got) == sorted(expected)


def test_fills_since_a_cursor_come_with_trade_ids_and_move_the_cursor(script, venue, fake):
    expected = script.trades(fake)
    venue.hint_symbols([script.symbol])
    fills, cursor = venue.fills_since(None)
    got = [(f.trade_id, f.exchange_order_id, f.price, f.amount, f.fee, f.liquidity) for f in fills]
    assert sorted(got) == sorted(expected)
    assert cursor is not None and cursor.isdigit()
    again, same = venue.fills_since(cursor)
    assert same == cursor  # the overlap reads them again; they count once downstream
    assert {f.trade_id for f in again} <= {f.trade_id for f in fills}


def test_instruments_come_from_the_markets_with_tick_lot_and_minimum(script, venue, fake):
    specs = {spec.symbol_id_exchange: spec for spec in venue.instruments()}
    spec = specs[script.symbol]
    assert (spec.base, spec.quote) == (script.base, script.quote)
    assert (spec.tick_size, spec.lot_size) == (script.tick, script.lot)
    assert spec.min_amount == script.min_amount
