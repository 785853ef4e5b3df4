"""The API without a worker: keys, accounts, the wire format."""

from datetime import UTC, datetime

import pytest
import simplejson
from django.utils import timezone

from accounts.models import ApiKey, ExchangeAccount
from emsweb.api.wire import format_time, parse_time
from tests.api.conftest import ApiClient
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def body(response):
    return simplejson.loads(response.content, use_decimal=True)


@pytest.mark.parametrize(
    "text",
    [
        "2024-02-23T01:13:15.6096269", "2024-02-23T01:13:15.609", "2024-02-23T01:13:15",
        "2024-02-23T01:13", "2024-02-23T01", "2024-02-23", "20240223T0113156096269",
        "20240223T011315609", "20240223T011315", "20240223T0113", "20240223T01", "20240223",
    ],
)  # fmt: skip
def test_every_input_time_format_of_the_contract_is_accepted_as_utc(text):
    moment = parse_time(text)
    assert moment.tzinfo == UTC and moment.date() == datetime(2024, 2, 23).date()


def test_times_leave_with_seven_fractional_digits_in_utc():
    assert format_time(parse_time("2024-02-23T01:13:15.6096269Z")) == "2024-02-23T01:13:15.6096260Z"
    assert parse_time("2024-02-23T02:13:15+01:00") == parse_time("2024-02-23T01:13:15")


def test_the_key_works_in_the_header_as_a_bearer_token_and_as_a_query_parameter(api):
    key = api.headers["X-CoinAPI-Key"]
    anonymous = ApiClient("")
    assert anonymous.client.get("/v1/orders", headers={"X-CoinAPI-Key": key}).status_code == 200
    bearer = {"Authorization": f"Bearer {key}"}
    assert anonymous.client.get("/v1/orders", headers=bearer).status_code == 200
    assert anonymous.client.get(f"/v1/orders?apikey={key}").status_code == 200


@pytest.mark.parametrize("path", ["/v1/orders", "/v1/balances", "/v1/accounts", "/v1/exchanges"])
def test_a_missing_or_wrong_key_is_a_401_with_a_json_body(path):
    for client in (ApiClient("ems_wrong"), ApiClient("")):
        response = client.get(path)
        assert response.status_code == 401
        assert body(response) == {"error": "Invalid or missing API key."}


def test_a_revoked_key_stops_working(api):
    ApiKey.objects.update(revoked_at=timezone.now())
    assert api.get("/v1/orders").status_code == 401


def test_a_used_key_records_when(api):
    api.get("/v1/orders")
    assert ApiKey.objects.get().last_used_at is not None


def test_linking_through_the_api_never_echoes_the_secret(api):
    response = api.post(
        "/v1/accounts",
        {"exchange_id": "GEMINI/ANN", "parameters": [
            {"key": "PublicApiKey", "value": "public-0000-1111"},
            {"key": "PrivateApiKey", "value": "private-secret-2222"},
        ]},
    )  # fmt: skip
    assert response.status_code == 200
    assert "secret" not in response.content.decode()
    listing = api.get("/v1/accounts", {"filter_exchange_id": "GEMINI/ANN"}).content.decode()
    assert "••••2222" in listing and "private-secret" not in listing


def test_a_link_missing_a_parameter_names_it(api):
    response = api.post("/v1/accounts", {"exchange_id": "COINBASE/ANN", "parameters": []})
    assert response.status_code == 400
    assert set(body(response)["errors"]) == {"PassPhrase", "PrivateApiKey", "PublicApiKey"}


def test_deleting_an_account_without_history_removes_it_and_an_unknown_one_is_a_404(api):
    api.post("/v1/accounts", {"exchange_id": "PAPER/TMP", "parameters": []})
    assert api.delete("/v1/accounts?exchange_id=PAPER/TMP").status_code == 200
    assert not ExchangeAccount.objects.exists()
    assert api.delete("/v1/accounts?exchange_id=PAPER/TMP").status_code == 404


def test_an_account_with_open_orders_cannot_be_deleted(api):
    order = OrderFactory(status="NEW")
    response = api.delete(f"/v1/accounts?exchange_id={order.account.exchange_id}")
    assert response.status_code == 400
    assert ExchangeAccount.objects.get().enabled


def test_an_account_with_history_is_kept_disabled_and_its_keys_erased(api):
    order = OrderFactory(status="FILLED")
    assert api.delete("/v1/accounts/all").status_code == 200
    account = ExchangeAccount.objects.get(pk=order.account.pk)
    assert not account.enabled and account.credentials == ""
    assert body(api.get("/v1/accounts")) == []


def test_positions_are_empty_per_spot_account(api):
    api.post("/v1/accounts", {"exchange_id": "PAPER/ANN", "parameters": []})
    assert body(api.get("/v1/positions")) == [
        {"type": "POSITION_SNAPSHOT", "exchange_id": "PAPER/ANN", "data": []}
    ]


def test_balances_never_read_are_reported_as_not_read_never_as_an_empty_holding(api):
    api.post("/v1/accounts", {"exchange_id": "PAPER/ANN", "parameters": []})
    assert body(api.get("/v1/balances")) == [
        {
            "type": "BALANCE_SNAPSHOT",
            "exchange_id": "PAPER/ANN",
            "data": [],
            "last_sync": None,
            "error": "balances not read yet",
        }
    ]


def test_a_failed_first_sync_says_the_balances_are_not_read_and_why(api):
    api.post("/v1/accounts", {"exchange_id": "PAPER/ANN", "parameters": []})
    ExchangeAccount.objects.update(last_sync_error="Venue unreachable: timed out")
    (snapshot,) = body(api.get("/v1/balances"))
    assert snapshot["error"] == "balances not read yet: Venue unreachable: timed out"


def test_the_openapi_document_and_docs_are_served_without_a_cdn(client):
    schema = client.get("/v1/openapi.json").json()
    assert "/v1/orders" in schema["paths"] and "/v1/orders/cancel/all" in schema["paths"]
    docs = client.get("/v1/docs").content.decode()
    assert "/static/ninja/" in docs and "cdn." not in docs


def test_a_json_nan_or_malformed_body_is_a_400_and_writes_nothing(api):
    for text in ['{"amount_order": NaN}', '{"exchange_id": ', "[1, 2", ""]:
        response = api.post("/v1/orders", text)
        assert response.status_code == 400
        assert body(response)["title"] == "One or more validation errors occurred."
