import pytest
from django.utils import timezone

from accounts.models import DeskMember, DeskRole, TradingGrant
from orders.services import OrderTicket
from risk.models import RiskLimits
from risk.services import risk_limits_save
from tests.factories import UserFactory
from tests.orders import conftest as orders_conftest

QUOTES = "emsweb:quotes:PAPER"

account = orders_conftest.account  # the submit tests' funded paper account


@pytest.fixture
def desk_admin(db):
    user = UserFactory(username="boss")
    DeskMember.objects.create(user=user, role=DeskRole.ADMIN)
    return user


@pytest.fixture
def trader(account):
    user = UserFactory(username="tess")
    DeskMember.objects.create(user=user, role=DeskRole.TRADER)
    TradingGrant.objects.create(user=user, account=account)
    return user


@pytest.fixture
def set_limits(desk_admin):
    """Set a scope's limits through the service the admin site calls: set_limits(account=…,
    max_working_orders=2); neither account nor user: the desk's."""

    def set_limits(**fields) -> RiskLimits:
        scope = {name: fields.pop(name) for name in ("account", "user") if name in fields}
        limits = RiskLimits.objects.filter(
            account=scope.get("account"), user=scope.get("user")
        ).first() or RiskLimits(**scope)
        for name, value in fields.items():
            setattr(limits, name, value)
        return risk_limits_save(limits=limits, user=desk_admin, changed=list(fields))

    return set_limits


@pytest.fixture
def quote(redis_broker):
    """quote(bid, ask, last, read_at): the stored quote of BTCUSD, as a worker keeps it."""

    def quote(bid="49990", ask="50010", last="50000", read_at=None):
        moment = (read_at or timezone.now()).timestamp()
        redis_broker.hset(QUOTES, "BTCUSD", f"{bid}|{ask}|{last}|{moment}")

    yield quote
    redis_broker.delete(QUOTES)


def ticket(client_order_id: str = "r-1", **fields) -> OrderTicket:
    values = {"symbol": "BTCUSD", "side": "BUY", "amount": "0.1", "price": "50000"}
    return OrderTicket(client_order_id=client_order_id, **{**values, **fields})
