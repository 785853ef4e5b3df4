"""The trading screen in a real browser: Debian's Chromium against the web server as production
runs it (HTTP and the /stream WebSocket), a real Celery worker routing to the paper exchange.
Screenshots land in the git-ignored artifacts/screenshots/; every test fails on any console
error or failed request (tests.web.test_browser.Problems)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from accounts.models import Balance
from market.feed import market_refresh
from orders.models import Order
from orders.money import plain
from orders.quotes import quotes_refresh
from tests.conftest import wait_for
from tests.market.conftest import forget_market_data
from tests.stream.live import WebServer
from tests.web import test_browser
from tests.web.test_browser import Problems, shoot, sign_in
from tests.web.test_live_pages import cross_the_market, place

pytestmark = test_browser.pytestmark

# A paper account synced once (100,000 USD and 2 BTC), an admin (ann) and a viewer; Chromium.
desk, browser = test_browser.desk, test_browser.browser

SIZES = {"1280": {"width": 1280, "height": 800}, "1920": {"width": 1920, "height": 1080}}


@pytest.fixture(autouse=True)
def no_market_data_left():
    """Market data lives in Redis, which outlives a test's database: none is inherited."""
    forget_market_data()
    yield
    forget_market_data()


@pytest.fixture
def web_server(desk):
    server = WebServer("trade")
    yield server
    server.stop()


def screen_open(browser, base: str, *, viewport=SIZES["1280"], theme: str = "light"):
    """ann on the trading screen, her browser watched for problems."""
    page = browser.new_page(viewport=viewport, color_scheme=theme)
    problems = Problems()
    problems.watch(page)
    sign_in(page, base, "ann", "ann-password-1")
    page.get_by_role("navigation").get_by_role("link", name="Trade").click()
    page.wait_for_url(re.compile(r"/orders/trade/"))
    page.locator("#ticket-check").get_by_text("Tick / lot / min").wait_for()
    return page, problems


def no_sideways_scroll(page) -> None:
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], widths


def leave_fields(page) -> None:
    """Take the focus out of the text fields, where the screen's letters are typed text."""
    page.evaluate("document.activeElement && document.activeElement.blur()")


def balances(page) -> tuple[str, str]:
    return tuple(
        page.locator(f"#screen-balance-{asset} .total").inner_text() for asset in ("BTC", "USD")
    )


def test_a_trader_sends_sees_fills_and_cancels_from_the_screen_with_the_keyboard(
    desk, web_server, browser
):
    base = web_server.origin
    quotes_refresh(venue="PAPER")
    page, problems = screen_open(browser, base)
    page.locator("#screen-state.live").wait_for()
    polls: list[str] = []
    page.on("request", lambda request: "/orders/trade/live/" in request.url and polls.append(1))
    before = balances(page)

    # The ticket by keyboard: the figures typed, then S and B pick the side, Enter sends.
    page.locator("input[name=amount]").press_sequentially("0.9", delay=20)
    page.locator("input[name=price]").press_sequentially("49000", delay=20)
    leave_fields(page)
    page.keyboard.press("s")
    assert page.locator("input[name=side][value=SELL]").is_checked()
    page.keyboard.press("b")
    assert page.locator("input[name=side][value=BUY]").is_checked()
    page.locator("#ticket-check").get_by_text("Notional").wait_for()
    shoot(page, "trade-ticket")
    page.keyboard.press("Enter")
    page.locator("#outcome").wait_for()
    order = Order.objects.get()

    # It shows among the working orders and as a line on the chart, without a reload.
    row = page.locator(f"#screen-order-{order.pk}")
    row.locator(".status-new").wait_for(timeout=10000)
    page.locator('#chart[data-price-lines="49000"]').wait_for()
    shoot(page, "trade-working")

    # The paper market crosses it: a fill, a marker, both balances change.
    cross_the_market(desk)
    row.locator(".status-partially_filled").wait_for(timeout=10000)
    page.locator("#trade-live tr.fill").first.wait_for()
    page.locator("#chart[data-markers]:not([data-markers='0'])").wait_for()
    wait_for(
        lambda: all(a != b for a, b in zip(balances(page), before, strict=True)),
        what="both balances to change",
    )
    shoot(page, "trade-filled")

    # C cancels the last order sent from this screen, which a reload does not forget.
    page.reload()
    page.locator("#screen-state.live").wait_for()
    page.keyboard.press("c")
    row.wait_for(state="detached", timeout=15000)
    assert Order.objects.get().status == "CANCELED"
    page.locator('#chart[data-price-lines=""]').wait_for()

    # Esc clears the ticket, from one of its fields too.
    page.locator("input[name=amount]").press_sequentially("0.1", delay=20)
    page.keyboard.press("Escape")
    assert page.locator("input[name=amount]").input_value() == ""

    assert polls == []  # the stream was up: nothing was polled
    no_sideways_scroll(page)
    assert problems == []


def market_shown(page) -> None:
    """The market worker's pass (market.feed.market_refresh), until the screen shows a book."""
    bids = page.locator("#book-bids button.level")
    wait_for(lambda: market_refresh() is not None and bids.count() > 0, what="the book")


def test_the_screen_fits_both_sizes_in_both_themes_and_lists_its_shortcuts(
    desk, web_server, browser, settings
):
    settings.EMSWEB_MARKET_BOOK_EVERY = settings.EMSWEB_MARKET_CANDLES_EVERY = 0.001
    quotes_refresh(venue="PAPER")
    place(desk, client_order_id="resting-below-the-market", amount="0.25", price="48000")
    place(desk, client_order_id="crossed-in-part")
    cross_the_market(desk)
    # A balance with every digit the venue gives wraps in its column rather than widen the page.
    usd = Balance.objects.filter(account=desk, asset_id_exchange="USD")
    usd.update(balance=Decimal("98991.5734596"), available=Decimal("98991.5734596"))
    for size, viewport in SIZES.items():
        for theme in ("light", "dark"):
            page, problems = screen_open(browser, web_server.origin, viewport=viewport, theme=theme)
            page.locator("#screen-state.live").wait_for()
            market_shown(page)
            assert page.evaluate("document.documentElement.dataset.theme") == theme
            no_sideways_scroll(page)
            shoot(page, f"trade-{theme}-{size}")
            page.keyboard.press("?")
            dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
            dialog.wait_for()
            assert "Cancel the last order sent from this screen" in dialog.inner_text()
            page.keyboard.press("Escape")
            dialog.wait_for(state="hidden")
            assert problems == []
            page.close()


def test_the_theme_toggle_is_remembered(desk, live_server, browser):
    context = browser.new_context(color_scheme="light")
    page = context.new_page()
    sign_in(page, live_server.url, "ann", "ann-password-1")
    toggle = page.get_by_role("button", name="Dark theme")
    assert toggle.get_attribute("aria-pressed") == "false"
    toggle.click()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    page.goto(f"{live_server.url}/orders/blotter/")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.get_by_role("button", name="Dark theme").get_attribute("aria-pressed") == "true"
    context.close()


def test_without_its_stream_the_screen_polls_and_says_so(desk, live_server, browser):
    """Django's test server serves no WebSocket: the screen falls back to polling, in words."""
    page, problems = screen_open(browser, live_server.url)
    with page.expect_request(lambda request: "/orders/trade/live/" in request.url):
        pass
    page.locator("#screen-state.down").get_by_text("Live updates are down").wait_for()
    shoot(page, "trade-polling")
    assert problems == []


def test_the_instrument_search_completes_from_the_accounts_instruments_and_is_remembered(
    desk, live_server, browser
):
    page, problems = screen_open(browser, live_server.url)
    search = page.get_by_role("combobox", name="Instrument")
    options = page.locator("#screen-instruments option").evaluate_all(
        "options => options.map(option => option.value)"
    )
    assert "ETH/USD" in options and "BTC/USD" in options
    search.fill("")
    search.press_sequentially("ETH/USD", delay=20)
    # Letters typed in a text field are text: the S of USD did not make the ticket a sell.
    assert page.locator("input[name=side][value=BUY]").is_checked()
    search.press("Enter")
    page.locator("h1", has_text="Trade ETH/USD").wait_for()
    page.goto(f"{live_server.url}/orders/trade/")
    page.locator("h1", has_text="Trade ETH/USD").wait_for()
    assert problems == []


def test_a_book_level_sets_the_price_and_the_order_shows_on_the_book_and_chart(
    desk, web_server, browser, settings
):
    """The book and candles a worker's pass read (market.feed.market_refresh, called here as
    the market worker's beat does)."""
    settings.EMSWEB_MARKET_BOOK_EVERY = settings.EMSWEB_MARKET_CANDLES_EVERY = 0.001
    quotes_refresh(venue="PAPER")
    page, problems = screen_open(browser, web_server.origin)
    market_shown(page)
    bids = page.locator("#book-bids button.level")
    page.locator("#chart-state", has_text="Live").wait_for()

    # A click on the second best bid puts its price in the ticket; the keyboard sends.
    level = bids.nth(1)
    price = level.get_attribute("data-price")
    level.click()
    assert page.locator("input[name=price]").input_value() == price
    page.locator("input[name=amount]").press_sequentially("0.3", delay=20)
    leave_fields(page)
    page.locator("#ticket-check").get_by_text("Notional").wait_for()
    page.keyboard.press("Enter")
    order = wait_for(lambda: Order.objects.first(), what="the order")
    page.locator(f"#screen-order-{order.pk} .status-new").wait_for(timeout=10000)

    # Its size on its book level and its line on the chart, without a reload.
    desk_cell = page.locator(f"#book-bids tr:has(button[data-price='{price}']) td.desk")
    desk_cell.filter(has_text="0.3").wait_for()
    page.locator(f"#chart[data-price-lines='{plain(order.price)}']").wait_for()
    assert page.locator("#chart canvas").count() > 0
    shoot(page, "trade-book-chart")
    assert problems == []
