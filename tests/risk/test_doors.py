"""Every door refuses through the same check: through /v1 each limit is a 400 naming the field
and the limit; on the ticket, the same words appear next to the field."""

import re
from decimal import Decimal

import pytest
import simplejson
from django.test import Client
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.services import api_key_create
from orders.models import Order
from risk.models import RiskUsage
from risk.services import trading_halt, trading_state_set
from tests.api.conftest import ApiClient
from tests.factories import InstrumentFactory, OrderFactory
from venues.base import OrdStatus as S

pytestmark = pytest.mark.django_db


def v1_order(**fields) -> dict:
    return {
        "exchange_id": "PAPER/TEST",
        "client_order_id": "v1-risk",
        "symbol_id_exchange": "BTCUSD",
        "amount_order": 0.1,
        "price": 50000,
        "side": "BUY",
        "order_type": "LIMIT",
        "time_in_force": "GOOD_TILL_CANCEL",
        **fields,
    }


def working_orders(account, count=2, **fields):
    for _ in range(count):
        OrderFactory(account=account, status=S.NEW, created_at=timezone.now(), **fields)


def used_today(account, notional):
    RiskUsage.objects.create(scope="desk", day=timezone.now().date(), notional_usd=notional)


# (the limits set, what else the desk holds, the field named, the words of the refusal)
CASES = {
    "max_order_notional_usd": (
        {"max_order_notional_usd": Decimal("1000")}, None, "amount_order",
        "Max notional of one order for the desk: 1000 USD; this order is 5000 USD.",
    ),
    "max_working_orders": (
        {"max_working_orders": 2}, working_orders, "exchange_id",
        "Max working orders for the desk: 2; 2 working already, this order would make 3.",
    ),
    "max_orders_per_second": (
        {"max_orders_per_second": 2}, working_orders, "exchange_id",
        "Max orders per second for the desk: 2; 2 in the last second already",
    ),
    "max_orders_per_minute": (
        {"max_orders_per_minute": 2}, working_orders, "exchange_id",
        "Max orders per minute for the desk: 2; 2 in the last minute already",
    ),
    "max_daily_notional_usd": (
        {"max_daily_notional_usd": Decimal("100000")},
        lambda account: used_today(account, Decimal("99000")), "amount_order",
        "Max notional per UTC day for the desk: 100000 USD; 99000 USD submitted today",
    ),
    "price_band_percent": (
        {"price_band_percent": Decimal("5")}, None, "price",
        "Price band of 5% for the desk: no reference price of PAPER_SPOT_BTC_USD fresher than",
    ),
    "allowed_instruments": (
        {"allowed_instruments": "ETH/USD"}, None, "symbol_id_exchange",
        "Allowed instruments for the desk: ETH/USD; BTC/USD (PAPER_SPOT_BTC_USD) is not one",
    ),
    "denied_instruments": (
        {"denied_instruments": "BTC/USD"}, None, "symbol_id_exchange",
        "Denied instruments for the desk: BTC/USD; BTC/USD (PAPER_SPOT_BTC_USD) is denied.",
    ),
}  # fmt: skip


@pytest.fixture
def api(desk_admin):
    _, key = api_key_create(user=desk_admin, label="risk")
    return ApiClient(key)


@pytest.mark.parametrize("limit", CASES)
def test_through_v1_each_limit_refuses_with_a_400_naming_it(limit, account, api, set_limits):
    InstrumentFactory(
        symbol_id_exchange="ETHUSD", symbol_id_coinapi="PAPER_SPOT_ETH_USD", base="ETH"
    )
    limits, holding, field, words = CASES[limit]
    set_limits(**limits)
    if holding is not None:
        holding(account)
    response = api.post("/v1/orders", v1_order())
    assert response.status_code == 400
    [message] = simplejson.loads(response.content)["errors"][field]
    assert message.startswith(words)
    assert not Order.objects.filter(client_order_id="v1-risk").exists()
    [entry] = AuditEvent.objects.filter(action="RISK_REFUSED")
    assert entry.detail["limits"] == limit and entry.detail["api_key"]


def test_through_v1_the_symbol_field_named_is_the_one_the_client_sent(account, api, set_limits):
    set_limits(denied_instruments="BTC/USD")
    response = api.post(
        "/v1/orders",
        {**v1_order(symbol_id_coinapi="PAPER_SPOT_BTC_USD"), "symbol_id_exchange": None},
    )
    assert list(simplejson.loads(response.content)["errors"]) == ["symbol_id_coinapi"]


def test_through_v1_a_halted_or_reducing_account_refuses_naming_its_state(account, api, desk_admin):
    trading_state_set(state="REDUCING", account=account, user=desk_admin)
    reducing = simplejson.loads(api.post("/v1/orders", v1_order()).content)["errors"]
    assert reducing == {
        "side": [
            "Trading on account PAPER/TEST is reducing only: SELL orders only, this one is BUY."
        ]
    }
    trading_halt(user=desk_admin)
    halted = simplejson.loads(api.post("/v1/orders", v1_order(side="SELL")).content)["errors"]
    assert halted == {
        "exchange_id": [
            "Trading is halted on the desk: no new orders until a desk admin resumes it."
        ]
    }


def test_on_the_ticket_a_refusal_shows_next_to_its_field(account, desk_admin, set_limits):
    set_limits(max_daily_notional_usd=Decimal("1000"))
    client = Client()
    client.force_login(desk_admin)
    response = client.post(
        "/orders/ticket/submit/",
        {
            "client_order_id": "web-risk", "account": account.pk, "symbol": "BTC/USD",
            "side": "BUY", "amount": "0.1", "price": "50000", "time_in_force": "GOOD_TILL_CANCEL",
        },
    )  # fmt: skip
    amount_error = re.search(r'<div id="error-amount"[^>]*>(.*?)</div>', response.content.decode())
    assert "Max notional per UTC day for the desk: 1000 USD" in amount_error.group(1)
    assert not Order.objects.exists()
