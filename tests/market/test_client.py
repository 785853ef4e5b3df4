"""static/js/market.js in a real browser (Debian's Chromium) against the web server as
production runs it: a page that opens a screen's feed is given the book, the candles and the
status a worker's pass read, under the site's Content Security Policy; and is told in words
when the stream goes down."""

from django.db import connection

from market.feed import market_refresh
from tests.web import test_browser
from tests.web.test_browser import Problems, shoot, sign_in

pytestmark = test_browser.pytestmark
browser = test_browser.browser

OPEN = """([account]) => {
  window.received = [];
  const got = (message) => window.received.push(message);
  window.feed = window.emswebMarket.open({
    account, instrument: "BTCUSD",
    onBook: got, onCandles: got, onStatus: got,
    onCandle: (candle) => got({type: "candle", candle}),
  });
}"""


def received_types(page) -> set[str]:
    return set(page.evaluate("window.received.map((message) => message.type)"))


def test_a_page_opening_a_feed_gets_book_candles_and_status_and_hears_the_stream_go_down(
    web_server, user, account, browser
):
    base = web_server.origin
    page = browser.new_page()
    problems = Problems()
    problems.watch(page)
    sign_in(page, base, "screen-user", "screen-password-1")
    page.add_script_tag(url=f"{base}/static/js/market.js")
    page.evaluate(OPEN, [account.pk])
    for _ in range(200):
        market_refresh()
        if {"book", "candles", "status"} <= received_types(page):
            break
        page.wait_for_timeout(50)
    book = page.evaluate("window.feed.book()")
    assert book["bids"][0] == ["49990", "0.5"] and book["asks"][0] == ["50010", "0.5"]
    statuses = page.evaluate("window.received.filter((m) => m.type === 'status')")
    assert statuses[0]["state"] == "waiting" and statuses[-1]["state"] == "live"
    shoot(page, "market-feed")
    assert problems == []

    web_server.stop()
    page.wait_for_function("window.received.some((m) => m.state === 'stream_down')")
    down = page.evaluate("window.received.find((m) => m.state === 'stream_down')")
    assert down["message"].startswith("The live stream is down")
    page.evaluate("window.feed.close()")
    # The connection market_refresh opened here: left open, the test database's teardown found
    # it still in use (a PytestWarning on PostgreSQL); the other tests' are closed for them.
    connection.close()
