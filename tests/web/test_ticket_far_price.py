"""A limit more than EMSWEB_TICKET_CONFIRM_PERCENT from the market needs a second confirmation,
given for one order: side, price, instrument and account. The browser's side of it is in
test_browser.py."""

import re

import pytest

from orders.models import Order
from tests.factories import InstrumentFactory
from tests.web.conftest import ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def market(redis_broker):
    redis_broker.hset("emsweb:quotes:PAPER", "BTCUSD", "49990|50010|50000")
    return redis_broker


def far(desk, **fields) -> dict:
    """A ticket 40% under the market, which is at 50,000."""
    return ticket(desk, price="30000") | fields


# What the box confirms, as the ticket writes it.
BUY_AT_30000 = "BUY at 30000: PAPER_SPOT_BTC_USD on PAPER/DESK"


def confirmation_box(content: str) -> str | None:
    found = re.search(r'<input type="checkbox" name="confirm_far"[^>]*>', content)
    return found and found.group(0)


def test_the_check_offers_a_confirmation_named_for_the_side_and_price(desk, trader_web, market):
    content = trader_web.post("/orders/ticket/check/", far(desk)).content.decode()
    box = confirmation_box(content)
    assert box and f'value="{BUY_AT_30000}"' in box and "checked" not in box
    assert f"Yes, send it: {BUY_AT_30000}" in content
    price_error = re.search(r'<div id="error-price"[^>]*>(.*?)</div>', content).group(1)
    assert "40.0% from the market: tick the confirmation to send it." in price_error


def test_a_ticked_confirmation_comes_back_ticked_from_the_check(desk, trader_web, market):
    content = trader_web.post(
        "/orders/ticket/check/", far(desk, confirm_far=BUY_AT_30000)
    ).content.decode()
    assert " checked" in confirmation_box(content)
    assert "tick the confirmation" not in content


def test_the_same_price_written_another_way_keeps_its_confirmation(desk, trader_web, market):
    content = trader_web.post(
        "/orders/ticket/check/", far(desk, price="30000.00", confirm_far=BUY_AT_30000)
    ).content.decode()
    assert " checked" in confirmation_box(content)


@pytest.mark.parametrize(
    "changed",
    [{"price": "31000"}, {"price": "3000"}, {"side": "SELL"}, {"symbol": "ETHUSD"}],
    ids=str,
)
def test_a_confirmation_given_for_another_order_is_not_one(desk, trader_web, market, changed):
    # ETH at 3,000: the BTC confirmation's 30,000 is ten times its market.
    InstrumentFactory(
        symbol_id_exchange="ETHUSD", symbol_id_coinapi="PAPER_SPOT_ETH_USD", base="ETH"
    )
    market.hset("emsweb:quotes:PAPER", "ETHUSD", "2999|3001|3000")
    sent = far(desk, confirm_far=BUY_AT_30000, **changed)
    checked = trader_web.post("/orders/ticket/check/", sent).content.decode()
    assert "checked" not in confirmation_box(checked)
    refused = trader_web.post("/orders/ticket/submit/", sent).content.decode()
    assert "tick the confirmation to send it" in refused
    assert not Order.objects.exists()


def test_a_far_order_is_refused_unticked_and_sent_ticked(desk, trader_web, market):
    refused = trader_web.post("/orders/ticket/submit/", far(desk)).content.decode()
    assert "40.0% from the market: tick the confirmation to send it." in refused
    assert not Order.objects.exists()
    trader_web.post("/orders/ticket/submit/", far(desk, confirm_far=BUY_AT_30000))
    assert Order.objects.get().price == 30000


def test_a_price_back_near_the_market_needs_no_confirmation(desk, trader_web, market):
    near = far(desk, price="49000", confirm_far=BUY_AT_30000)
    assert confirmation_box(trader_web.post("/orders/ticket/check/", near).content.decode()) is None
    trader_web.post("/orders/ticket/submit/", near)
    assert Order.objects.get().price == 49000


def test_a_ticket_the_send_refused_is_not_checked_again_over_its_answer(desk, trader_web, market):
    """The refusal carries the check already; a check on load would replace the send's answer."""
    refused = trader_web.post("/orders/ticket/submit/", far(desk, amount="")).content.decode()
    assert "This field is required." in refused
    trigger = re.search(r'<div class="trigger"[^>]*hx-trigger="([^"]*)"', refused).group(1)
    assert "load" not in trigger
    fresh = trader_web.get("/orders/ticket/").content.decode()
    assert re.search(r'<div class="trigger"[^>]*hx-trigger="[^"]*, load"', fresh)
