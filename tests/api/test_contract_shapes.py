"""The /v1 answers as a client generated from the hosted EMS's OpenAPI document reads them: a
field the document types as a string is left out when it has no value, never null; the nulls the
hosted EMS itself sends stay."""

import pytest
from django.utils import timezone

from accounts.services import api_key_create
from tests.api.hosted_schema import problems
from tests.factories import AccountFactory, BalanceFactory, OrderFactory
from venues.base import OrdStatus

pytestmark = pytest.mark.django_db


def nulls(body: dict) -> list[str]:
    return [key for key, value in body.items() if value is None]


def placed(**fields):
    """An order with the status change that puts it in the history."""
    order = OrderFactory(**fields)
    order.events.create(status=order.status, at=timezone.now(), cause="SUBMIT")
    return order


def test_cancel_all_answers_the_three_keys_the_readme_promises(api):
    AccountFactory(exchange_id="PAPER/ANN")
    response = api.post("/v1/orders/cancel/all", {"exchange_id": "PAPER/ANN"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"type", "exchange_id", "message"}
    assert body["type"] == "MESSAGE" and body["exchange_id"] == "PAPER/ANN"
    assert problems(body, "MessageReject") == []


def test_a_message_reject_leaves_out_the_exchange_and_request_it_does_not_have(api):
    unknown = api.get("/v1/orders/status/nope")
    assert unknown.status_code == 404
    assert set(unknown.json()) == {"type", "reject_reason", "message"}
    assert problems(unknown.json(), "MessageReject") == []

    canceled = api.post("/v1/orders/cancel", {"exchange_id": "PAPER/ANN", "client_order_id": "x"})
    assert canceled.status_code == 404
    assert set(canceled.json()) == {
        "type", "reject_reason", "exchange_id", "message", "rejected_message"
    }  # fmt: skip
    assert problems(canceled.json(), "MessageReject") == []


def test_removing_accounts_answers_messages_without_nulls(api):
    missing = api.delete("/v1/accounts?exchange_id=PAPER/GONE")
    assert missing.status_code == 404
    assert nulls(missing.json()) == [] and problems(missing.json(), "MessageReject") == []
    AccountFactory(exchange_id="PAPER/ANN")
    removed = api.delete("/v1/accounts/all")
    assert removed.status_code == 200
    assert set(removed.json()) == {"type", "message"}
    assert problems(removed.json(), "MessageReject") == []


def history(api) -> list[dict]:
    response = api.get("/v1/orders/history", {"time_start": "2020-01-01", "time_end": "2100-01-01"})
    assert response.status_code == 200
    return response.json()


def test_a_history_row_leaves_out_the_key_error_and_exchange_id_it_does_not_have(api):
    placed(status=OrdStatus.RECEIVED)  # from the ticket: no API key, not yet at the venue
    (row,) = history(api)
    assert nulls(row) == []
    absent = {"apikey", "exchangeOrderId", "expireTime"} | {
        "errorMessageResult", "errorMessageReason", "errorMessageMessage"
    }  # fmt: skip
    assert absent.isdisjoint(row)
    assert problems(row, "OrderHistory") == []


def test_a_rejected_order_in_the_history_carries_its_error_as_strings(api, trader):
    api_key, _ = api_key_create(user=trader, label="bot")
    placed(
        status=OrdStatus.REJECTED,
        error_message="EOrder:Insufficient funds",
        reject_reason="VENUE",
        exchange_order_id="OJCPEO-PO7WD-VTPUF2",
        created_with_key=api_key,
    )
    (row,) = history(api)
    assert (row["errorMessageResult"], row["errorMessageReason"]) == ("error", "VENUE")
    assert row["errorMessageMessage"] == "EOrder:Insufficient funds"
    assert row["apikey"] == api_key.prefix and row["exchangeOrderId"] == "OJCPEO-PO7WD-VTPUF2"
    assert problems(row, "OrderHistory") == []


def test_an_execution_report_keeps_the_nulls_the_hosted_ems_sends(api):
    order = placed(status=OrdStatus.RECEIVED)
    report = api.get(f"/v1/orders/status/{order.client_order_id}").json()
    assert sorted(nulls(report)) == ["error_message", "exchange_order_id", "expire_time"]
    assert problems(report, "OrderExecutionReport") == []


def test_a_balance_leaves_out_an_unmapped_coinapi_asset_and_keeps_an_unknown_rate_null(api):
    BalanceFactory(account=AccountFactory(exchange_id="PAPER/ANN"), asset_id_exchange="ZUSD")
    (snapshot,) = api.get("/v1/balances").json()
    (item,) = snapshot["data"]
    assert "asset_id_coinapi" not in item and item["rate_usd"] is None
    assert problems(item, "Balance_data_inner") == []
