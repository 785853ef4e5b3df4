"""The Algo pages in a real browser (Chromium, against the server as production runs it, a real
worker routing to the paper exchange): the Algo ticket starts a TWAP, the blotter shows the
parent with its progress bar and its children folded under it, its page charts the fills
against the schedule, and pause, resume and cancel do what they say."""

from __future__ import annotations

import re

import pytest

from algos.models import ParentOrder
from tests.algos.test_worker_killed import Beat
from tests.conftest import wait_for
from tests.stream.live import WebServer
from tests.web import test_browser
from tests.web.test_browser import Problems, shoot, sign_in

pytestmark = test_browser.pytestmark
desk, browser = test_browser.desk, test_browser.browser


@pytest.fixture
def web_server(desk):
    server = WebServer("algos")
    yield server
    server.stop()


@pytest.fixture
def beat(desk):
    ticking = Beat()
    ticking.start()
    yield ticking
    ticking.stopped.set()
    ticking.join()


def test_an_algo_started_on_the_ticket_is_watched_and_steered_on_the_blotter(
    browser, web_server, beat
):
    base = f"http://127.0.0.1:{web_server.port}"
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = Problems()
    problems.watch(page)
    sign_in(page, base, "ann", "ann-password-1")

    page.goto(f"{base}/orders/ticket/")
    page.get_by_role("link", name="Algo", exact=True).click()
    page.wait_for_url(re.compile(r"/algos/new/"))
    page.get_by_label("PAPER/WEB").check()
    page.fill("input[name=amount]", "0.2")
    page.fill("input[name=duration]", "40SEC")
    page.fill("input[name=interval]", "4SEC")
    page.get_by_role("button", name="Start").click()
    page.wait_for_url(re.compile(r"/algos/\d+/$"))
    parent = ParentOrder.objects.get()
    wait_for(lambda: page.locator("#algo-chart canvas").count() > 0, what="the chart")
    wait_for(
        lambda: int(page.locator("#algo-chart").get_attribute("data-points") or 0) > 0,
        timeout=30,
        what="a fill on the chart",
    )
    shoot(page, "algo-detail")

    page.goto(f"{base}/orders/blotter/")
    row = page.locator(f"tbody.parent[data-parent='{parent.pk}']")
    row.wait_for()
    assert row.locator("progress").count() == 1
    row.get_by_text(re.compile(r"child order")).click()  # unfold the children
    row.get_by_text(f"algo-{parent.pk}-0").wait_for()
    shoot(page, "algo-blotter")

    row.get_by_role("button", name="Pause").click()
    wait_for(lambda: ParentOrder.objects.get().status == "Paused", what="paused")
    page.locator(f"tbody.parent[data-parent='{parent.pk}']").get_by_role(
        "button", name="Resume"
    ).click()
    wait_for(lambda: ParentOrder.objects.get().status == "Running", what="resumed")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"tbody.parent[data-parent='{parent.pk}']").get_by_role(
        "button", name="Cancel"
    ).click()
    wait_for(lambda: ParentOrder.objects.get().status == "Cancelled", what="cancelled")
    page.locator(f"tbody.parent[data-parent='{parent.pk}']").get_by_text(
        "Cancelled"
    ).first.wait_for()
    assert problems == []
