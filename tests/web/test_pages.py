from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.staticfiles import finders
from django.db import connection
from django.templatetags.static import static
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AuditEvent
from orders.changes import changes_version
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def test_the_blotter_lists_open_orders_in_a_fixed_number_of_queries(desk, admin_web):
    for status in ("NEW", "PARTIALLY_FILLED", "PENDING_CANCEL"):
        OrderFactory(account=desk["account"], status=status)
    with CaptureQueriesContext(connection) as few:
        admin_web.get("/orders/blotter/")
    for _ in range(20):
        OrderFactory(account=desk["account"], status="NEW")
    with CaptureQueriesContext(connection) as many:
        page = admin_web.get("/orders/blotter/")
    assert len(many) == len(few)
    assert page.content.decode().count('data-status="NEW"') == 21


def test_a_blotter_poll_that_finds_nothing_new_costs_no_database_query(desk, admin_web):
    version = changes_version()
    with CaptureQueriesContext(connection) as queries:
        response = admin_web.get(f"/orders/blotter/rows/?v={version}")
    assert response.status_code == 204
    assert len(queries) == 0


def test_a_blotter_poll_after_a_change_returns_the_rows(desk, admin_web):
    response = admin_web.get("/orders/blotter/rows/?v=-5")
    assert response.status_code == 200 and b'id="blotter-rows"' in response.content


def test_the_blotter_says_plainly_when_an_outcome_is_being_reconciled(desk, admin_web):
    OrderFactory(
        account=desk["account"],
        status="ROUTING",
        routing_started_at=timezone.now() - timedelta(minutes=1),
        outcome_unknown_at=timezone.now(),
    )
    assert "Reconciling" in admin_web.get("/orders/blotter/").content.decode()


def test_history_pages_are_keyset_paged_in_a_fixed_number_of_queries(desk, admin_web, settings):
    settings.EMSWEB_HISTORY_PAGE_SIZE = 5
    start = timezone.now() - timedelta(days=1)
    for n in range(12):
        OrderFactory(
            account=desk["account"], status="FILLED", created_at=start + timedelta(minutes=n)
        )
    with CaptureQueriesContext(connection) as first_queries:
        first = admin_web.get("/orders/history/")
    cursor = first.context["page"].next_cursor
    with CaptureQueriesContext(connection) as second_queries:
        second = admin_web.get("/orders/history/", {"after": cursor})
    first_ids = [order["pk"] for order in first.context["page"].orders]
    second_ids = [order["pk"] for order in second.context["page"].orders]
    assert len(first_ids) == len(second_ids) == 5
    assert first_ids == sorted(first_ids, reverse=True) and max(second_ids) < min(first_ids)
    assert len(first_queries) == len(second_queries)


def test_history_filters_and_finds_an_order_by_its_id(desk, admin_web):
    wanted = OrderFactory(account=desk["account"], status="FILLED", exchange_order_id="X-42")
    OrderFactory(account=desk["other"], status="CANCELED")
    by_id = admin_web.get("/orders/history/", {"q": "X-42"}).context["page"].orders
    by_status = admin_web.get("/orders/history/", {"status": "CANCELED"}).context["page"].orders
    assert [order["pk"] for order in by_id] == [wanted.pk]
    assert [order["account_id"] for order in by_status] == [desk["other"].pk]


def test_the_csv_export_streams_the_filtered_set(desk, admin_web):
    OrderFactory(account=desk["account"], status="FILLED", price=Decimal("0.11000"))
    OrderFactory(account=desk["other"], status="FILLED")
    response = admin_web.get("/orders/history.csv", {"account": desk["account"].pk})
    assert response.streaming and response["Content-Type"] == "text/csv"
    lines = b"".join(response.streaming_content).decode().strip().splitlines()
    assert lines[0].startswith("created_at,client_order_id")
    assert len(lines) == 2 and ",0.11," in lines[1]


def test_the_ticket_check_names_each_problem_next_to_its_field(desk, trader_web):
    response = trader_web.post(
        "/orders/ticket/check/",
        {"account": desk["account"].pk, "symbol": "BTC/USD", "side": "BUY", "amount": "0.00001",
         "price": "40000", "time_in_force": "GOOD_TILL_CANCEL", "client_order_id": "c"},
    )  # fmt: skip
    content = response.content.decode()
    assert 'id="error-amount"' in content and "below the minimum" in content
    assert 'hx-swap-oob="true"' in content


def test_placing_an_order_is_audited(desk, trader_web):
    trader_web.post(
        "/orders/ticket/submit/",
        {"account": desk["account"].pk, "symbol": "BTC/USD", "side": "BUY", "amount": "0.1",
         "price": "40000", "time_in_force": "GOOD_TILL_CANCEL", "client_order_id": "audited"},
    )  # fmt: skip
    event = AuditEvent.objects.get(action="ORDER_PLACED")
    assert event.actor == desk["users"]["TRADER"] and event.target == "audited"


def test_audit_events_are_append_only(desk):
    event = AuditEvent.objects.create(action="SIGN_IN", actor_name="x")
    with pytest.raises(ValueError):
        event.save()


def test_a_user_creates_sees_once_and_revokes_an_api_key(desk, trader_web):
    created = trader_web.post("/account/api-keys/", {"label": "script"}).content.decode()
    assert "shown this once" in created
    page = trader_web.get("/account/api-keys/").content.decode()
    assert "shown this once" not in page
    from accounts.models import ApiKey

    key = ApiKey.objects.get(user=desk["users"]["TRADER"])
    trader_web.post(f"/account/api-keys/{key.pk}/revoke/")
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_a_key_made_for_a_desk_moving_from_the_hosted_ems_carries_its_fix_comp_ids(
    desk, trader_web
):
    from accounts.models import ApiKey

    comp_ids = {"fix_sender_comp_id": "OMS.FIX.CLIENT", "fix_target_comp_id": "CoinAPI.OEML.FIX"}
    page = trader_web.post("/account/api-keys/", {"label": "oms", **comp_ids})
    assert "OMS.FIX.CLIENT" in page.content.decode()
    key = ApiKey.objects.get(user=desk["users"]["TRADER"])
    assert (key.fix_sender, key.fix_target) == ("OMS.FIX.CLIENT", "CoinAPI.OEML.FIX")
    again = trader_web.post("/account/api-keys/", {"label": "oms 2", **comp_ids})
    assert again.status_code == 400 and ApiKey.objects.count() == 1


def test_a_changed_blotter_poll_toasts_orders_that_just_filled_or_were_rejected(desk, admin_web):
    OrderFactory(account=desk["account"], status="FILLED", client_order_id="just-filled")
    OrderFactory(
        account=desk["account"], status="REJECTED", client_order_id="refused", error_message="No."
    )
    content = admin_web.get("/orders/blotter/rows/?v=-5").content.decode()
    assert 'data-toast="just-filled filled"' in content
    assert 'data-toast="refused rejected: No."' in content


def test_pages_name_their_icon_and_favicon_ico_leads_to_it(client):
    icon = static("favicon.svg")
    assert f'<link rel="icon" href="{icon}"' in client.get("/account/sign-in/").text
    response = client.get("/favicon.ico")  # what browsers ask for on the admin and the API docs
    assert response.status_code == 302 and response.url == icon
    assert finders.find("favicon.svg")
