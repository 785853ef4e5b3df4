"""What one exchange does differently, and what the adapter keeps across calls: instances,
markets, nonces, sandboxes, and keys that never leave in a message or a log line."""

from __future__ import annotations

import logging
import logging.config
import threading
from decimal import Decimal

import pytest

from accounts.credentials import Credentials
from tests.venues.fake_http import read_timeout
from tests.venues.scripts.binance import Binance
from tests.venues.scripts.coinbase_advanced import CoinbaseAdvanced
from tests.venues.scripts.coinbase_exchange import ORDER_ID as CBX_ORDER
from tests.venues.scripts.coinbase_exchange import CoinbaseExchange, cbx_order
from tests.venues.scripts.gemini import Gemini
from tests.venues.scripts.kraken import Kraken
from tests.venues.test_exchanges import ORDER, creates, intent
from venues.base import OrderRef, OrdSide, OrdStatus
from venues.ccxt import connection
from venues.errors import DuplicateClientOrderId, OutcomeUnknown, Rejected
from venues.registry import adapter_class

D = Decimal


def venue_for(script, fake, *, sandbox=False, account="DESK"):
    script.markets(fake)
    return adapter_class(script.code)(
        account_key=f"{script.code}/{account}",
        credentials=Credentials(script.credentials),
        sandbox=sandbox,
    )


def test_coinbase_advanced_gets_our_id_in_client_order_id_never_ccxts_own(fake):
    script = CoinbaseAdvanced()
    venue = venue_for(script, fake)
    script.created(fake, client_id=ORDER)
    venue.submit(intent(script))
    [sent] = creates(script, fake)
    assert sent.json["client_order_id"] == ORDER  # ccxt would send ccxt-<uuid4>
    assert "clientOrderId" not in sent.json


def test_gemini_gets_our_id_never_a_millisecond_clock(fake):
    script = Gemini()
    venue = venue_for(script, fake)
    script.created(fake, client_id=ORDER)
    venue.submit(intent(script))
    [sent] = creates(script, fake)
    assert script.client_id_sent(sent) == ORDER


def test_kraken_gets_a_uuid_when_our_id_is_longer_than_18_characters(fake):
    script = Kraken()
    venue = venue_for(script, fake)
    ours = "YOUR-UNIQUE-IDENTIFIER-FOR-ORDER-001"
    sent_id = venue.client_order_id_for(ours)
    assert len(sent_id) == 36 and sent_id.count("-") == 4
    script.created(fake, client_id=sent_id)
    report = venue.submit(intent(script, client_order_id=ours))
    assert script.client_id_sent(creates(script, fake)[0]) == sent_id
    assert report.client_order_id_format_exchange == sent_id


@pytest.mark.fault(9, "Binance -2010 'Duplicate order sent' on create")
def test_a_duplicate_client_order_id_means_the_order_exists(fake):
    script = Binance()
    venue = venue_for(script, fake)
    fake.on(*script.create, {"code": -2010, "msg": "Duplicate order sent."}, status=400)
    with pytest.raises(DuplicateClientOrderId):
        venue.submit(intent(script))


def test_coinbase_exchange_reports_a_canceled_order_that_vanished_as_canceled_unfilled(fake):
    # Coinbase Exchange forgets a canceled order that never traded (GET answers 404).
    script = CoinbaseExchange()
    venue = venue_for(script, fake)
    client_id = venue.client_order_id_for(ORDER)
    fake.on("GET", "/orders/client:.*", cbx_order(client_id, "open", "0"))
    fake.on("DELETE", f"/orders/{CBX_ORDER}", CBX_ORDER)
    fake.on("GET", f"/orders/{CBX_ORDER}", {"message": "NotFound"}, status=404)
    report = venue.cancel(OrderRef(script.symbol, ORDER, CBX_ORDER))
    assert (report.status, report.amount_filled, report.side) == (OrdStatus.CANCELED, 0, "BUY")


def test_a_cancel_whose_final_state_cannot_be_read_is_an_unknown_outcome(fake):
    script = Kraken()
    venue = venue_for(script, fake)
    fake.on("POST", "/0/private/CancelOrder", {"error": [], "result": {"count": 1}})
    fake.on("POST", "/0/private/QueryOrders", raises=read_timeout)
    with pytest.raises(OutcomeUnknown, match="accepted the cancel"):
        venue.cancel(OrderRef(script.symbol, ORDER, script.exchange_order_id))


def test_an_unknown_order_on_cancel_is_a_refusal_of_the_cancel(fake):
    script = Kraken()
    venue = venue_for(script, fake)
    fake.on("POST", "/0/private/CancelOrder", {"error": ["EOrder:Unknown order"]})
    with pytest.raises(Rejected):
        venue.cancel(OrderRef(script.symbol, ORDER, script.exchange_order_id))


def test_one_instance_per_account_reused_and_replaced_when_the_keys_change(fake):
    script = Kraken()
    venue = venue_for(script, fake)
    first = venue._account()
    again = venue_for(script, fake)._account()
    assert again is first
    rotated = adapter_class("KRAKEN")(
        account_key="KRAKEN/DESK",
        credentials=Credentials({**script.credentials, "PublicApiKey": "another-public-key"}),
    )
    assert rotated._account() is not first


def test_each_thread_has_an_instance_of_its_own_with_its_own_gate(fake):
    """ccxt keeps per-request state on an instance (Kraken's cancel reads last_http_response
    after its request), and the gate a cancel-first flag: the order worker's threads never
    share them."""
    script = Kraken()
    mine = venue_for(script, fake)._account()
    theirs = []
    thread = threading.Thread(target=lambda: theirs.append(venue_for(script, fake)._account()))
    thread.start()
    thread.join()
    assert theirs[0] is not mine and theirs[0].gate is not mine.gate
    assert venue_for(script, fake)._account() is mine


def test_each_thread_sees_the_status_of_its_own_last_answer(fake):
    """The order worker's threads share an account's instance: a failure is classified by the
    status of its own answer, not by one another thread had since."""
    shared = venue_for(Kraken(), fake)._account()
    shared.status = 503
    seen_elsewhere = []

    def another_thread() -> None:
        seen_elsewhere.append(shared.status)
        shared.status = 200

    thread = threading.Thread(target=another_thread)
    thread.start()
    thread.join()
    assert (seen_elsewhere, shared.status) == ([None], 503)


def test_markets_are_loaded_once_and_shared_through_redis_with_a_fresh_process(fake):
    script = Kraken()
    venue = venue_for(script, fake)
    script.created(fake, client_id=ORDER)
    venue.submit(intent(script))
    venue.submit(intent(script, client_order_id="desk-order-0002"))
    assert len(fake.requests_to("/0/public/AssetPairs")) == 1
    connection.reset()  # as a new worker process: nothing in memory
    venue_for(script, fake).submit(intent(script, client_order_id="desk-order-0003"))
    assert len(fake.requests_to("/0/public/AssetPairs")) == 1  # read from Redis
    venue.instruments()  # the scheduled refresh loads again
    assert len(fake.requests_to("/0/public/AssetPairs")) == 2


def test_kraken_nonces_only_grow_whichever_process_signs(fake, monkeypatch):
    script = Kraken()
    venue = venue_for(script, fake)
    script.created(fake, client_id=ORDER)
    venue.submit(intent(script))
    connection.reset()  # another process, whose clock is behind
    later = venue_for(script, fake)
    monkeypatch.setattr(type(later._account().exchange), "milliseconds", lambda self: 1000)
    later.submit(intent(script, client_order_id="desk-order-0002"))
    first, second = (int(request.form["nonce"]) for request in creates(script, fake))
    assert second > first > 1000


def test_a_sandbox_account_talks_to_the_sandbox(fake):
    script = Gemini()
    fake.on("GET", "/v1/symbols", ["btcusd"])
    Gemini().markets(fake)
    venue = adapter_class("GEMINI")(
        account_key="GEMINI/TEST", credentials=Credentials(script.credentials), sandbox=True
    )
    script.created(fake, client_id=ORDER)
    venue.submit(intent(script))
    assert {request.host for request in fake.sent} == {"api.sandbox.gemini.com"}


def test_an_exchange_without_a_sandbox_refuses_a_sandbox_account(fake):
    script = Kraken()
    venue = venue_for(script, fake, sandbox=True)
    with pytest.raises(Rejected, match="no sandbox"):
        venue.submit(intent(script))
    assert creates(script, fake) == []


def test_binance_reads_open_orders_per_symbol_between_unscoped_reads(fake):
    script = Binance()
    venue = venue_for(script, fake)
    script.open_orders(fake, client_id=ORDER)
    venue.hint_symbols([script.symbol])
    venue.open_orders()
    venue.open_orders()
    first, second = fake.requests_to("/api/v3/openOrders", "GET")
    assert "symbol" not in first.query  # now and then unscoped: finds orders placed elsewhere
    assert second.query["symbol"] == "BTCUSDT"  # else per symbol: 6 weight instead of 80


def test_keys_appear_in_no_message_and_no_log_line(fake, caplog, settings):
    script = Binance()
    venue = venue_for(script, fake)
    venue._account()  # the instance exists; logging is configured again after it, as can happen
    logging.config.dictConfig(settings.LOGGING)
    caplog.set_level(logging.DEBUG)
    key = script.credentials["PublicApiKey"]
    # An answer that echoes the key back, as some exchanges' errors do.
    fake.on(*script.create, {"code": -2015, "msg": f"Invalid API-key {key}"}, status=401)
    with pytest.raises(Rejected) as refusal:
        venue.submit(intent(script))
    script.found(fake, client_id=ORDER, status="open", filled="0")
    venue.lookup(ORDER, script.symbol)
    for secret in script.secrets:
        assert secret not in refusal.value.message
        assert secret not in caplog.text
    assert "signature=" not in caplog.text and "signature=" not in refusal.value.message
    assert repr(venue).count("/") == 1 and key not in repr(venue)


def test_a_sell_is_sent_as_a_sell(fake):
    script = Kraken()
    venue = venue_for(script, fake)
    script.created(fake, client_id=ORDER)
    venue.submit(intent(script, side=OrdSide.SELL))
    assert creates(script, fake)[0].form["type"] == "sell"


def test_quotes_for_the_ticket_come_from_one_public_ticker_call(fake):
    script = Kraken()
    script.markets(fake)
    script.balance(fake)  # answers the ticker too
    public = adapter_class("KRAKEN")(account_key="", credentials=Credentials({}))
    assert public.quotes() == {"XXBTZUSD": (D("50300.0"), D("50300.1"), D("50303.2"))}
    public.quotes()
    assert len(fake.requests_to("/0/public/Ticker")) == 1  # kept for a while
