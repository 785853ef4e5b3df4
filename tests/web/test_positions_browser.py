"""Positions in a real browser (Debian's Chromium, the web server as production runs it, a real
Celery worker): a perpetual position shows on the overview and on the trading screen with its
PnL in USD, margin and distance to liquidation, and flatten, confirmed by typing, closes it."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from orders.models import Order
from orders.services import OrderTicket, order_submit
from positions.models import Position
from tests.api.test_positions_pipeline import synced
from tests.conftest import wait_for
from tests.stream.live import WebServer
from tests.web import test_browser
from tests.web.test_browser import Problems, shoot, sign_in
from venues.base import OrdStatus
from venues.paper import engine

pytestmark = test_browser.pytestmark

desk, browser = test_browser.desk, test_browser.browser


@pytest.fixture
def web_server(desk):
    server = WebServer("positions-browser")
    yield server
    server.stop()


def long_position(account, user) -> None:
    engine.market_set_mid("BTCUSDT-PERP", Decimal("50000"))
    ticket = OrderTicket(
        client_order_id="browser-long", symbol="PAPER_PERP_BTC_USDT", side="BUY",
        amount="0.2", price="50100", time_in_force="IMMEDIATE_OR_CANCEL",
    )  # fmt: skip
    order = order_submit(account=account, ticket=ticket, user=user)
    wait_for(lambda: Order.objects.get(pk=order.pk).status == OrdStatus.FILLED, what="the fill")
    synced(account)
    assert Position.objects.get(account=account).size == Decimal("0.2")


def test_a_position_shows_on_the_overview_and_the_screen_and_flatten_closes_it(
    desk, web_server, browser, django_user_model
):
    base = web_server.origin
    long_position(desk, django_user_model.objects.get(username="ann"))
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = Problems()
    problems.watch(page)
    sign_in(page, base, "ann", "ann-password-1")

    row = page.locator("tr.position[data-symbol='BTCUSDT-PERP']")
    row.wait_for()
    assert row.locator(".quantity").inner_text() == "0.2"
    # Mark 50000, entry 50010: 0.2 * -10 = -2 USDT, at 1 USD each.
    assert row.locator(".pnl-usd").inner_text() == "-2.00"
    assert page.locator("#margin-used").inner_text() == "10,002.00 USD"  # 0.2 * 50010 at 1x
    # At 1x isolated: (50010 - 10002 / 0.2) / 0.995 is 0: no liquidation price, no distance.
    assert "Long" in row.inner_text()
    # The total value counts the -2 of unrealized PnL, and says so.
    note = page.locator("#total-value-note").inner_text()
    assert note == "balances + unrealized PnL of the positions (-2.00 USD)"
    shoot(page, "positions-overview")

    page.goto(f"{base}/orders/trade/?account={desk.pk}&instrument=PAPER_PERP_BTC_USDT")
    screen_row = page.locator("#trade-live tr.position[data-symbol='BTCUSDT-PERP']")
    screen_row.wait_for()
    assert screen_row.locator(".quantity").inner_text() == "0.2"
    page.fill("#leverage", "5")
    page.get_by_role("button", name="Set leverage").click()
    # The answer says "Leverage set."; the stream may replace it at once with the row's update.
    page.locator("#trade-live tr.position", has_text="5× isolated").wait_for()
    assert engine.positions_get("PAPER/WEB")[0].position.leverage == 5  # at the venue
    shoot(page, "positions-trade")

    page.goto(f"{base}/")
    page.get_by_role("button", name="Close every position I may trade").click()
    page.get_by_text("Type FLATTEN to confirm flatten.").wait_for()
    assert Position.objects.get(account=desk).size == Decimal("0.2")  # nothing sent unconfirmed

    page.get_by_label("Type FLATTEN to confirm").fill("FLATTEN")
    page.get_by_role("button", name="Close every position I may trade").click()
    page.get_by_text("Flatten: 1 reduce-only IOC order(s) sent.").wait_for()
    assert not page.get_by_text("Not closed").count()
    flattening = Order.objects.get(client_order_id__startswith="flatten-")
    assert (flattening.side, flattening.price, flattening.exec_inst) == (
        "SELL", Decimal(49000), ["DO_NOT_INCREASE"]
    )  # fmt: skip
    synced(desk)
    page.get_by_text("No open positions.").wait_for()  # pushed by the stream
    shoot(page, "positions-flattened")
    assert Position.objects.get(account=desk).size == 0
    assert not problems, problems
    page.wait_for_url(re.compile(rf"{base}/$"))
