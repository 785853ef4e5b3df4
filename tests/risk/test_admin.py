"""Desk admins set limits and states in the admin site; each change goes through the services
(audited, in force for the next order) and, like every admin change, needs a fresh code."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from accounts.models import AuditEvent, DeskMember, DeskRole
from orders.services import OrderInvalid, order_submit
from risk.models import RiskLimits, ScopeState
from tests.factories import UserFactory
from tests.web.conftest import client_for
from tests.web.second_factor import verified_client

from .conftest import ticket

pytestmark = pytest.mark.django_db
ADD_LIMITS = "/admin/risk/risklimits/add/"


def limits_form(**fields) -> dict:
    return {"reference_max_age_seconds": "30", **fields}


def test_a_desk_admin_sets_limits_that_the_next_order_meets_and_the_change_is_audited(
    account, admin_client, admin_user
):
    response = admin_client.post(ADD_LIMITS, limits_form(max_order_notional_usd="1000"))
    assert response.status_code == 302
    limits = RiskLimits.objects.get()
    assert (limits.scope, limits.updated_by) == ("desk", admin_user)
    entry = AuditEvent.objects.get(action="RISK_LIMITS")
    assert (entry.actor, entry.target, entry.detail["max_order_notional_usd"]) == (
        admin_user, "the desk", "1000",
    )  # fmt: skip
    with pytest.raises(OrderInvalid, match="Max notional of one order for the desk: 1000 USD"):
        order_submit(account=account, ticket=ticket())

    admin_client.post(
        f"/admin/risk/risklimits/{limits.pk}/change/",
        limits_form(max_order_notional_usd="", max_working_orders="5"),
    )
    assert order_submit(account=account, ticket=ticket()).amount_order == Decimal("0.1")


def test_an_instrument_list_with_a_typo_is_a_form_error(account, admin_client):
    response = admin_client.post(ADD_LIMITS, limits_form(denied_instruments="BTC/USDD"))
    assert response.status_code == 200
    assert "No instrument BTC/USDD" in response.content.decode()
    assert not RiskLimits.objects.exists()


def test_one_scope_has_one_row_of_limits(account, admin_client):
    admin_client.post(ADD_LIMITS, limits_form(account=account.pk, max_working_orders="3"))
    again = admin_client.post(ADD_LIMITS, limits_form(account=account.pk, max_working_orders="9"))
    assert "This scope has its limits already" in again.content.decode()
    assert RiskLimits.objects.get().max_working_orders == 3


def test_a_trader_with_the_admin_site_sees_no_risk_controls(account):
    trader = UserFactory(username="tess", is_staff=True)
    DeskMember.objects.create(user=trader, role=DeskRole.TRADER)
    client = client_for(trader)
    assert client.get("/admin/risk/risklimits/").status_code == 403
    assert client.post(ADD_LIMITS, limits_form(max_working_orders="0")).status_code == 403
    assert client.get("/admin/risk/scopestate/").status_code == 403
    assert not RiskLimits.objects.exists()


def test_an_admin_halts_an_account_and_resumes_it_through_the_services(account, admin_client):
    admin_client.post(
        "/admin/risk/scopestate/add/",
        {"account": account.pk, "state": "HALTED", "reason": "venue incident"},
    )
    row = ScopeState.objects.get(account=account)
    assert (row.state, row.reason) == ("HALTED", "venue incident")
    with pytest.raises(OrderInvalid, match="halted on account PAPER/TEST"):
        order_submit(account=account, ticket=ticket())

    admin_client.post("/admin/risk/scopestate/", {"action": "resume", "_selected_action": [row.pk]})
    assert ScopeState.objects.get(pk=row.pk).state == "ACTIVE"
    assert list(
        AuditEvent.objects.filter(action="TRADING_STATE")
        .order_by("id")
        .values_list("detail__state", flat=True)
    ) == ["HALTED", "ACTIVE"]
    assert order_submit(account=account, ticket=ticket()).status == "RECEIVED"


def test_changing_limits_needs_a_fresh_second_factor(account, django_user_model, settings):
    settings.EMSWEB_REQUIRE_2FA = True
    boss = django_user_model.objects.create_superuser("boss", password="pw-bossbossboss")
    admin = verified_client(boss)
    with time_machine.travel(timezone.now() + timedelta(minutes=6), tick=False):
        refused = admin.post(ADD_LIMITS, limits_form(max_working_orders="1"))
        assert refused.status_code == 302 and "/account/2fa/verify/" in refused["Location"]
        resumed = admin.post("/admin/risk/scopestate/add/", {"state": "ACTIVE"})
        assert resumed.status_code == 302 and "/account/2fa/verify/" in resumed["Location"]
    assert not RiskLimits.objects.exists()
    assert (
        AuditEvent.objects.filter(
            action="TWO_FACTOR", detail__change="refused: step-up code needed"
        ).count()
        == 2
    )


def test_the_risk_pages_of_the_admin_site_render(account, admin_client, set_limits):
    limits = set_limits(account=account, max_working_orders=3)
    pages = [
        "/admin/risk/risklimits/", ADD_LIMITS, f"/admin/risk/risklimits/{limits.pk}/change/",
        "/admin/risk/scopestate/", "/admin/risk/scopestate/add/",
    ]  # fmt: skip
    for page in pages:
        assert admin_client.get(page).status_code == 200, page
    change = admin_client.get(f"/admin/risk/risklimits/{limits.pk}/change/").content.decode()
    assert "Max working orders: 0 of 3" in change
