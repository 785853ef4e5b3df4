"""Trading screen in the browser: what a book changing ten times a second costs Chromium.

Headless Chromium (Playwright, /usr/bin/chromium, as the browser tests run it) opens the screen
of the open desk's account (500 resting orders in a full run) signed in as a desk admin, against
the bench's gunicorn. The harness drives the paper book itself: it moves the paper market's mid
and publishes the book as the market workers do (market.feed.book_read), either ten times a
second or, for the floor, once a second with nothing changed (what a quiet market looks like).
Over each stretch it reads the CPU time of every Chromium process (browser, renderer, GPU,
utility: psutil) and the renderer main thread's busy time (Chrome DevTools Protocol,
Performance.getMetrics TaskDuration and ScriptDuration). A blank page is measured too.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from urllib.parse import urlencode

import psutil
from django.conf import settings

from accounts.models import DeskRole
from emsweb.redis import redis_client
from market.feed import book_read, candles_read
from market.wire import Feed
from orders.instruments import instrument_find
from venues.paper import engine
from venues.paper.adapter import PaperVenue

from . import fixtures
from .report import Figure

CHROMIUM = "/usr/bin/chromium"
SECONDS = 30  # each stretch, in a full run
SETTLE = 3.0  # after a page opens or the pace changes, before measuring
SYMBOL = fixtures.RESTING[0][0]  # the open desk's orders on it are far from the mid: none fills
CHANGES_PER_SECOND = 10
# BENCH_SCREEN_TRACE=<file>: after the measured stretches, a Chrome trace of the changing book
# (a few seconds) written there, to see where the time goes (chrome://tracing, Perfetto).
TRACE = os.environ.get("BENCH_SCREEN_TRACE", "")
TRACE_CATEGORIES = [
    "devtools.timeline",
    "disabled-by-default-devtools.timeline",
    "disabled-by-default-devtools.timeline.frame",
    "blink",
    "cc",
    "viz",
    "gpu",
    "toplevel",
    "v8",
    "accessibility",
    "renderer.scheduler",
]


class BookDriver:
    """Publishes the paper book `rate` times a second on a thread of its own: with `moving`, the
    mid steps by a tick each time (every level's price changes, and the desk's marks move
    between levels); without, the same book is read again (fresh, unchanged)."""

    def __init__(self, instrument):
        self.symbol = symbol = instrument.symbol_id_exchange
        self.feed = Feed("PAPER", False, symbol)
        self.venue = PaperVenue(account_key="")
        self.tick = instrument.tick_size
        self.mid = engine.markets_get()[symbol].mid
        self.rate, self.moving, self.sent = 1.0, False, 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        client = redis_client()
        candles_read(self.venue, self.feed, client)
        book_read(self.venue, self.feed, client)
        self._thread = threading.Thread(target=self._run, args=(client,), daemon=True)
        self._thread.start()

    def pace(self, rate: float, *, moving: bool) -> None:
        self.rate, self.moving = rate, moving

    def _run(self, client) -> None:
        step = 0
        next_at = time.monotonic()
        while not self._stop.is_set():
            if self.moving:
                step += 1
                offset = (step % 20 - 10) * self.tick * 10  # back and forth over 20 steps
                engine.market_set_mid(self.symbol, self.mid + offset)
            book_read(self.venue, self.feed, client)
            self.sent += 1
            next_at += 1 / self.rate
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def chromium_cpu() -> float:
    """CPU seconds of every Chromium process under this one (the Playwright driver's children)."""
    total = 0.0
    for process in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "chrom" in process.name():
                times = process.cpu_times()
                total += times.user + times.system
    return total


def renderer_busy(cdp) -> dict[str, float]:
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    wanted = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")
    return {item["name"]: item["value"] for item in metrics if item["name"] in wanted}


def stretch(seconds: float, cdp=None, frames: list | None = None) -> dict:
    """Per cent of one core over `seconds`: all of Chromium, and its renderer's main thread."""
    cpu_before, wall_before = chromium_cpu(), time.monotonic()
    busy_before = renderer_busy(cdp) if cdp else {}
    frames_before = len(frames) if frames is not None else 0
    time.sleep(seconds)
    wall = time.monotonic() - wall_before
    measured = {"seconds": round(wall, 1)}
    measured["chromium_pct"] = round((chromium_cpu() - cpu_before) / wall * 100, 2)
    if cdp:
        after = renderer_busy(cdp)
        for name, value in after.items():
            measured[f"renderer_{name}_pct"] = round((value - busy_before[name]) / wall * 100, 2)
    if frames is not None:
        measured["book_frames_per_s"] = round((len(frames) - frames_before) / wall, 1)
    return measured


def run(ctx) -> list[Figure]:
    from playwright.sync_api import sync_playwright

    seconds = max(3.0, SECONDS * ctx.scale)
    account = ctx.open_desk()
    admin = fixtures.desk_user(f"bench-screen-cpu-{ctx.run}", DeskRole.ADMIN)
    cookie = fixtures.session_cookie(admin, second_factor=True)
    instrument = instrument_find(venue=account.venue, symbol=SYMBOL)
    base = f"http://127.0.0.1:{ctx.port}"
    query = urlencode({"account": account.pk, "instrument": instrument.symbol_id_coinapi})
    driver = BookDriver(instrument)
    driver.start()
    book_frames: list[float] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.context.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base}]
            )
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")
            page.goto("about:blank")
            time.sleep(SETTLE)
            blank = stretch(seconds, cdp)

            page.on("websocket", lambda ws: _count_books(ws, book_frames))
            page.goto(f"{base}/orders/trade/?{query}")
            page.locator("#book-bids button.level").first.wait_for(timeout=30000)
            rows = page.locator("#trade-live .working-order").count()
            time.sleep(SETTLE)
            idle = stretch(seconds, cdp, book_frames)

            driver.pace(CHANGES_PER_SECOND, moving=True)
            time.sleep(SETTLE)
            busy = stretch(seconds, cdp, book_frames)
            state = page.locator("#book-state").inner_text()
            if TRACE:
                trace_busy(browser, page, seconds=min(seconds, 5.0))
            browser.close()
    finally:
        driver.stop()
    # The book did change on the page (fewer than ten a second arrive when the harness's thread,
    # which moves the market and publishes, falls behind on a busy machine: see the detail).
    assert busy["book_frames_per_s"] >= CHANGES_PER_SECOND / 2, busy
    ctx.details["screen_cpu"] = {
        "seconds_each": seconds,
        "open_orders": ctx.open_orders,
        "working_rows_shown": rows,
        "book_state_at_the_end": state,
        "blank_page": blank,
        "screen_book_unchanged_read_each_second": idle,
        f"screen_book_changing_{CHANGES_PER_SECOND}_per_second": busy,
        "books_published": driver.sent,
        "chromium": CHROMIUM,
        "headless": True,
    }
    name = f"book changing {CHANGES_PER_SECOND}/s ({ctx.open_orders:,} open orders on the desk)"
    floor_name = "same screen, book unchanged"
    note = (
        f"{busy['book_frames_per_s']} books/s received; blank page "
        f"{blank['chromium_pct']} % (all processes)"
    )
    return [
        Figure(
            bench="screen_cpu",
            name=f"{name}: Chromium CPU, all processes",
            value=busy["chromium_pct"],
            unit="% of a core",
            floor=idle["chromium_pct"],
            floor_name=floor_name,
            target=("<=", 10),
            note=note,
        ),
        Figure(
            bench="screen_cpu",
            name=f"{name}: renderer main thread busy",
            value=busy["renderer_TaskDuration_pct"],
            unit="% of a core",
            floor=idle["renderer_TaskDuration_pct"],
            floor_name=floor_name,
            note=f"of which script {busy['renderer_ScriptDuration_pct']} %",
        ),
    ]


def trace_busy(browser, page, *, seconds: float) -> None:
    browser.start_tracing(page=page, path=TRACE, categories=TRACE_CATEGORIES)
    time.sleep(seconds)
    browser.stop_tracing()


def _count_books(ws, frames: list) -> None:
    if "/stream/market" in ws.url:
        ws.on(
            "framereceived",
            lambda payload: (
                frames.append(time.monotonic()) if '"type":"book"' in str(payload) else None
            ),
        )
