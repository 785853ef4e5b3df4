"""/v1/sor: the contract's shapes; every request through the same services as the pages and
the socket; bad input named by field."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import simplejson
from django.utils import timezone

from accounts.models import DeskMember, DeskRole
from accounts.services import api_key_create
from algos.models import ParentOrder
from algos.selectors import children
from tests.algos.conftest import step
from tests.api.conftest import ApiClient


@pytest.fixture
def api(account, django_user_model):
    user = django_user_model.objects.create_user("desk", password="x" * 12)
    DeskMember.objects.create(user=user, role=DeskRole.ADMIN)
    return ApiClient(api_key_create(user=user, label="sor")[1])


def body(response):
    return simplejson.loads(response.content, use_decimal=True)


def put(api, path, data):
    return api.client.put(
        path, json.dumps(data), content_type="application/json", headers=api.headers
    )


TWAP = {
    "Algorithm": "TWAP",
    "Exchanges": ["PAPER/ALGO"],
    "Parameters": {
        "side": "BUY",
        "symbol": "BTCUSD",
        "symbol_type": "SPOT",
        "amount": 0.4,
        "duration": "2MIN",
        "interval": "30SEC",
    },
}


def test_add_answers_the_id_and_running_and_requests_lists_it_in_the_contracts_shape(api):
    response = api.post("/v1/sor/add", TWAP)
    assert response.status_code == 200, response.content
    added = body(response)
    assert added == {"id": added["id"], "status": "Running"}
    parent = ParentOrder.objects.get(pk=added["id"])
    step(parent, parent.start_at)

    listed = body(api.get("/v1/sor/requests"))
    assert [item["id"] for item in listed] == [added["id"]]
    item = listed[0]
    assert (item["algorithm"], item["duration"], item["interval"]) == ("TWAP", "2MIN", "30SEC")
    assert item["exchanges"] == ["PAPER/ALGO"]
    assert item["fills"][0]["exchange"] == "PAPER/ALGO"
    assert item["fills"][0]["amountFilled"] == Decimal("0.1")
    assert item["statusHistory"][0]["status"] == "Running"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"Algorithm": "MAGIC"}, "Algorithm"),
        ({"Exchanges": ["KRAKEN/NOBODY"]}, "Exchanges"),
        ({"Parameters": {**TWAP["Parameters"], "duration": "5 fortnights"}}, "duration"),
        ({"Parameters": {**TWAP["Parameters"], "amount": -1}}, "amount"),
        ({"Parameters": {**TWAP["Parameters"], "symbol": "NOPE"}}, "symbol"),
    ],
)
def test_a_bad_add_names_the_field_and_starts_nothing(api, change, field):
    response = api.post("/v1/sor/add", {**TWAP, **change})
    assert response.status_code == 400, response.content
    assert field in body(response)["errors"]
    assert not ParentOrder.objects.exists()


def test_update_pause_resume_and_cancel(api):
    added = body(api.post("/v1/sor/add", TWAP))
    parent = ParentOrder.objects.get(pk=added["id"])

    changed = put(api, "/v1/sor/update", {"id": added["id"], "Parameters": {"amount": 0.8}})
    assert changed.status_code == 200, changed.content
    assert body(changed)["amount"] == Decimal("0.8")
    assert body(changed)["parametersUpdates"][0]["parameters"] == {"amount": "0.8"}

    assert body(api.post(f"/v1/sor/pause/{added['id']}", {}))["status"] == "Paused"
    assert body(api.post(f"/v1/sor/resume/{added['id']}", {}))["status"] == "Running"
    cancelled = body(api.post(f"/v1/sor/cancel/{added['id']}", {}))
    assert cancelled["status"] == "Cancelled"
    assert "Filled 0 of 0.8" in cancelled["statusInfo"]
    step(parent, timezone.now() + timedelta(seconds=30))
    assert not children(parent).exists()

    again = api.post(f"/v1/sor/resume/{added['id']}", {})
    assert again.status_code == 400 and "id" in body(again)["errors"]


def test_an_update_names_a_bad_field(api):
    added = body(api.post("/v1/sor/add", TWAP))
    response = put(api, "/v1/sor/update", {"id": added["id"], "Parameters": {"amount": "x"}})
    assert response.status_code == 400 and "amount" in body(response)["errors"]


def test_an_unknown_or_foreign_parent_is_not_found(api, django_user_model):
    assert api.post("/v1/sor/cancel/999", {}).status_code == 404
    other = django_user_model.objects.create_user("other", password="x" * 12)
    DeskMember.objects.create(user=other, role=DeskRole.TRADER)
    stranger = ApiClient(api_key_create(user=other, label="x")[1])
    added = body(api.post("/v1/sor/add", TWAP))
    assert stranger.post(f"/v1/sor/cancel/{added['id']}", {}).status_code == 404


def test_a_read_only_key_cannot_start_a_parent(api, account):
    read_only = ApiClient(
        api_key_create(user=DeskMember.objects.get().user, label="ro", read_only=True)[1]
    )
    assert read_only.post("/v1/sor/add", TWAP).status_code == 403


def test_balances_orders_and_positions_are_keyed_by_exchange(api):
    assert "PAPER/ALGO" in body(api.get("/v1/sor/balances"))
    assert body(api.get("/v1/sor/orders")) == {}
    assert body(api.get("/v1/sor/positions")) == {"PAPER/ALGO": []}
