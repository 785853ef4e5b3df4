"""The /v1/ws protocol's tests (stream.protocol), with their own paper account and trader: the
stream core's fixtures in tests/stream/conftest.py mean other ones."""

import pytest

from accounts.models import DeskMember, DeskRole
from accounts.services import api_key_create
from stream.protocol import ConnectionInfo
from tests.factories import UserFactory
from tests.orders.conftest import account  # noqa: F401 - the same paper account


@pytest.fixture(autouse=True)
def presence_forgotten(redis_broker):
    """Presence lives in Redis, which outlives a test's database (and its reused key ids)."""
    for key in redis_broker.scan_iter("emsweb:presence:*"):
        redis_broker.delete(key)


@pytest.fixture
def trader():
    user = UserFactory(username="wendy")
    DeskMember.objects.create(user=user, role=DeskRole.ADMIN)
    return user


def connection(user, *, read_only=False, connection_id="conn-1", ip="10.0.0.9"):
    """A connection of a new key of `user`, and the key itself (for REST, to compare)."""
    api_key, key = api_key_create(user=user, label="socket", read_only=read_only)
    return ConnectionInfo(id=connection_id, api_key=api_key, user=user, ip=ip), key


@pytest.fixture
def conn(trader):
    return connection(trader)[0]


def new_order(**fields) -> dict:
    return {
        "type": "ORDER_NEW_SINGLE_REQUEST",
        "exchange_id": "PAPER/TEST",
        "client_order_id": "ws-1",
        "symbol_id_coinapi": "PAPER_SPOT_BTC_USD",
        "amount_order": 0.1,
        "price": 49000,
        "side": "BUY",
        "order_type": "LIMIT",
        "time_in_force": "GOOD_TILL_CANCEL",
        **fields,
    }
