"""The desk's pages in a real browser: Playwright driving Debian's Chromium against a live server,
with a real Celery worker routing to the paper exchange. Screenshots of every page land in the
git-ignored artifacts/screenshots/."""

import os
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from accounts.audit import audit_record
from accounts.models import ApiKey, AuditAction, Balance, DeskMember, DeskRole, TradingGrant
from accounts.services import account_link, api_key_create
from orders.instruments import instruments_refresh
from orders.models import Order
from orders.quotes import quotes_refresh
from orders.services import OrderTicket, order_submit, orders_kill_switch
from orders.sync import account_sync
from risk.models import ScopeState, TradingState
from tests.conftest import wait_for
from tests.factories import AccountFactory
from venues.paper import engine

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
# Playwright's sync API runs an event loop in this thread; the ORM calls this test makes between
# browser steps are ordinary synchronous ones.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [
    pytest.mark.pipeline,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def desk(pipeline, django_user_model):
    instruments_refresh(venue="PAPER")
    engine.market_set_mid("BTCUSD", Decimal("50000"))
    account, _ = account_link(exchange_id="PAPER/WEB", parameters={})
    wait_for(lambda: Balance.objects.filter(account=account).exists(), what="first sync")
    trader = django_user_model.objects.create_user("ann", password="ann-password-1")
    DeskMember.objects.create(user=trader, role=DeskRole.ADMIN)
    viewer = django_user_model.objects.create_user("vic", password="vic-password-1")
    DeskMember.objects.create(user=viewer, role=DeskRole.VIEWER)
    return account


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/account/sign-in/")
    shoot(page, "sign-in")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


NO_STREAM = re.compile(r"WebSocket connection to 'ws://[^']*/stream(/market)?\?[^']*' failed")


class Problems(list):
    """Everything a page shows a user's browser going wrong: console errors (a Content Security
    Policy violation is one), uncaught exceptions, and requests that failed or were answered
    with an error status."""

    def watch(self, page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.append(f"uncaught: {error}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._answered)

    def _console(self, message) -> None:
        # Django's test server (live_server) serves no WebSocket: a page's stream (and the
        # trading screen's market data) fails to connect there, and the page polls instead (the
        # screen says its market data is down), as it does whenever its stream is down.
        if message.type == "error" and not NO_STREAM.search(message.text):
            self.append(f"console: {message.text}")

    def _failed(self, request) -> None:
        # A poll, or the icon the browser fetches once a page has loaded, cut short because the
        # page was left (a test goes on as soon as it has what it waits for) is not a failure of
        # the page.
        if request.failure == "net::ERR_ABORTED" and (
            request.resource_type in ("xhr", "fetch") or "favicon" in request.url
        ):
            return
        self.append(f"failed: {request.method} {request.url} ({request.failure})")

    def _answered(self, response) -> None:
        if response.status >= 400:
            self.append(f"{response.status}: {response.request.method} {response.url}")


def test_a_trader_places_watches_cancels_and_finds_an_order(desk, live_server, browser):
    base = live_server.url
    page = browser.new_page()
    problems = Problems()
    problems.watch(page)
    sign_in(page, base, "ann", "ann-password-1")
    shoot(page, "overview")
    page.goto(f"{base}/balances/")
    page.get_by_text("USD").first.wait_for()
    shoot(page, "balances")

    # Place a paper order from the ticket; the outcome shows without reloading.
    quotes_refresh(venue="PAPER")  # what the beat task does every sync interval
    page.goto(f"{base}/orders/ticket/")
    page.fill("input[name=symbol]", "BTC/USD")
    page.fill("input[name=amount]", "0.9")
    page.fill("input[name=price]", "49000")
    page.locator("#ticket-check").get_by_text("Tick / lot / min").wait_for()
    best_bid, _ = engine.best_bid_ask("BTCUSD")
    assert f"{best_bid:,}" in page.locator("#ticket-check").inner_text()
    shoot(page, "ticket")
    page.click("button[type=submit]")
    page.locator("#outcome .status-new").wait_for()
    shoot(page, "ticket-outcome")
    order = Order.objects.get()

    # The blotter shows it, then its state changes without a reload when the market crosses it.
    page.goto(f"{base}/orders/blotter/")
    row = page.locator(f"#order-{order.pk}")
    row.locator(".status-new").wait_for()
    engine.market_set_mid("BTCUSD", Decimal("49000"))
    _, best_ask = engine.best_bid_ask("BTCUSD")
    engine.market_set_mid("BTCUSD", Decimal("49000") - (best_ask - Decimal("49000")))
    account_sync(account_id=desk.pk)
    row.locator(".status-partially_filled").wait_for(timeout=5000)
    shoot(page, "blotter")

    # Cancel it from the blotter: it leaves the open orders.
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name=f"Cancel {order.client_order_id}").click()
    row.wait_for(state="detached", timeout=10000)

    page.goto(f"{base}/orders/{order.pk}/")
    page.get_by_text("Timeline").wait_for()
    shoot(page, "order-detail")

    # Find it in the shared history and export the filtered set as CSV.
    page.goto(f"{base}/orders/history/?q={order.client_order_id}")
    page.locator("#history-results").get_by_text(order.client_order_id).wait_for()
    shoot(page, "history")
    with page.expect_download() as download:
        page.get_by_text("Export CSV").click()
    csv = Path(download.value.path()).read_text()
    assert order.client_order_id in csv and "CANCELED" in csv

    for name, path in [("audit", "/audit/"), ("api-keys", "/account/api-keys/")]:
        page.goto(f"{base}{path}")
        shoot(page, name)
    assert problems == []


def test_a_viewer_is_refused_at_the_ticket(desk, live_server, browser):
    page = browser.new_page()
    sign_in(page, live_server.url, "vic", "vic-password-1")
    response = page.goto(f"{live_server.url}/orders/ticket/")
    assert response.status == 403
    page.get_by_text("You may not trade").wait_for()
    shoot(page, "ticket-refused")


def place(account, *, user, client_order_id: str, api_key: ApiKey | None = None) -> Order:
    ticket = OrderTicket(
        client_order_id=client_order_id, symbol="BTCUSD", side="BUY", amount="0.05", price="49000"
    )
    order = order_submit(account=account, ticket=ticket, user=user, api_key=api_key)
    wait_for(lambda: Order.objects.get(pk=order.pk).status == "NEW", what="the order to rest")
    return order


def test_the_audit_log_fits_a_1440_pixel_window_and_its_numbers_read_plainly(
    desk, live_server, browser
):
    ann = DeskMember.objects.get(role=DeskRole.ADMIN).user
    api_key, _ = api_key_create(user=ann, label="a script with a long label")
    place(desk, user=ann, client_order_id="a-client-order-id-as-long-as-scripts-make-them-0001",
          api_key=api_key)  # fmt: skip
    many = [AccountFactory(exchange_id=f"PAPER/DESK{n:02}", tag=f"DESK{n:02}") for n in range(12)]
    orders_kill_switch(accounts=[desk, *many], user=ann, ip="2001:db8:85a3::8a2e:370:7334")
    audit_record(
        action=AuditAction.REFUSED,
        actor=ann,
        target=f"POST /orders/{'9' * 12}/cancel/?all=1&next=/orders/history/?q={'x' * 150}",
        status=404,
        api_key=api_key,
    )
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    sign_in(page, live_server.url, "ann", "ann-password-1")
    page.goto(f"{live_server.url}/audit/")
    shoot(page, "audit-1440")
    table = page.locator("table.grid")
    assert "amount=0.05 price=49000" in table.inner_text()
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], widths
    box = table.bounding_box()
    assert box["x"] + box["width"] <= 1440


def test_the_order_timeline_shows_times_to_the_millisecond(desk, live_server, browser):
    ann = DeskMember.objects.get(role=DeskRole.ADMIN).user
    order = place(desk, user=ann, client_order_id="timed")
    page = browser.new_page()
    sign_in(page, live_server.url, "ann", "ann-password-1")
    page.goto(f"{live_server.url}/orders/{order.pk}/")
    times = page.locator("h2:text-is('Timeline') + table time[data-local]")
    times.first.wait_for()
    shoot(page, "order-timeline")
    shown = times.all_inner_texts()
    assert len(shown) == 4  # RECEIVED, ROUTING, ROUTED, NEW
    assert all(re.search(r"\d\d:\d\d:\d\d\.\d{3}$", text) for text in shown), shown


def ticket_typed(base: str, browser, fields: dict) -> tuple:
    """Ann at the ticket, her browser watched for problems, `fields` typed key by key."""
    page = browser.new_page()
    problems = Problems()
    problems.watch(page)
    sign_in(page, base, "ann", "ann-password-1")
    quotes_refresh(venue="PAPER")  # the market is at 50,000
    page.goto(f"{base}/orders/ticket/")
    for name, text in fields.items():
        page.locator(f"input[name={name}]").press_sequentially(text, delay=20)
    return page, problems


def test_typing_sending_canceling_and_opening_an_order_logs_no_browser_error(
    desk, live_server, browser
):
    base = live_server.url
    page, problems = ticket_typed(
        base, browser, {"symbol": "BTC/USD", "amount": "0.5", "price": "49000"}
    )
    page.locator("#ticket-check").get_by_text("Tick / lot / min").wait_for()
    # Password managers, extensions and screenshot tools style inputs through the CSSOM, which a
    # CSP allows; a swap that copied such a style attribute back would be blocked.
    page.locator("#ticket input").evaluate_all("inputs => inputs.forEach(i => i.style.zoom = 1)")
    page.get_by_role("button", name="Send order").click()
    page.locator("#outcome .status-new").wait_for()
    order = Order.objects.get()

    page.goto(f"{base}/orders/blotter/")
    row = page.locator(f"#order-{order.pk}")
    row.get_by_role("button", name=f"Cancel {order.client_order_id}").click()
    row.wait_for(state="detached", timeout=10000)

    page.goto(f"{base}/orders/{order.pk}/")
    page.get_by_text("Timeline").wait_for()
    page.wait_for_load_state("networkidle")
    assert problems == []


def test_a_limit_far_from_the_market_is_sent_once_the_trader_ticks_its_confirmation(
    desk, live_server, browser
):
    page, problems = ticket_typed(
        live_server.url, browser, {"symbol": "BTC/USD", "amount": "0.5", "price": "30000"}
    )
    page.locator("#ticket-check").get_by_text("from the market").wait_for()

    # Sent without the tick: refused, and the reason stands next to the price.
    with page.expect_response(lambda response: response.url.endswith("/orders/ticket/submit/")):
        page.get_by_role("button", name="Send order").click()
    page.locator("#error-price").get_by_text("tick the confirmation").wait_for()
    assert not Order.objects.exists()

    # Ticked as a trader does: the live check that the tick starts keeps it ticked.
    tick(page, "Yes, send it: BUY at 30000")
    shoot(page, "ticket-far-from-the-market")

    # Another far price is another order: its box starts unticked. Ticked straight from the price
    # field (leaving it starts a check of its own), it sends.
    price = page.locator("input[name=price]")
    price.fill("")
    price.press_sequentially("31000.5", delay=20)
    retyped = page.get_by_role("checkbox", name="Yes, send it: BUY at 31000.5")
    retyped.wait_for()
    assert not retyped.is_checked()
    tick(page, "Yes, send it: BUY at 31000.5")
    page.get_by_role("button", name="Send order").click()
    page.locator("#outcome .status-new").wait_for()
    assert Order.objects.get().price == Decimal("31000.5")
    assert problems == []


def test_a_desk_admin_resumes_from_the_risk_page_an_account_a_traders_kill_switch_halted(
    desk, live_server, browser, django_user_model
):
    base = live_server.url
    tom = django_user_model.objects.create_user("tom", password="tom-password-1")
    DeskMember.objects.create(user=tom, role=DeskRole.TRADER)
    TradingGrant.objects.create(user=tom, account=desk)
    problems = Problems()

    # Tom presses the kill switch: his account halts, the desk trades on.
    trader = browser.new_page()
    problems.watch(trader)
    sign_in(trader, base, "tom", "tom-password-1")
    trader.goto(f"{base}/orders/blotter/")
    trader.fill("input[name=confirm]", "CANCEL ALL")
    trader.get_by_role("button", name="Cancel everything I may trade").click()
    trader.get_by_text("Kill switch: trading halted").wait_for()
    trader.close()

    page = browser.new_page()
    problems.watch(page)
    sign_in(page, base, "ann", "ann-password-1")
    page.get_by_role("navigation").get_by_role("link", name="Risk").click()
    page.wait_for_url(f"{base}/risk/")
    row = page.locator(f"#scope-account{desk.pk}")
    row.locator(".state-halted").wait_for()
    assert "by tom" in row.inner_text() and "Kill switch" in row.inner_text()
    shoot(page, "risk-halted")

    row.get_by_role("button", name="Resume trading on account PAPER/WEB").click()
    page.get_by_text("Trading resumed on account PAPER/WEB.").wait_for()
    row.locator(".state-active").wait_for()
    assert row.get_attribute("data-state") == TradingState.ACTIVE
    assert not ScopeState.objects.exclude(state=TradingState.ACTIVE).exists()

    # The page is live: an order placed now shows among the working orders without a reload.
    # Django's test server serves no stream: the page polls, and says so.
    assert page.locator("#stream-state").inner_text() == "polling"
    place(desk, user=tom, client_order_id="after-resume")
    # The fourth cell, after the scope, its state and one order's notional.
    row.locator("td:nth-child(4):text-is('1')").wait_for()
    shoot(page, "risk")
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], widths  # no sideways scroll at Playwright's 1280 pixels
    assert problems == []


def tick(page, confirmation: str) -> None:
    """Click a checkbox of the ticket; the live check it starts answers with it ticked."""
    with page.expect_response(
        lambda response: (
            response.url.endswith("/orders/ticket/check/")
            and "confirm_far" in (response.request.post_data or "")
        )
    ) as checked:
        page.get_by_role("checkbox", name=confirmation).click()
    assert re.search(r'name="confirm_far"[^>]* checked', checked.value.text())
    assert page.get_by_role("checkbox", name=confirmation).is_checked()
