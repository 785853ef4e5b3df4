"""Every page of the desk, checked by axe-core (vendored in static/vendor/axe-core, loaded only
here) in a real browser, in both themes: no serious or critical violation."""

from __future__ import annotations

import pytest

from accounts.models import DeskMember, DeskRole
from orders.quotes import quotes_refresh
from tests.web import test_browser
from tests.web.test_browser import Problems, place, shoot, sign_in

pytestmark = test_browser.pytestmark

desk, browser = test_browser.desk, test_browser.browser

AXE = "/static/vendor/axe-core/axe.min.js"
BLOCKING = ("serious", "critical")
PAGES = [
    "/",
    "/balances/",
    "/orders/trade/",
    "/orders/ticket/",
    "/orders/blotter/",
    "/orders/history/",
    "/risk/",
    "/audit/",
    "/account/api-keys/",
    "/account/password/",
]


def violations(page, base: str) -> list[str]:
    """axe's serious and critical findings on the page as it is now, one line each."""
    # Through the page's own origin: the Content Security Policy allows no inline script.
    page.add_script_tag(url=f"{base}{AXE}")
    found = page.evaluate("axe.run(document).then(result => result.violations)")
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) at "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in found
        if v["impact"] in BLOCKING
    ]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_axe_finds_no_serious_violation_on_any_page(desk, live_server, browser, theme):
    base = live_server.url
    ann = DeskMember.objects.get(role=DeskRole.ADMIN).user
    quotes_refresh(venue="PAPER")
    order = place(desk, user=ann, client_order_id="checked")
    page = browser.new_page(color_scheme=theme)
    problems = Problems()
    problems.watch(page)
    page.goto(f"{base}/account/sign-in/")
    found = {"/account/sign-in/": violations(page, base)}
    sign_in(page, base, "ann", "ann-password-1")
    for path in [*PAGES, f"/orders/{order.pk}/"]:
        page.goto(f"{base}{path}")
        found[path] = violations(page, base)
    shoot(page, f"axe-last-page-{theme}")
    assert {path: lines for path, lines in found.items() if lines} == {}
    assert problems == []
