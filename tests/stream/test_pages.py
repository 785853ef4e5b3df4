"""What an open page is pushed for a batch of events (stream.pages): the parts of that page the
events touch, rendered as its polling view renders them, with the same permissions."""

import re
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from accounts.models import Balance, ExchangeAccount
from risk.services import trading_halt
from stream.messages import messages_build
from stream.pages import CSRF_PARAM, page_fragments, page_params
from stream.reader import Event, event_of
from stream.sequencer import sequence_pending
from tests.factories import BalanceFactory, OrderFactory
from tests.web import conftest as web
from tests.web.test_risk_page import HTMX

pytestmark = pytest.mark.django_db

# The web pages' fixtures: a desk of two accounts and one user per role.
desk, trader_web, admin_web = web.desk, web.trader_web, web.admin_web

CSRF_COOKIE = "a" * 32  # a CSRF secret as the browser's cookie holds it


def events_of(*subjects) -> list[Event]:
    """The events the sequencer would hand out for these (kind, row), with their real messages."""
    built = messages_build((kind, row.pk) for kind, row in subjects)
    return [
        event_of(
            seq,
            kind,
            row.pk if kind == "account" else row.account_id,
            built[(kind, row.pk)],
        )
        for seq, (kind, row) in enumerate(subjects, start=1)
    ]


def push(user, page: str, events, **params) -> str | None:
    return page_fragments(
        user=user, page=page, params={CSRF_PARAM: CSRF_COOKIE, **params}, events=events
    )


OOB = ' hx-swap-oob="outerHTML"'
PARENTS = '<section id="algo-parents"'


def without_tokens(html: str) -> str:
    """The page's HTML with each CSRF token blanked: a token is masked afresh per render."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "csrf", html)


def test_an_order_event_pushes_the_blotter_rows_as_an_out_of_band_swap(desk):
    trader = desk["users"]["TRADER"]
    order = OrderFactory(account=desk["account"], status="NEW", client_order_id="pushed-1")
    html = push(trader, "blotter", events_of(("order", order)))
    assert html.startswith('<table><tbody id="blotter-rows"')
    assert 'hx-swap-oob="outerHTML"' in html
    assert f'id="order-{order.pk}" data-status="NEW"' in html
    assert f'action="/orders/{order.pk}/cancel/"' in html


def test_the_pushed_blotter_rows_are_those_a_poll_returns(desk, trader_web):
    trader = desk["users"]["TRADER"]
    OrderFactory(account=desk["account"], status="PARTIALLY_FILLED")
    OrderFactory(account=desk["other"], status="NEW")
    pushed = push(trader, "blotter", None, all="1")
    rows, parents = pushed.split(PARENTS, 1)
    rows = rows.strip().removeprefix("<table>").removesuffix("</table>")
    polled = trader_web.get("/orders/blotter/rows/?v=-1&all=1").content.decode().strip()
    assert without_tokens(rows.replace(OOB, "")) == without_tokens(polled)
    polled = trader_web.get("/algos/rows/").content.decode().strip()
    assert without_tokens(PARENTS + parents.replace(OOB, "")) == without_tokens(polled)


def test_an_order_event_pushes_the_parents_only_when_the_order_may_be_an_algos_child(desk):
    trader = desk["users"]["TRADER"]
    manual = OrderFactory(account=desk["account"], status="NEW", client_order_id="by-hand-1")
    child = OrderFactory(account=desk["account"], status="NEW", client_order_id="algo-7-1")
    by_hand = push(trader, "blotter", events_of(("order", manual)))
    assert f'id="order-{manual.pk}"' in by_hand and PARENTS not in by_hand
    assert PARENTS in push(trader, "blotter", events_of(("order", child)))
    assert PARENTS in push(trader, "blotter", events_of(("account", desk["account"])))


def test_an_algos_event_pushes_the_blotters_parents_which_it_polls_only_without_a_stream(desk):
    """The blotter loads its algos' parents once; the stream pushes them, on an event of an
    algo's as on its children's, and their part polls only while the stream is down."""
    trader = desk["users"]["TRADER"]
    event = event_of(1, "parent", desk["account"].pk, '{"type": "StatusChange", "id": "1"}')
    html = push(trader, "blotter", [event])
    assert html.startswith(PARENTS)  # the rows did not move
    section = html[html.index(PARENTS) :]
    assert section.startswith('<section id="algo-parents"') and OOB in section
    assert "data-poll" in section.split(">", 1)[0]


def test_pushed_cancel_forms_carry_a_token_of_the_connections_csrf_cookie(desk):
    OrderFactory(account=desk["account"], status="NEW")
    html = push(desk["users"]["TRADER"], "blotter", None)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]*)"', html).group(1)
    assert len(token) == 64 and token != CSRF_COOKIE  # masked, as Django's forms carry it


def test_a_trader_is_pushed_cancel_buttons_only_for_accounts_granted_and_a_viewer_none(desk):
    mine = OrderFactory(account=desk["account"], status="NEW")
    theirs = OrderFactory(account=desk["other"], status="NEW")
    events = events_of(("order", mine), ("order", theirs))
    trader = push(desk["users"]["TRADER"], "blotter", events)
    assert f'/orders/{mine.pk}/cancel/"' in trader
    assert f'/orders/{theirs.pk}/cancel/"' not in trader and f"order-{theirs.pk}" in trader
    viewer = push(desk["users"]["VIEWER"], "blotter", events)
    assert f"order-{mine.pk}" in viewer and "/cancel/" not in viewer


def test_a_balance_event_is_not_pushed_to_the_blotter_and_an_order_event_not_to_the_balances(
    desk,
):
    admin = desk["users"]["ADMIN"]
    balance = Balance.objects.get(account=desk["account"])
    order = OrderFactory(account=desk["account"], status="NEW")
    assert push(admin, "blotter", events_of(("balance", balance))) is None
    assert push(admin, "balances", events_of(("order", order))) is None
    assert push(admin, "blotter", []) is None


def test_a_page_that_connects_is_pushed_all_of_its_live_parts(desk):
    admin = desk["users"]["ADMIN"]
    order = OrderFactory(account=desk["account"], status="NEW")
    assert f"order-{order.pk}" in push(admin, "blotter", None)
    assert 'id="overview-live"' in push(admin, "overview", None)
    assert 'id="balance-tables"' in push(admin, "balances", None)
    assert 'id="order-detail"' in push(admin, "order", None, id=str(order.pk))
    assert 'id="outcome"' in push(admin, "ticket", None, id=str(order.pk))


def test_a_page_the_stream_does_not_know_or_a_signed_out_user_gets_nothing(desk):
    admin = desk["users"]["ADMIN"]
    assert push(admin, "history", None) is None
    assert push(admin, "order", None, id="12abc") is None
    admin.is_active = False
    assert push(admin, "blotter", None) is None


def test_the_order_detail_is_pushed_for_its_own_order_only(desk):
    admin = desk["users"]["ADMIN"]
    order = OrderFactory(account=desk["account"], status="NEW", client_order_id="watched")
    other = OrderFactory(account=desk["account"], status="NEW", client_order_id="not-watched")
    assert push(admin, "order", events_of(("order", other)), id=str(order.pk)) is None
    html = push(admin, "order", events_of(("order", other), ("order", order)), id=str(order.pk))
    assert html.startswith('<section id="order-detail" hx-swap-oob="outerHTML"')
    assert "watched" in html and "Cancel this order" in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_the_order_detail_pushed_to_a_viewer_has_no_cancel(desk):
    order = OrderFactory(account=desk["account"], status="NEW")
    html = push(desk["users"]["VIEWER"], "order", events_of(("order", order)), id=str(order.pk))
    assert 'id="order-detail"' in html and "Cancel this order" not in html


def test_a_settled_order_is_pushed_without_its_polling_and_stream(desk):
    order = OrderFactory(account=desk["account"], status="FILLED", amount_open=Decimal(0))
    order.amount_filled, order.avg_px = Decimal(1), Decimal(50000)
    order.save()
    html = push(desk["users"]["ADMIN"], "order", events_of(("order", order)), id=str(order.pk))
    assert "data-stream" not in html and "data-poll" not in html
    outcome = push(desk["users"]["ADMIN"], "ticket", events_of(("order", order)), id=str(order.pk))
    assert 'data-toast="' in outcome and "data-stream" not in outcome


def test_the_tickets_outcome_follows_its_order_while_it_routes(desk):
    order = OrderFactory(account=desk["account"], status="ROUTING")
    html = push(desk["users"]["TRADER"], "ticket", events_of(("order", order)), id=str(order.pk))
    assert html.startswith('<div id="outcome" class="outcome" hx-swap-oob="outerHTML"')
    assert f'data-stream="page=ticket&amp;id={order.pk}"' in html and "data-poll" in html


def test_a_balance_event_pushes_the_balances_and_says_syncing_until_every_account_synced(desk):
    admin = desk["users"]["ADMIN"]
    balance = Balance.objects.get(account=desk["account"])
    asked = timezone.now().isoformat()
    html = push(admin, "balances", events_of(("balance", balance)), refresh=asked)
    assert 'hx-swap-oob="outerHTML"' in html and "Syncing" in html and "data-poll" in html
    ExchangeAccount.objects.update(last_sync_at=timezone.now())
    html = push(admin, "balances", events_of(("balance", balance)), refresh=asked)
    assert "Syncing" not in html and "data-poll" not in html


def test_the_overview_is_pushed_for_every_kind_of_event(desk):
    admin = desk["users"]["ADMIN"]
    balance = BalanceFactory(
        account=desk["account"], asset_id_exchange="BTC", balance=2, available=2
    )
    order = OrderFactory(account=desk["account"], status="NEW")
    for subject in [("balance", balance), ("order", order), ("account", desk["account"])]:
        html = push(admin, "overview", events_of(subject))
        assert html.startswith('<div id="overview-live"'), subject[0]
        assert "BTC" in html


def test_a_connection_names_its_page_and_brings_its_csrf_cookie_never_the_querys():
    page, params = page_params(
        query={"page": "blotter", "all": "1", CSRF_PARAM: "forged"},
        cookies={settings.CSRF_COOKIE_NAME: CSRF_COOKIE},
    )
    assert page == "blotter" and params == {"all": "1", CSRF_PARAM: CSRF_COOKIE}
    assert page_params(query={}, cookies={}) == ("", {CSRF_PARAM: ""})


def risk_row(html: str, account) -> str:
    """One account's row of the risk page, its tags left in (its tokens blanked)."""
    row = re.search(rf'<tr id="scope-account{account.pk}".*?</tr>', html, re.S).group(0)
    return without_tokens(row)


def test_an_order_event_pushes_the_risk_page_with_the_usage_it_makes(desk):
    admin = desk["users"]["ADMIN"]
    before = push(admin, "risk", None)
    order = OrderFactory(account=desk["account"], status="NEW")
    html = push(admin, "risk", events_of(("order", order)))
    assert html.startswith('<section id="risk" data-stream="page=risk" hx-swap-oob="outerHTML"')
    assert "data-poll" in html
    assert risk_row(html, desk["account"]) != risk_row(before, desk["account"])
    assert risk_row(html, desk["other"]) == risk_row(before, desk["other"])


def test_the_pushed_risk_page_is_what_a_poll_returns(desk, admin_web):
    with time_machine.travel(timezone.now(), tick=False):
        OrderFactory(account=desk["account"], status="NEW")
        trading_halt(accounts=[desk["other"]], user=desk["users"]["ADMIN"])
        pushed = push(desk["users"]["ADMIN"], "risk", None)
        polled = admin_web.get("/risk/", headers=HTMX).content.decode().strip()
    assert without_tokens(pushed.replace(' hx-swap-oob="outerHTML"', "")) == without_tokens(polled)


def test_a_halt_pushes_the_risk_page_with_a_resume_form_for_an_admin_and_none_for_a_viewer(desk):
    sequence_pending()
    trading_halt(accounts=[desk["other"]], user=desk["users"]["ADMIN"], reason="venue incident")
    events = sequence_pending()
    html = push(desk["users"]["ADMIN"], "risk", events)
    admin = risk_row(html, desk["other"])
    assert 'data-state="HALTED"' in admin and "venue incident" in admin
    assert f'action="/risk/resume/{desk["other"].pk}/"' in admin
    # Every form (the desk's halt, each account's halt or resume) carries its token.
    assert html.count('name="csrfmiddlewaretoken" value="') == html.count("<form") == 3
    viewer = risk_row(push(desk["users"]["VIEWER"], "risk", events), desk["other"])
    assert 'data-state="HALTED"' in viewer and "<form" not in viewer


def test_a_balance_event_is_not_pushed_to_the_risk_page(desk):
    balance = Balance.objects.get(account=desk["account"])
    assert push(desk["users"]["ADMIN"], "risk", events_of(("balance", balance))) is None
