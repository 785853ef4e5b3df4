"""POST /v1/orders and friends against a real worker and the paper exchange."""

from decimal import Decimal

import pytest
import simplejson
from django.test import Client

from accounts.models import ApiKey, AuditEvent, Balance
from accounts.services import account_link
from orders.instruments import instruments_refresh
from orders.models import Order
from tests.conftest import wait_for
from venues.paper import engine
from venues.paper.models import PaperRequest

pytestmark = [pytest.mark.pipeline]
ACCOUNT = "PAPER/API"


def body(response):
    return simplejson.loads(response.content, use_decimal=True)


def new_order(**fields):
    return {
        "exchange_id": ACCOUNT,
        "client_order_id": "api-1",
        "symbol_id_exchange": "BTCUSD",
        "amount_order": 0.1,
        "price": 49000,
        "side": "BUY",
        "order_type": "LIMIT",
        "time_in_force": "GOOD_TILL_CANCEL",
        **fields,
    }


@pytest.fixture
def account(pipeline):
    instruments_refresh(venue="PAPER")
    engine.market_set_mid("BTCUSD", Decimal("50000"))
    account, _ = account_link(exchange_id=ACCOUNT, parameters={})
    wait_for(lambda: Balance.objects.filter(account=account).exists(), what="first sync")
    return account


def test_a_new_order_is_answered_with_its_report_once_routed(api, account, trader):
    response = api.post("/v1/orders", new_order())
    assert response.status_code == 200
    report = body(response)
    assert report["status"] == "NEW"
    assert [status for status, _ in report["status_history"]] == [
        "RECEIVED", "ROUTING", "ROUTED", "NEW",
    ]  # fmt: skip
    order = Order.objects.get(client_order_id="api-1")
    assert order.created_by == trader and order.created_with_key is not None


def test_a_marketable_order_answers_filled_with_its_fills(api, account):
    report = body(api.post("/v1/orders", new_order(price=51000)))
    assert report["status"] == "FILLED"
    assert report["amount_filled"] == Decimal("0.1") and report["fills"]
    assert Decimal("50000") < report["avg_px"] < Decimal("51000")


def test_the_same_body_again_returns_the_same_order_and_sends_nothing_more(api, account):
    first = body(api.post("/v1/orders", new_order()))
    again = api.post("/v1/orders", new_order())
    assert again.status_code == 200
    assert body(again)["exchange_order_id"] == first["exchange_order_id"]
    assert Order.objects.count() == 1
    assert PaperRequest.objects.filter(kind="SUBMIT").count() == 1


def test_another_body_with_a_used_client_order_id_is_a_400(api, account):
    api.post("/v1/orders", new_order())
    response = api.post("/v1/orders", new_order(price=48000))
    assert response.status_code == 400
    assert "client_order_id" in body(response)["errors"]
    assert Order.objects.count() == 1


def test_an_unreachable_venue_is_a_490_and_the_order_says_rejected(api, account):
    engine.set_knobs(ACCOUNT, fault="UNREACHABLE")
    response = api.post("/v1/orders", new_order())
    assert response.status_code == 490
    assert body(response)["reject_reason"] == "EXCHANGE_UNREACHABLE"
    assert body(api.get("/v1/orders/status/api-1"))["status"] == "REJECTED"


def test_a_venue_that_does_not_answer_in_time_is_a_504_and_the_order_is_reconciled(
    api, account, settings
):
    settings.EMSWEB_API_ROUTING_WAIT = 0.5
    engine.set_knobs(ACCOUNT, fault="TIMEOUT_AFTER_ACCEPT", fault_delay_ms=3000)
    response = api.post("/v1/orders", new_order())
    assert response.status_code == 504
    assert body(response)["reject_reason"] == "EXCHANGE_RESPONSE_TIMEOUT"
    assert body(api.get("/v1/orders/status/api-1"))["status"] == "ROUTING"
    engine.set_knobs(ACCOUNT, fault="NONE")
    from orders.sync import account_sync

    def reconciled():
        account_sync(account_id=account.pk)
        return body(api.get("/v1/orders/status/api-1"))["status"] == "NEW"

    wait_for(reconciled, timeout=30, what="reconciliation")
    assert PaperRequest.objects.filter(kind="SUBMIT").count() == 1


def test_a_venue_rejection_is_a_200_with_status_rejected_and_the_venues_message(api, account):
    Balance.objects.filter(account=account, asset_id_exchange="USD").update(available=10**9)
    response = api.post("/v1/orders", new_order(amount_order=5))
    assert response.status_code == 200
    report = body(response)
    assert report["status"] == "REJECTED" and report["error_message"] == "EOrder:Insufficient funds"
    assert report["exchange_order_id"] is None


def test_cancel_by_exchange_order_id_records_who_canceled(api, account, trader):
    report = body(api.post("/v1/orders", new_order()))
    response = api.post(
        "/v1/orders/cancel",
        {"exchange_id": ACCOUNT, "exchange_order_id": report["exchange_order_id"]},
    )
    assert response.status_code == 200
    assert body(response)["status"] in ("PENDING_CANCEL", "CANCELED")
    wait_for(lambda: body(api.get("/v1/orders/status/api-1"))["status"] == "CANCELED",
             what="the cancel")  # fmt: skip
    order = Order.objects.get(client_order_id="api-1")
    assert order.canceled_by == trader and order.canceled_with_key is not None


def test_canceling_an_unknown_order_is_a_404(api, account):
    response = api.post("/v1/orders/cancel", {"exchange_id": ACCOUNT, "client_order_id": "nope"})
    assert response.status_code == 404
    assert body(response)["reject_reason"] == "ORDER_ID_NOT_FOUND"


def test_orders_placed_and_canceled_through_the_api_are_on_the_audit_page_with_the_key(
    api, account, trader
):
    api.post("/v1/orders", new_order())
    api.post("/v1/orders", new_order())  # a retry: the same order, not a second action
    api.post("/v1/orders/cancel", {"exchange_id": ACCOUNT, "client_order_id": "api-1"})
    api.post("/v1/orders/cancel/all", {"exchange_id": ACCOUNT})
    prefix = ApiKey.objects.get(user=trader).prefix
    recorded = AuditEvent.objects.order_by("id").values_list("action", "target", "detail__api_key")
    assert list(recorded) == [
        ("ORDER_PLACED", "api-1", prefix),
        ("ORDER_CANCEL", "api-1", prefix),
        ("CANCEL_ALL", ACCOUNT, prefix),
    ]
    assert set(AuditEvent.objects.values_list("actor", "ip")) == {(trader.pk, "127.0.0.1")}
    desk = Client()
    desk.force_login(trader)
    page = desk.get("/audit/?action=ORDER_PLACED").content.decode()
    assert "api-1" in page and f"api_key={prefix}" in page and "amount=0.1 price=49000" in page


def test_a_read_only_key_reads_but_never_trades(read_only_api, api, account):
    api.post("/v1/orders", new_order())
    assert read_only_api.get("/v1/orders").status_code == 200
    assert read_only_api.post("/v1/orders", new_order(client_order_id="ro")).status_code == 403
    refused = read_only_api.post("/v1/orders/cancel/all", {"exchange_id": ACCOUNT})
    assert refused.status_code == 403
    assert not Order.objects.filter(client_order_id="ro").exists()
    assert Order.objects.get(client_order_id="api-1").status == "NEW"


def test_history_lists_the_orders_changed_in_the_range_in_camel_case(api, account):
    api.post("/v1/orders", new_order())
    api.post("/v1/orders", new_order(client_order_id="api-2", side="SELL", price=52000))
    rows = body(
        api.get("/v1/orders/history", {"time_start": "2020-01-01", "time_end": "2100-01-01T00"})
    )
    assert [row["clientOrderId"] for row in rows] == ["api-1", "api-2"]
    assert [row["side"] for row in rows] == [1, 2]
    row = rows[0]
    assert row["statusHistoryStatus"] == ["RECEIVED", "ROUTING", "ROUTED", "NEW"]
    assert len(row["statusHistoryTime"]) == 4
    assert row["amountOrder"] == Decimal("0.1") and row["apikey"].startswith("ems_")
    assert body(api.get("/v1/orders/history/2020-01-01/2020-01-02")) == []
    assert (
        body(api.get("/v1/orders/history", {"time_start": "2020-01-01", "time_end": "2020-01-02"}))
        == []
    )
