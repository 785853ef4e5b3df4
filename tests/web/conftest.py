from decimal import Decimal

import pytest
from django.test import Client

from accounts.models import DeskMember, DeskRole, TradingGrant
from tests.factories import AccountFactory, BalanceFactory, InstrumentFactory


@pytest.fixture
def desk(django_user_model):
    """An account, an instrument, and one user per role; the trader is granted the account."""
    account = AccountFactory(exchange_id="PAPER/DESK", tag="DESK")
    other = AccountFactory(exchange_id="PAPER/OTHER", tag="OTHER")
    InstrumentFactory()
    BalanceFactory(account=account, asset_id_exchange="USD", available=Decimal("100000"))
    users = {}
    for role in DeskRole.values:
        user = django_user_model.objects.create_user(
            role.lower(), password="pw-" + role.lower() * 3
        )
        DeskMember.objects.create(user=user, role=role)
        users[role] = user
    TradingGrant.objects.create(user=users[DeskRole.TRADER], account=account)
    return {"account": account, "other": other, "users": users}


def ticket(desk, **fields) -> dict:
    """The ticket's form as a browser posts it: a 20,000 USD buy on the trader's account."""
    return {
        "account": desk["account"].pk,
        "symbol": "BTC/USD",
        "side": "BUY",
        "amount": "0.5",
        "price": "40000",
        "time_in_force": "GOOD_TILL_CANCEL",
        "client_order_id": "c-1",
        **fields,
    }


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_web(desk):
    return client_for(desk["users"]["ADMIN"])


@pytest.fixture
def trader_web(desk):
    return client_for(desk["users"]["TRADER"])


@pytest.fixture
def viewer_web(desk):
    return client_for(desk["users"]["VIEWER"])


@pytest.fixture(autouse=True)
def no_quotes(redis_broker):
    """Quotes live in Redis, which outlives a test's database: start and end without any."""
    redis_broker.delete("emsweb:quotes:PAPER")
    yield
    redis_broker.delete("emsweb:quotes:PAPER")
