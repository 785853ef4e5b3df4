"""The selectors the risk page reads: each scope's state and its usage against each limit, the
same figures the submit's check counts."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from orders.services import order_submit
from risk.models import ScopeState
from risk.pages import usage_lapse
from risk.selectors import StateChange, risk_overview, risk_usage
from risk.services import trading_halt, trading_resume
from tests.factories import AccountFactory, OrderFactory
from venues.base import OrdStatus as S

from .conftest import ticket

pytestmark = pytest.mark.django_db


def figures(usage) -> dict:
    return {row.name: (row.limit, row.used) for row in usage.limits if row.used is not None}


def test_usage_is_what_the_check_counts_per_scope(account, trader, set_limits, desk_admin):
    other = AccountFactory(exchange_id="PAPER/OTHER", tag="OTHER")
    set_limits(account=account, max_working_orders=3, max_daily_notional_usd=Decimal("20000"))
    set_limits(user=trader, max_orders_per_minute=10)
    with time_machine.travel(datetime(2026, 12, 3, 10, 0, tzinfo=UTC), tick=False):
        order_submit(account=account, ticket=ticket("a"), user=trader)
        order_submit(account=account, ticket=ticket("b"), user=desk_admin)
        OrderFactory(account=other, status=S.NEW)
        OrderFactory(account=account, status=S.FILLED, created_at=datetime(2026, 12, 3, tzinfo=UTC))
        trading_halt(accounts=[other], user=desk_admin)

        on_account = risk_usage(account=account)
        assert (on_account.label, on_account.state) == ("account PAPER/TEST", "ACTIVE")
        assert figures(on_account) == {
            "max_working_orders": (3, 2),
            "max_orders_per_second": (None, 2),
            "max_orders_per_minute": (None, 2),
            "max_daily_notional_usd": (Decimal("20000"), Decimal("10000")),
        }
        by_trader = risk_usage(user=trader)
        assert by_trader.state is None
        assert figures(by_trader)["max_orders_per_minute"] == (10, 1)
        assert figures(risk_usage())["max_working_orders"] == (None, 3)  # the desk

        overview = {scope.label: scope for scope in risk_overview()}
        assert list(overview) == [
            "the desk", "account PAPER/OTHER", "account PAPER/TEST", "trader tess",
        ]  # fmt: skip
        assert overview["account PAPER/OTHER"].state == "HALTED"


def test_a_limit_lowered_below_usage_shows_as_reached(account, set_limits):
    OrderFactory(account=account, status=S.NEW)
    OrderFactory(account=account, status=S.NEW)
    set_limits(account=account, max_working_orders=1)
    [working] = [
        row for row in risk_usage(account=account).limits if row.name.endswith("working_orders")
    ]
    assert working.reached and (working.limit, working.used) == (1, 2)


def test_a_limit_mostly_used_shows_as_near_and_a_halt_says_who_set_it_and_why(
    account, set_limits, desk_admin
):
    for _ in range(4):
        OrderFactory(account=account, status=S.NEW)
    set_limits(account=account, max_working_orders=5, max_daily_notional_usd=Decimal("100"))
    trading_halt(accounts=[account], user=desk_admin, reason="venue incident")
    usage = risk_usage(account=account)
    rows = {row.name: row for row in usage.limits}
    assert (rows["max_working_orders"].near, rows["max_working_orders"].reached) == (True, False)
    assert not rows["max_daily_notional_usd"].near  # nothing submitted today
    assert not rows["max_orders_per_minute"].near  # no limit
    halted_at = ScopeState.objects.get(account=account).changed_at
    assert (usage.account_id, usage.change) == (
        account.pk, StateChange(by="boss", at=halted_at, reason="venue incident"),
    )  # fmt: skip

    set_limits(account=account, max_working_orders=4)
    trading_resume(account=account, user=desk_admin)
    usage = risk_usage(account=account)
    working = next(row for row in usage.limits if row.name == "max_working_orders")
    assert (working.near, working.reached) == (False, True)
    assert (usage.state, usage.change) == ("ACTIVE", None)
    assert risk_usage().account_id is None


def test_the_usage_lapses_as_orders_leave_the_last_second_then_the_minute_and_at_utc_midnight(
    account,
):
    accepted = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    OrderFactory(account=account, status=S.NEW, created_at=accepted)
    OrderFactory(account=account, status=S.NEW, created_at=accepted, origin="EXTERNAL")
    assert usage_lapse(accepted + timedelta(milliseconds=300)) == accepted + timedelta(seconds=1)
    assert usage_lapse(accepted + timedelta(seconds=2)) == accepted + timedelta(minutes=1)
    assert usage_lapse(accepted + timedelta(minutes=2)) == datetime(2026, 12, 4, tzinfo=UTC)
