"""Property: whatever the sequence of submits, venue acknowledgements, fills, cancels, waits and
a lowered limit, no submit is accepted that takes a scope past a limit, and none that fits is
refused. The expectation is worked out from the orders themselves (not from the check's own
counters), so it checks those counters too."""

import copy
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction
from django.db.models import F, Q, Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emsweb.redis import redis_client
from orders import lifecycle
from orders.models import EventCause, Order
from orders.services import OrderInvalid, order_cancel, order_submit
from orders.statuses import CANCELABLE, WORKING_STATUSES
from risk.models import RiskUsage
from risk.rules import RULES_KEY
from venues.base import OrdStatus as S
from venues.base import VenueFill, VenueOrder

from .conftest import ticket

pytestmark = pytest.mark.django_db
START = datetime(2026, 12, 3, 23, 59, 50, tzinfo=UTC)  # the UTC day ends within a sequence
COUNTED = ("max_working_orders", "max_orders_per_second", "max_orders_per_minute")
DAILY = "max_daily_notional_usd"

limits = st.fixed_dictionaries(
    {
        "desk": st.fixed_dictionaries(
            {
                "max_orders_per_second": st.sampled_from([None, 1, 2, 3]),
                "max_orders_per_minute": st.sampled_from([None, 2, 4, 6]),
                "max_daily_notional_usd": st.sampled_from([None, Decimal(4000), Decimal(9000)]),
            }
        ),
        "account": st.fixed_dictionaries({"max_working_orders": st.sampled_from([None, 1, 3])}),
        "trader": st.fixed_dictionaries(
            {
                "max_working_orders": st.sampled_from([None, 2]),
                "max_order_notional_usd": st.sampled_from([None, Decimal(1500)]),
            }
        ),
    }
)
steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("submit"),
            st.booleans(),  # by the trader (else by the shell, with no user)
            st.sampled_from([Decimal("0.01"), Decimal("0.02"), Decimal("0.05")]),
            st.sampled_from([Decimal("20000"), Decimal("50000")]),
        ),
        st.tuples(st.just("acknowledge"), st.integers(0, 20)),
        st.tuples(st.just("fill"), st.integers(0, 20), st.booleans()),
        st.tuples(st.just("cancel"), st.integers(0, 20)),
        st.tuples(st.just("wait"), st.sampled_from([0.4, 0.7, 1.1, 30, 61])),
        st.tuples(st.just("lower"), st.sampled_from([0, 1, 2])),
    ),
    max_size=30,
)


def scopes(account, trader, by_trader: bool) -> dict[str, Q]:
    found = {"desk": Q(), "account": Q(account=account)}
    if by_trader:
        found["trader"] = Q(created_by=trader)
    return found


def used(where: Q, now: datetime) -> dict[str, object]:
    orders = Order.objects.filter(where)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    daily = orders.filter(created_at__gte=midnight).aggregate(
        total=Sum(F("amount_order") * F("price"))
    )["total"]
    return {
        "max_working_orders": orders.filter(status__in=WORKING_STATUSES).count(),
        "max_orders_per_second": orders.filter(created_at__gt=now - timedelta(seconds=1)).count(),
        "max_orders_per_minute": orders.filter(created_at__gt=now - timedelta(minutes=1)).count(),
        "max_daily_notional_usd": daily or Decimal(0),
    }


def fits(rules, where_by_scope, notional, now) -> bool:
    for scope, where in where_by_scope.items():
        limit_of = rules[scope]
        figures = used(where, now)
        if any(limit_of.get(name) is not None and figures[name] + 1 > limit_of[name]
               for name in COUNTED):  # fmt: skip
            return False
        daily = limit_of.get("max_daily_notional_usd")
        if daily is not None and figures["max_daily_notional_usd"] + notional > daily:
            return False
        single = limit_of.get("max_order_notional_usd")
        if single is not None and notional > single:
            return False
    return True


def report(order: Order, status: str, filled: Decimal) -> VenueOrder:
    fills = ()
    if filled > order.amount_filled:
        fills = (
            VenueFill(
                trade_id=f"{order.client_order_id}-{filled}",
                client_order_id=order.client_order_id,
                exchange_order_id=f"X-{order.pk}",
                time=datetime.now(UTC),
                price=order.price,
                amount=filled - order.amount_filled,
            ),
        )
    return VenueOrder(
        client_order_id=order.client_order_id,
        exchange_order_id=f"X-{order.pk}",
        symbol_id_exchange="BTCUSD",
        status=status,
        side=order.side,
        amount=order.amount_order,
        price=order.price,
        amount_filled=filled,
        avg_px=order.price if filled else Decimal(0),
        fills=fills,
    )


def nth(statuses, index: int) -> Order | None:
    orders = list(Order.objects.filter(status__in=statuses).order_by("pk"))
    return orders[index % len(orders)] if orders else None


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rules=limits, sequence=steps)
def test_no_sequence_of_submits_fills_and_cancels_takes_usage_past_a_limit(
    account, trader, set_limits, rules, sequence
):
    with transaction.atomic(), time_machine.travel(START, tick=False) as clock:
        redis_client().delete(RULES_KEY)  # the last example's rules were rolled back
        set_limits(**rules["desk"])
        set_limits(account=account, **rules["account"])
        set_limits(user=trader, **rules["trader"])
        # A scope's day counts from when one of its limits starts counting (README): a scope
        # that counted nothing at first is left out of the day's check below.
        counted_from_the_start = {
            kind: any(rules[kind].get(name) is not None for name in (*COUNTED, DAILY))
            for kind in rules
        }
        rules = copy.deepcopy(rules)  # "lower" changes it: hypothesis reports what it drew
        for number, (kind, *args) in enumerate(sequence):
            now = datetime.now(UTC)
            if kind == "submit":
                by_trader, amount, price = args
                user = trader if by_trader else None
                expected = fits(rules, scopes(account, trader, by_trader), amount * price, now)
                try:
                    order_submit(
                        account=account,
                        user=user,
                        ticket=ticket(f"p-{number}", amount=str(amount), price=str(price)),
                    )
                    accepted = True
                except OrderInvalid:
                    accepted = False
                assert accepted == expected, (rules, sequence[: number + 1])
            elif kind == "acknowledge" and (order := nth({S.RECEIVED}, args[0])):
                lifecycle.transition(order.pk, to=S.ROUTING, cause=EventCause.ROUTE)
                lifecycle.apply_report(order.pk, report(order, S.NEW, Decimal(0)), cause="VENUE")
            elif kind == "fill" and (order := nth(CANCELABLE, args[0])):
                whole = args[1] or order.amount_filled
                filled = order.amount_order if whole else order.amount_order / 2
                status = S.FILLED if filled == order.amount_order else S.PARTIALLY_FILLED
                lifecycle.apply_report(order.pk, report(order, status, filled), cause="VENUE")
            elif kind == "cancel" and (order := nth({S.RECEIVED, *CANCELABLE}, args[0])):
                order = order_cancel(order=order)
                if order.status == S.PENDING_CANCEL:
                    canceled = report(order, S.CANCELED, order.amount_filled)
                    lifecycle.apply_report(order.pk, canceled, cause="VENUE")
            elif kind == "wait":
                clock.shift(args[0])
            elif kind == "lower":
                working_before = Order.objects.filter(status__in=WORKING_STATUSES).count()
                rules["account"]["max_working_orders"] = args[0]
                set_limits(account=account, max_working_orders=args[0])
                assert Order.objects.filter(status__in=WORKING_STATUSES).count() == working_before
        # What the check counted for the day is what was accepted, order by order.
        for row in RiskUsage.objects.all():
            if not counted_from_the_start[row.scope.split(":")[0]]:
                continue
            day = datetime.combine(row.day, datetime.min.time(), tzinfo=UTC)
            accepted_that_day = Order.objects.filter(
                created_at__gte=day, created_at__lt=day + timedelta(days=1)
            )
            if row.scope.startswith("trader:"):
                accepted_that_day = accepted_that_day.filter(created_by=trader)
            total = accepted_that_day.aggregate(total=Sum(F("amount_order") * F("price")))
            assert row.notional_usd == (total["total"] or 0)
        transaction.set_rollback(True)
