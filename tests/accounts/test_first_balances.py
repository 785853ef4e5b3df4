"""Linking reads the account's balances before it answers, so that a script (or a person)
that links and then trades at once is not refused on balances nobody has read yet."""

from decimal import Decimal

import pytest
import simplejson

from accounts.models import ExchangeAccount
from accounts.services import api_key_create
from orders.instruments import instruments_refresh
from tests.api.conftest import ApiClient
from venues.paper import engine

pytestmark = [pytest.mark.pipeline]


def body(response):
    return simplejson.loads(response.content, use_decimal=True)


@pytest.fixture
def markets(pipeline):
    instruments_refresh(venue="PAPER")
    engine.market_set_mid("BTCUSD", Decimal("50000"))


@pytest.fixture
def api(admin_user):
    return ApiClient(api_key_create(user=admin_user, label="script")[1])


def slow_venue(exchange_id: str) -> None:
    """A venue that takes its time: the first sync cannot beat the next request by luck."""
    engine.set_knobs(exchange_id, latency_ms=300)


def test_a_script_that_links_an_account_then_trades_at_once_is_not_refused(markets, api):
    slow_venue("PAPER/JOHN")
    linked = api.post("/v1/accounts", {"exchange_id": "PAPER/JOHN", "parameters": []})
    assert linked.status_code == 200
    response = api.post(
        "/v1/orders",
        {"exchange_id": "PAPER/JOHN", "client_order_id": "first", "symbol_id_exchange": "BTCUSD",
         "amount_order": "0.01", "price": "49000", "side": "BUY", "order_type": "LIMIT",
         "time_in_force": "GOOD_TILL_CANCEL"},
    )  # fmt: skip
    assert response.status_code == 200, response.content
    assert body(response)["status"] == "NEW"
    (snapshot,) = body(api.get("/v1/balances", {"exchange_id": "PAPER/JOHN"}))
    assert snapshot["error"] is None and snapshot["last_sync"] and snapshot["data"]


def test_the_admins_link_reads_the_balances_before_it_answers(markets, admin_client):
    slow_venue("PAPER/DESK")
    response = admin_client.post(
        "/admin/accounts/exchangeaccount/link/", {"exchange_id": "PAPER/DESK"}, follow=True
    )
    assert ExchangeAccount.objects.get(exchange_id="PAPER/DESK").balances_synced_at is not None
    assert "Linked PAPER/DESK; its balances are read." in response.content.decode()
