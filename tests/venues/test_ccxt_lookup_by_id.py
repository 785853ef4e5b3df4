"""Looking an order up by the exchange's own id (`lookup_by_exchange_id`), for a trade that names
an order emsweb does not know: each exchange's own query through ccxt's fetch_order, answered
with documented shapes; the trades of a finished order with it; the market from the exchange's
answer where the query needs none (Kraken), and no request where it does and none is known
(Binance). Failures are classified as every other read; the call waits for the key's turn.
The paper exchange finds its orders by their own id; the hosted EMS cannot, and asks nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.venues.scripts.binance import Binance
from tests.venues.scripts.binance_usdm import BinanceFts
from tests.venues.scripts.bitstamp import Bitstamp
from tests.venues.scripts.bybit import ORDER_ID as BYBIT_ORDER
from tests.venues.scripts.bybit import Bybit
from tests.venues.scripts.coinbase_advanced import CoinbaseAdvanced, cba_order
from tests.venues.scripts.coinbase_exchange import CoinbaseExchange, cbx_order
from tests.venues.scripts.deribit import ORDER_ID as DERIBIT_ORDER
from tests.venues.scripts.deribit import Deribit
from tests.venues.scripts.gemini import Gemini, payload
from tests.venues.scripts.kraken import ORDER_ID as KRAKEN_ORDER
from tests.venues.scripts.kraken import TRADE_IDS, Kraken, kraken_order, kraken_trade, ok
from tests.venues.scripts.krakenfutures import API as KRAKENFTS_API
from tests.venues.scripts.krakenfutures import ORDER_ID as KRAKENFTS_ORDER
from tests.venues.scripts.krakenfutures import KrakenFts
from tests.venues.scripts.okx import ORDER_ID as OKX_ORDER
from tests.venues.scripts.okx import Okx
from tests.venues.test_exchanges import SCRIPTS, make_venue
from venues.base import OrderIntent, OrdSide, OrdStatus, TimeInForce
from venues.ccxt.errors import KeyRefused
from venues.ccxt.limits import Gate
from venues.ems.adapter import HostedEmsVenue
from venues.errors import OutcomeUnknown, Unreachable
from venues.paper import engine
from venues.paper.adapter import PaperVenue

D = Decimal
S = OrdStatus


def kraken_by_id(fake, filled: str) -> None:
    """QueryOrders by txid (trades=true), and QueryTrades for the trades it lists."""
    order = kraken_order(None, "closed", filled)  # placed by hand: no cl_ord_id
    fake.on("POST", "/0/private/QueryOrders", ok({KRAKEN_ORDER: order}))
    amounts = ["0.004", "0.006"]
    trades = {
        tid: kraken_trade(tid, amount, True) for tid, amount in zip(TRADE_IDS, amounts, strict=True)
    }
    fake.on("POST", "/0/private/QueryTrades", ok(trades))


def binance_by_id(fake, filled: str) -> None:
    Binance().found(fake, client_id="web_b7e0f1d2c3", status="filled", filled=filled)


def gemini_by_id(fake, filled: str) -> None:
    Gemini().found(fake, client_id="", status="filled", filled=filled)


def coinbase_exchange_by_id(fake, filled: str) -> None:
    CoinbaseExchange().found(fake, client_id="", status="filled", filled=filled)
    order = cbx_order("", "done", filled, done_reason="filled")
    order.pop("client_oid")  # an order placed on the web site has none
    fake.on("GET", f"/orders/{order['id']}", order)


def coinbase_advanced_by_id(fake, filled: str) -> None:
    CoinbaseAdvanced().found(fake, client_id="", status="filled", filled=filled)
    order = cba_order("", "FILLED", filled)
    fake.on("GET", f"/api/v3/brokerage/orders/historical/{order['order_id']}", {"order": order})


def bitstamp_by_id(fake, filled: str) -> None:
    Bitstamp().found(fake, client_id="", status="filled", filled=filled)


def found_placed_by_hand(script_class):
    """The script's order query answers the order, placed without a client order id."""

    def by_id(fake, filled: str) -> None:
        script_class().found(fake, client_id="", status="filled", filled=filled)

    return by_id


FOUND_BY_ID = {
    "KRAKEN": kraken_by_id,
    "BINANCE": binance_by_id,
    "GEMINI": gemini_by_id,
    "COINBASE": coinbase_exchange_by_id,
    "COINBASEADV": coinbase_advanced_by_id,
    "BITSTAMP": bitstamp_by_id,
    "BINANCEFTS": found_placed_by_hand(BinanceFts),
    "BYBIT": found_placed_by_hand(Bybit),
    "OKX": found_placed_by_hand(Okx),
    "KRAKENFTS": found_placed_by_hand(KrakenFts),
    "DERIBIT": found_placed_by_hand(Deribit),
}


def query_sent(script, fake) -> dict:
    """What the by-id query asked for."""
    if script.code == "KRAKEN":
        [sent] = fake.requests_to("/0/private/QueryOrders", "POST")
        return {"txid": sent.form["txid"], "trades": sent.form["trades"]}
    if script.code == "BINANCE":
        [sent] = fake.requests_to("/api/v3/order", "GET")
        return {"orderId": sent.query["orderId"], "symbol": sent.query["symbol"]}
    if script.code == "GEMINI":
        [sent] = fake.requests_to("/v1/order/status", "POST")
        fields = payload(sent)
        return {"order_id": str(fields["order_id"]), "include_trades": fields["include_trades"]}
    if script.code == "BITSTAMP":
        [sent] = fake.requests_to("/api/v2/order_status/", "POST")
        return {"id": sent.form["id"]}
    if script.code == "BINANCEFTS":
        [sent] = fake.requests_to("/fapi/v1/order", "GET")
        return {"orderId": sent.query["orderId"], "symbol": sent.query["symbol"]}
    if script.code == "BYBIT":
        [sent] = fake.requests_to("/v5/order/realtime", "GET")
        return {"orderId": sent.query["orderId"], "symbol": sent.query["symbol"]}
    if script.code == "OKX":
        [sent] = fake.requests_to("/api/v5/trade/order", "GET")
        return {"ordId": sent.query["ordId"], "instId": sent.query["instId"]}
    if script.code == "KRAKENFTS":
        # Kraken Futures' own order status call, as the lookup by client id makes it.
        [sent] = fake.requests_to(f"{KRAKENFTS_API}/orders/status", "POST")
        return {"orderIds": sent.params["orderIds"]}
    if script.code == "DERIBIT":
        [sent] = fake.requests_to("/api/v2/private/get_order_state", "GET")
        return dict(sent.query)
    [sent] = fake.requests_to("(/api/v3/brokerage)?/orders/(historical/)?[0-9a-f-]+", "GET")
    return {"path": sent.path}


EXPECTED_QUERY = {
    "KRAKEN": {"txid": KRAKEN_ORDER, "trades": "True"},  # ccxt's form encoding of true
    "BINANCE": {"orderId": "28", "symbol": "BTCUSDT"},
    "GEMINI": {"order_id": "106817811", "include_trades": True},
    "COINBASE": {"path": "/orders/d0c5340b-6d6c-49d9-b567-48c4bfca13d2"},
    "COINBASEADV": {"path": "/api/v3/brokerage/orders/historical/0000-000000-000042"},
    "BITSTAMP": {"id": "1740318423957504"},
    "BINANCEFTS": {"orderId": "8389765519", "symbol": "BTCUSDT"},
    "BYBIT": {"orderId": BYBIT_ORDER, "symbol": "BTCUSDT"},
    "OKX": {"ordId": OKX_ORDER, "instId": "BTC-USDT-SWAP"},
    "KRAKENFTS": {"orderIds": KRAKENFTS_ORDER},
    "DERIBIT": {"order_id": DERIBIT_ORDER},
}


@pytest.mark.parametrize("script", [s() for s in SCRIPTS], ids=lambda s: s.code)
def test_a_finished_order_is_found_by_the_exchanges_id_with_its_trades(script, fake):
    script.markets(fake)
    venue = make_venue(script)
    FOUND_BY_ID[script.code](fake, "0.01")

    found = venue.lookup_by_exchange_id(script.exchange_order_id, script.symbol)

    assert query_sent(script, fake) == EXPECTED_QUERY[script.code]
    assert found.exchange_order_id == script.exchange_order_id
    assert found.symbol_id_exchange == script.symbol
    assert (found.status, found.side) == (S.FILLED, OrdSide.BUY)
    assert (found.amount, found.amount_filled) == (D("0.01"), D("0.01"))
    assert sorted(fill.amount for fill in found.fills) == [D("0.004"), D("0.006")]
    assert {fill.exchange_order_id for fill in found.fills} == {script.exchange_order_id}
    assert len({fill.trade_id for fill in found.fills}) == 2


def test_kraken_needs_no_market_the_answer_names_it(fake):
    venue = make_venue(Kraken())
    Kraken().markets(fake)
    kraken_by_id(fake, "0.01")
    found = venue.lookup_by_exchange_id(KRAKEN_ORDER, "")
    assert (found.symbol_id_exchange, found.client_order_id) == ("XXBTZUSD", None)
    assert found.client_order_id_format_exchange == ""


def test_binance_without_a_market_is_not_asked(fake):
    Binance().markets(fake)
    venue = make_venue(Binance())
    assert venue.lookup_by_exchange_id("28", "") is None
    assert fake.requests_to("/api/v3/order") == []


@pytest.mark.parametrize(
    ("code", "answer"),
    [
        ("KRAKEN", ok({})),  # QueryOrders leaves out an id it does not know
        ("KRAKEN", {"error": ["EOrder:Invalid order"], "result": {}}),
        ("BINANCE", (400, {"code": -2013, "msg": "Order does not exist."})),
    ],
    ids=["kraken-left-out", "kraken-invalid-order", "binance-2013"],
)
def test_an_id_the_exchange_does_not_know_is_none(fake, code, answer):
    script = Kraken() if code == "KRAKEN" else Binance()
    script.markets(fake)
    venue = make_venue(script)
    status, body = answer if isinstance(answer, tuple) else (200, answer)
    path = "/0/private/QueryOrders" if code == "KRAKEN" else "/api/v3/order"
    fake.on("POST" if code == "KRAKEN" else "GET", path, body, status=status)
    assert venue.lookup_by_exchange_id("UNKNOWN-1", script.symbol) is None


def test_failures_are_classified_as_for_every_read(fake):
    script = Binance()
    script.markets(fake)
    venue = make_venue(script)
    fake.on("GET", "/api/v3/order", "<html>502 Bad Gateway</html>", status=502)
    with pytest.raises(OutcomeUnknown):
        venue.lookup_by_exchange_id("28", script.symbol)

    kraken = Kraken()
    kraken.markets(fake)
    fake.on("POST", "/0/private/QueryOrders", {"error": ["EAPI:Invalid key"]})
    with pytest.raises(KeyRefused) as refused:
        make_venue(kraken).lookup_by_exchange_id(KRAKEN_ORDER, kraken.symbol)
    assert all(secret not in refused.value.message for secret in kraken.secrets)


def test_the_lookup_waits_for_the_keys_turn_like_every_private_call(fake, settings):
    settings.EMSWEB_CCXT_MAX_WAIT = 0.3
    script = Kraken()
    script.markets(fake)
    venue = make_venue(script)
    kraken_by_id(fake, "0.01")
    gate = venue._account().gate
    elsewhere = Gate(gate.budget, venue="Kraken", lock_scope=gate.lock_scope)
    with elsewhere.turn(1), pytest.raises(Unreachable, match="busy"):
        venue.lookup_by_exchange_id(KRAKEN_ORDER, script.symbol)
    assert fake.requests_to("/0/private/QueryOrders") == []


@pytest.mark.parametrize("script", [s() for s in SCRIPTS], ids=lambda s: s.code)
def test_fills_from_the_trade_feed_name_their_market(script, fake):
    script.markets(fake)
    venue = make_venue(script)
    expected = script.trades(fake)
    venue.hint_symbols([script.symbol])
    fills, _ = venue.fills_since(None)
    assert len(fills) == len(expected) > 0
    assert {fill.symbol_id_exchange for fill in fills} == {script.symbol}


# --- the other adapters -------------------------------------------------------------------


@pytest.mark.django_db
def test_the_paper_exchange_finds_an_order_by_its_own_id():
    intent = OrderIntent(
        client_order_id="by-hand",
        symbol_id_exchange="BTCUSD",
        side=OrdSide.BUY,
        amount=D("0.05"),
        price=D("1000"),
        time_in_force=TimeInForce.GOOD_TILL_CANCEL,
    )
    placed = engine.order_submit("PAPER/BYID", intent)
    venue = PaperVenue(account_key="PAPER/BYID")

    found = venue.lookup_by_exchange_id(placed.exchange_order_id, "")

    assert (found.exchange_order_id, found.client_order_id) == (placed.exchange_order_id, "by-hand")
    assert (found.symbol_id_exchange, found.amount, found.status) == ("BTCUSD", D("0.05"), S.NEW)
    assert venue.lookup_by_exchange_id("P9999999999", "") is None
    assert venue.lookup_by_exchange_id("not-a-paper-id", "") is None


def test_the_hosted_ems_cannot_look_up_by_the_exchanges_id_and_asks_nothing(fake):
    venue = HostedEmsVenue(account_key="EMSKRAKEN/JOHN")
    assert venue.lookup_by_exchange_id("OQCLML-BW3P3-BUCMWZ", "XXBTZUSD") is None
    assert fake.sent == []
