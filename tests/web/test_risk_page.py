"""The risk page: every desk member reads each scope's usage against its limits and its trading
state, polled; only a desk admin halts and resumes from it, through risk.services (audited), and
resuming asks for a fresh code where the desk asks for codes."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import strip_tags

from accounts.models import AuditEvent, ExchangeAccount
from orders.services import orders_kill_switch
from risk.models import RiskLimits, ScopeState, TradingState
from risk.services import risk_limits_save, trading_halt
from tests.factories import AccountFactory, OrderFactory
from tests.web.conftest import client_for
from tests.web.second_factor import verified_client

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def state_of(account: ExchangeAccount | None = None) -> str:
    row = ScopeState.objects.filter(account=account).first()
    return row.state if row else TradingState.ACTIVE


def row_text(page, scope: str) -> str:
    """The text of one scope's row (`desk`, `account5`, `trader3`), as a reader sees it."""
    html = page.content.decode()
    found = re.search(rf'<tr id="scope-{scope}"[^>]*>(.*?)</tr>', html, re.S)
    assert found, f"no row for {scope}"
    return " ".join(strip_tags(found.group(1)).split())


def limits(admin, **fields) -> None:
    scope = {name: fields.pop(name) for name in ("account", "user") if name in fields}
    row = RiskLimits.objects.filter(**scope).first() or RiskLimits(**scope)
    for name, value in fields.items():
        setattr(row, name, value)
    risk_limits_save(limits=row, user=admin, changed=list(fields))


def trader_kill_switch(desk) -> None:
    """The trader presses the kill switch: their account is HALTED, the desk stays ACTIVE."""
    orders_kill_switch(accounts=[desk["account"]], user=desk["users"]["TRADER"])
    assert state_of(desk["account"]) == TradingState.HALTED


@pytest.mark.parametrize("role", ["ADMIN", "TRADER", "VIEWER"])
def test_every_desk_member_reaches_the_risk_page_from_the_navigation(desk, role):
    client = client_for(desk["users"][role])
    assert '<a href="/risk/"' in client.get("/").content.decode()
    page = client.get("/risk/")
    assert page.status_code == 200
    assert 'aria-current="page">Risk</a>' in page.content.decode()


def test_the_page_shows_each_scopes_usage_against_its_limits_and_its_state(desk, admin_web):
    admin, trader = desk["users"]["ADMIN"], desk["users"]["TRADER"]
    account, other = desk["account"], desk["other"]
    limits(admin, max_working_orders=5, max_order_notional_usd=Decimal("250000"))
    limits(admin, account=account, max_working_orders=2, denied_instruments="BTC/USD")
    limits(admin, user=trader, max_orders_per_minute=10)
    for _ in range(2):
        OrderFactory(account=account, status="NEW", created_by=trader)
    for _ in range(2):
        OrderFactory(account=other, status="NEW")
    trading_halt(accounts=[other], user=admin, reason="venue incident")

    page = admin_web.get("/risk/")

    desk_row = row_text(page, "desk")
    assert desk_row.startswith("the desk Active")
    assert "4 / 5 near" in desk_row  # 80% of the limit used
    assert "250,000" in desk_row  # one order's notional: checked order by order
    on_account = row_text(page, f"account{account.pk}")
    assert "2 / 2 reached" in on_account and "BTC/USD" in on_account
    on_other = row_text(page, f"account{other.pk}")
    assert on_other.startswith("account PAPER/OTHER Halted by admin")
    assert "venue incident" in on_other
    by_trader = row_text(page, f"trader{trader.pk}")
    assert by_trader.startswith("trader trader —")  # a trader has no state of their own
    assert "2 / 10" in by_trader  # orders in the last minute


def test_a_viewer_sees_the_states_but_has_no_buttons_and_cannot_act(desk, viewer_web):
    trader_kill_switch(desk)
    page = viewer_web.get("/risk/")
    assert "Halted" in row_text(page, f"account{desk['account'].pk}")
    assert "Resume" not in page.content.decode() and ">Halt<" not in page.content.decode()

    assert viewer_web.post(f"/risk/resume/{desk['account'].pk}/").status_code == 403
    assert viewer_web.post("/risk/halt/").status_code == 403
    assert (state_of(desk["account"]), state_of()) == (TradingState.HALTED, TradingState.ACTIVE)
    refused = AuditEvent.objects.filter(action="REFUSED", actor=desk["users"]["VIEWER"])
    assert sorted(refused.values_list("target", flat=True)) == [
        "POST /risk/halt/", f"POST /risk/resume/{desk['account'].pk}/",
    ]  # fmt: skip


def test_a_trader_cannot_resume_nor_halt_from_the_page(desk, trader_web):
    trader_kill_switch(desk)
    assert "Resume" not in trader_web.get("/risk/").content.decode()
    assert trader_web.post(f"/risk/resume/{desk['account'].pk}/").status_code == 403
    assert trader_web.post(f"/risk/halt/{desk['other'].pk}/").status_code == 403
    assert (state_of(desk["account"]), state_of(desk["other"])) == (
        TradingState.HALTED, TradingState.ACTIVE,
    )  # fmt: skip


def test_a_desk_admin_resumes_a_halted_account_and_the_resume_is_audited(desk, admin_web):
    trader_kill_switch(desk)
    account = desk["account"]
    page = admin_web.get("/risk/")
    resume = f'action="/risk/resume/{account.pk}/"'
    assert resume in page.content.decode()
    assert 'action="/risk/resume/"' not in page.content.decode()  # the desk is not halted

    response = admin_web.post(f"/risk/resume/{account.pk}/", REMOTE_ADDR="192.0.2.7")
    assert (response.status_code, response["Location"]) == (302, "/risk/")
    assert state_of(account) == TradingState.ACTIVE
    resumed = AuditEvent.objects.filter(action="TRADING_STATE").latest("id")
    assert (resumed.actor, resumed.target, resumed.ip, resumed.detail) == (
        desk["users"]["ADMIN"], "PAPER/DESK", "192.0.2.7",
        {"state": "ACTIVE", "was": "HALTED", "reason": "Risk page"},
    )  # fmt: skip
    after = admin_web.get("/risk/")
    assert "Trading resumed on account PAPER/DESK." in after.content.decode()
    assert row_text(after, f"account{account.pk}").startswith("account PAPER/DESK Active")


def test_a_desk_admin_halts_the_desk_then_an_account_from_the_page(desk, admin_web):
    assert admin_web.post("/risk/halt/").status_code == 302
    assert state_of() == TradingState.HALTED
    page = admin_web.get("/risk/").content.decode()
    assert "The desk is halted" in page and 'action="/risk/resume/"' in page

    admin_web.post(f"/risk/halt/{desk['other'].pk}/")
    assert (state_of(desk["other"]), state_of(desk["account"])) == (
        TradingState.HALTED, TradingState.ACTIVE,
    )  # fmt: skip
    halts = AuditEvent.objects.filter(action="TRADING_STATE", actor=desk["users"]["ADMIN"])
    assert sorted(halts.values_list("target", "detail__reason")) == [
        ("PAPER/OTHER", "Risk page"), ("desk", "Risk page"),
    ]  # fmt: skip


def test_acting_on_an_account_that_does_not_exist_is_a_404_and_changes_nothing(desk, admin_web):
    assert admin_web.post("/risk/halt/999999/").status_code == 404
    assert admin_web.post("/risk/resume/999999/").status_code == 404
    assert not ScopeState.objects.exclude(state=TradingState.ACTIVE).exists()
    assert not AuditEvent.objects.filter(action="TRADING_STATE").exists()
    assert admin_web.post(f"/risk/halt/{desk['other'].pk}/").status_code == 302  # one that does
    assert state_of(desk["other"]) == TradingState.HALTED


def test_resuming_needs_a_fresh_code_where_the_desk_asks_for_codes(desk, settings):
    settings.EMSWEB_REQUIRE_2FA = True
    trader_kill_switch(desk)
    url = f"/risk/resume/{desk['account'].pk}/"
    admin = verified_client(desk["users"]["ADMIN"])
    later = timezone.now() + timedelta(minutes=6)
    with time_machine.travel(later, tick=False):
        stale = admin.post(url)
        assert stale.status_code == 302 and "/account/2fa/verify/" in stale["Location"]
        assert state_of(desk["account"]) == TradingState.HALTED
        assert AuditEvent.objects.filter(
            action="TWO_FACTOR", detail__change="refused: step-up code needed"
        ).exists()
        # Once the code is typed, the code page sends the browser back here, by GET: the page.
        assert admin.get(url)["Location"] == "/risk/"
        assert state_of(desk["account"]) == TradingState.HALTED
        # Halting never waits for a code: it only stops new orders, like the kill switch.
        assert admin.post("/risk/halt/").status_code == 302
        assert state_of() == TradingState.HALTED

    with time_machine.travel(later + timedelta(seconds=31), tick=False):  # the next TOTP step
        stepped_up = verified_client(desk["users"]["ADMIN"])
        assert stepped_up.post(url)["Location"] == "/risk/"
        assert state_of(desk["account"]) == TradingState.ACTIVE


def test_a_post_without_its_csrf_token_is_refused(desk):
    trader_kill_switch(desk)
    admin = Client(enforce_csrf_checks=True)
    admin.force_login(desk["users"]["ADMIN"])
    assert admin.post(f"/risk/resume/{desk['account'].pk}/").status_code == 403
    assert admin.post("/risk/halt/").status_code == 403
    assert (state_of(desk["account"]), state_of()) == (TradingState.HALTED, TradingState.ACTIVE)


def test_a_poll_gets_the_scopes_alone_and_nothing_while_nothing_changes(desk, admin_web):
    poll = admin_web.get("/risk/", headers=HTMX)
    html = poll.content.decode().strip()
    assert html.startswith('<section id="risk"') and "<html" not in html
    seen = re.search(r'hx-get="/risk/\?seen=(\w+)"', html).group(1)

    assert admin_web.get(f"/risk/?seen={seen}", headers=HTMX).status_code == 204
    OrderFactory(account=desk["account"], status="NEW")
    changed = admin_web.get(f"/risk/?seen={seen}", headers=HTMX)
    assert changed.status_code == 200
    assert row_text(changed, "desk") != row_text(poll, "desk")
    # Without htmx (a reload, a bookmark) the whole page comes back, whatever `seen` says.
    assert "<html" in admin_web.get(f"/risk/?seen={seen}").content.decode()


def test_the_page_costs_the_same_queries_whatever_the_number_of_accounts(desk, admin_web):
    trading_halt(accounts=[desk["other"]], user=desk["users"]["ADMIN"])
    admin_web.get("/risk/")  # the rules' copy is made
    with CaptureQueriesContext(connection) as few:
        admin_web.get("/risk/")
    for n in range(10):
        account = AccountFactory(exchange_id=f"PAPER/MORE{n}", tag=f"MORE{n}")
        OrderFactory(account=account, status="NEW")
    trading_halt(accounts=[account], user=desk["users"]["ADMIN"])
    admin_web.get("/risk/")
    with CaptureQueriesContext(connection) as many:
        page = admin_web.get("/risk/")
    assert len(many) == len(few)
    assert page.content.decode().count('<tr id="scope-account') == 12


def test_the_page_asks_again_once_when_its_figures_lapse_with_nothing_written(desk, admin_web):
    """An order leaves the last second: no write tells the stream, so the page asks, once."""
    accepted = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    OrderFactory(account=desk["account"], status="NEW", created_at=accepted)
    with time_machine.travel(accepted + timedelta(milliseconds=300), tick=False):
        html = admin_web.get("/risk/", headers=HTMX).content.decode()
    # 700 ms left of the second, and the margin that keeps it from asking early.
    assert re.search(
        r'<span id="risk-lapse" hidden hx-get="/risk/" hx-trigger="load delay:800ms"', html
    )
