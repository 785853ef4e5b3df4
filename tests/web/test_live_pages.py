"""The desk's pages updated by push, in a real browser: Debian's Chromium against the web server as
production runs it (deploy/entrypoint.sh web: HTTP and the /stream WebSocket), with a real Celery
worker routing to the paper exchange. While a page's stream is up, a change arrives as HTML over
its WebSocket and the page sends no poll; without its stream, the page polls and says so."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from orders.models import Order
from orders.quotes import quotes_refresh
from orders.services import OrderTicket, order_submit
from orders.sync import account_sync
from risk.services import trading_halt
from tests.conftest import wait_for
from tests.stream.live import WebServer
from tests.web import test_browser
from tests.web.test_browser import Problems, shoot, sign_in
from venues.paper import engine

pytestmark = test_browser.pytestmark

# A paper account synced once, an admin (ann) and a viewer (vic); Chromium.
desk, browser = test_browser.desk, test_browser.browser

# What the pages poll while their stream is down.
POLLS = re.compile(
    r"/orders/blotter/rows/|/algos/rows/|/orders/\d+/outcome/|/orders/\d+/$|/balances/tables/"
)


@pytest.fixture
def web_server(desk):
    server = WebServer("pages")
    yield server
    server.stop()


def place(account, *, client_order_id: str, amount: str = "0.9", price: str = "49000"):
    """A buy by ann, resting at the venue (NEW) when this returns unless priced below it: large
    enough that crossing the market fills only part of it."""
    ticket = OrderTicket(
        client_order_id=client_order_id, symbol="BTCUSD", side="BUY", amount=amount, price=price
    )
    ann = get_user_model().objects.get(username="ann")
    order = order_submit(account=account, ticket=ticket, user=ann)
    wait_for(lambda: Order.objects.get(pk=order.pk).status == "NEW", what="the order to rest")
    return order


def watch_polls(page, polls: list[str]) -> None:
    page.on("request", lambda request: POLLS.search(request.url) and polls.append(request.url))


def watch_risk_polls(page, polls: list[str]) -> None:
    """The risk page's polls: the requests its #risk section makes (htmx names the element that
    asks in HX-Trigger), not the one it makes when its figures lapse (#risk-lapse)."""
    page.on(
        "request",
        lambda request: (
            "/risk/" in request.url
            and request.headers.get("hx-trigger") == "risk"
            and polls.append(request.url)
        ),
    )


def cross_the_market(account) -> None:
    """Move the paper market through a resting 49,000 buy, then sync: it fills, in part."""
    engine.market_set_mid("BTCUSD", Decimal("49000"))
    _, best_ask = engine.best_bid_ask("BTCUSD")
    engine.market_set_mid("BTCUSD", Decimal("49000") - (best_ask - Decimal("49000")))
    account_sync(account_id=account.pk)


def test_a_fill_reaches_an_open_blotter_over_its_stream_with_no_poll_request(
    desk, web_server, browser
):
    base = web_server.origin
    page = browser.new_page()
    problems = Problems()
    problems.watch(page)
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda frame: frames.append(frame)))
    sign_in(page, base, "ann", "ann-password-1")
    page.goto(f"{base}/orders/blotter/")
    page.locator("#stream-state.live").wait_for()
    polls: list[str] = []
    watch_polls(page, polls)

    quotes_refresh(venue="PAPER")
    order = place(desk, client_order_id="pushed")
    row = page.locator(f"#order-{order.pk}")
    row.locator(".status-new").wait_for()
    cross_the_market(desk)
    row.locator(".status-partially_filled").wait_for(timeout=5000)
    shoot(page, "blotter-live")
    page.wait_for_timeout(2500)  # longer than any of the page's polling periods (2 s)

    assert page.locator("#stream-state").inner_text() == "live"
    assert polls == []
    pushed = [frame for frame in frames if isinstance(frame, str) and frame.startswith("<")]
    assert any(f'id="order-{order.pk}" data-status="PARTIALLY_FILLED"' in html for html in pushed)
    assert problems == []


def test_an_open_order_detail_and_the_overview_follow_a_fill_over_their_stream(
    desk, web_server, browser
):
    base = web_server.origin
    quotes_refresh(venue="PAPER")
    order = place(desk, client_order_id="watched")
    session = browser.new_context()  # one signed-in session, two tabs
    detail, overview = session.new_page(), session.new_page()
    problems = Problems()
    for page in (detail, overview):
        problems.watch(page)
    sign_in(overview, base, "ann", "ann-password-1")
    overview.locator("#stream-state.live").wait_for()
    detail.goto(f"{base}/orders/{order.pk}/")
    detail.locator("#stream-state.live").wait_for()
    polls: list[str] = []
    for page in (detail, overview):
        watch_polls(page, polls)
    overview.locator("#overview-live").get_by_text("Open orders").wait_for()
    assert overview.locator(".kpis a").inner_text() == "1"

    cross_the_market(desk)
    detail.locator("#order-detail h1 .status-partially_filled").wait_for(timeout=5000)
    detail.locator("#order-detail").get_by_text("No fills.").wait_for(state="detached")
    shoot(detail, "order-detail-live")
    place(desk, client_order_id="below", amount="0.05", price="40000")
    overview.locator(".kpis a", has_text=re.compile(r"^2$")).wait_for(timeout=5000)
    assert polls == []
    assert problems == []


def test_without_its_stream_the_blotter_polls_and_says_so(desk, live_server, browser):
    """Django's own test server serves no WebSocket: the blotter falls back to polling."""
    base = live_server.url
    page = browser.new_page()
    sign_in(page, base, "ann", "ann-password-1")
    with page.expect_request(lambda request: "/orders/blotter/rows/" in request.url):
        page.goto(f"{base}/orders/blotter/")
    assert page.locator("#stream-state").inner_text() == "polling"
    quotes_refresh(venue="PAPER")
    order = place(desk, client_order_id="polled")
    page.locator(f"#order-{order.pk} .status-new").wait_for(timeout=5000)
    shoot(page, "blotter-polling")


@pytest.fixture
def risk_page(desk, web_server, browser):
    """ann's risk page with its stream live: the page, its polls (watch_risk_polls) from now on,
    and its problems."""
    page = browser.new_page()
    problems = Problems()
    problems.watch(page)
    sign_in(page, web_server.origin, "ann", "ann-password-1")
    page.goto(f"{web_server.origin}/risk/")
    page.locator("#stream-state.live").wait_for()
    polls: list[str] = []
    watch_risk_polls(page, polls)
    return page, polls, problems


def test_a_halt_reaches_an_open_risk_page_over_its_stream_with_no_poll_request(desk, risk_page):
    page, polls, problems = risk_page
    ann = get_user_model().objects.get(username="ann")

    trading_halt(accounts=[desk], user=ann, reason="venue incident")
    row = page.locator(f"#scope-account{desk.pk}")
    row.locator(".state-halted").wait_for(timeout=5000)
    assert "venue incident" in row.inner_text()
    trading_halt(user=ann, reason="Kill switch")
    page.locator("#scope-desk .state-halted").wait_for(timeout=5000)
    page.get_by_text("The desk is halted").wait_for()
    shoot(page, "risk-live")

    assert page.locator("#stream-state").inner_text() == "live"
    assert polls == []
    assert problems == []


def test_an_order_reaches_an_open_risk_page_over_its_stream_and_its_rate_lapses_unpolled(
    desk, risk_page
):
    page, polls, problems = risk_page
    desk_row = page.locator("#scope-desk")
    # The cells after the scope, its state and one order's notional: working orders, orders in
    # the last second, in the last minute.
    working, last_minute = (desk_row.locator(f"td:nth-child({n})") for n in (4, 6))
    assert (working.inner_text(), last_minute.inner_text()) == ("0", "0")

    quotes_refresh(venue="PAPER")
    place(desk, client_order_id="counted")
    page.locator(f"#scope-account{desk.pk} td:nth-child(4):text-is('1')").wait_for(timeout=5000)
    assert working.inner_text() == "1" and last_minute.inner_text() == "1"
    # Nothing is written when the order leaves the last second: the page asks once, then.
    desk_row.locator("td:nth-child(5):text-is('0')").wait_for(timeout=5000)
    assert last_minute.inner_text() == "1"

    assert page.locator("#stream-state").inner_text() == "live"
    assert polls == []
    assert problems == []
