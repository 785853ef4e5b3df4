"""Reads for the risk page: each scope's trading state and its usage against each limit.

`risk_overview()` gives the desk, every account and every trader with limits, in a few queries
whatever their number; `risk_usage(account=…)` or `risk_usage(user=…)` one scope (neither: the
desk). Usage is what the submit's check counts: working orders, orders accepted in the last
second and minute, and the notional submitted since 00:00 UTC (counted from when a limit of the
scope started counting it); a limit checked order by order (one order's notional, the price
band, the instrument lists) has no usage.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count
from django.utils import timezone

from accounts.models import ExchangeAccount
from orders.models import Order

from .check import MINUTE, SECOND, WORKING, accepted_since
from .models import DESK, RiskUsage, ScopeState, TradingState, account_scope, trader_scope
from .rules import Limits, desk_rules

LABELS = {
    "max_order_notional_usd": "Max notional of one order (USD)",
    "max_working_orders": "Max working orders",
    "max_orders_per_second": "Max orders per second",
    "max_orders_per_minute": "Max orders per minute",
    "max_daily_notional_usd": "Max notional per UTC day (USD)",
    "price_band_percent": "Price band (%)",
    "max_position_usd": "Max position per instrument (USD)",
    "allowed_instruments": "Allowed instruments",
    "denied_instruments": "Denied instruments",
}
# A limit is near once this share of it is used: the page flags it before orders are refused.
NEAR_SHARE = Decimal("0.8")


@dataclass(frozen=True)
class LimitUsage:
    name: str  # the RiskLimits field
    label: str
    limit: object  # None: no limit
    used: int | Decimal | None  # None: checked order by order, nothing accumulates

    @property
    def reached(self) -> bool:
        """New orders that would count are refused (a lowered limit: until usage falls back)."""
        return self.limit is not None and self.used is not None and self.used >= self.limit

    @property
    def near(self) -> bool:
        """Not reached yet, but NEAR_SHARE of it is used."""
        if self.limit is None or self.used is None or self.reached:
            return False
        return self.used >= self.limit * NEAR_SHARE


@dataclass(frozen=True)
class StateChange:
    """Who set a scope's state that is not ACTIVE, when and why."""

    by: str
    at: datetime
    reason: str


@dataclass(frozen=True)
class ScopeUsage:
    scope: str  # "desk", "account:<id>", "trader:<id>"
    label: str
    state: str | None  # a trader has no trading state of their own
    limits: list[LimitUsage]
    change: StateChange | None = None  # the state is not ACTIVE: who set it

    @property
    def account_id(self) -> int | None:
        kind, _, pk = self.scope.partition(":")
        return int(pk) if kind == "account" else None


def risk_usage(
    *, account: ExchangeAccount | None = None, user: AbstractBaseUser | None = None
) -> ScopeUsage:
    if account is not None:
        scope, label = account_scope(account.pk), f"account {account.exchange_id}"
    elif user is not None:
        scope, label = trader_scope(user.pk), f"trader {user.get_username()}"
    else:
        scope, label = DESK, "the desk"
    return _usage({scope: label})[0]


def risk_overview() -> list[ScopeUsage]:
    """The desk, then every account, then every trader who has limits."""
    rules = desk_rules()
    scopes = {DESK: "the desk"}
    for pk, exchange_id in ExchangeAccount.objects.values_list("pk", "exchange_id"):
        scopes[account_scope(pk)] = f"account {exchange_id}"
    traders = [scope for scope in rules.limits if scope.startswith("trader:")]
    users = get_user_model().objects.filter(pk__in=[int(s.split(":")[1]) for s in traders])
    for user in users.order_by(get_user_model().USERNAME_FIELD):
        scopes[trader_scope(user.pk)] = f"trader {user.get_username()}"
    return _usage(scopes, rules)


def _usage(scopes: dict[str, str], rules=None) -> list[ScopeUsage]:
    rules = rules or desk_rules()
    now = timezone.now()
    working, last_second, last_minute = _order_counts(now)
    notional = dict(
        RiskUsage.objects.filter(scope__in=scopes, day=now.date()).values_list(
            "scope", "notional_usd"
        )
    )
    used = {
        "max_working_orders": working,
        "max_orders_per_second": last_second,
        "max_orders_per_minute": last_minute,
    }
    changes = _state_changes(scopes, rules)
    result = []
    for scope, label in scopes.items():
        limits = rules.limits.get(scope) or Limits(scope=scope, label=label)
        figures = {name: counts[scope] for name, counts in used.items()}
        figures["max_daily_notional_usd"] = notional.get(scope, Decimal(0))
        state = None
        if not scope.startswith("trader:"):
            state = rules.states.get(scope, (label, TradingState.ACTIVE))[1]
        result.append(
            ScopeUsage(
                scope,
                label,
                state,
                [
                    LimitUsage(name, LABELS[name], _limit(limits, name), figures.get(name))
                    for name in LABELS
                ],
                changes.get(scope),
            )
        )
    return result


def _state_changes(scopes: dict[str, str], rules) -> dict[str, StateChange]:
    """For the scopes that are not ACTIVE (none: no query)."""
    if not any(scope in rules.states for scope in scopes):
        return {}
    rows = ScopeState.objects.exclude(state=TradingState.ACTIVE).select_related("changed_by")
    return {
        row.scope: StateChange(
            by=row.changed_by.get_username() if row.changed_by else "",
            at=row.changed_at,
            reason=row.reason,
        )
        for row in rows.only("account_id", "reason", "changed_at", "changed_by__username")
    }


def _limit(limits: Limits, name: str) -> object:
    value = getattr(limits, name)
    if name in {"allowed_instruments", "denied_instruments"}:
        return ", ".join(sorted(value)) or None
    return value


def _order_counts(now) -> tuple[Counter, Counter, Counter]:
    """Working orders, and orders accepted in the last second and minute, by scope."""
    working: Counter = Counter()
    rows = (
        Order.objects.filter(WORKING)
        .values_list("account_id", "created_by_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for account_id, user_id, n in rows:
        _add(working, account_id, user_id, n)
    last_second: Counter = Counter()
    last_minute: Counter = Counter()
    recent = Order.objects.filter(accepted_since(now - MINUTE))
    for account_id, user_id, created_at in recent.values_list(
        "account_id", "created_by_id", "created_at"
    ):
        _add(last_minute, account_id, user_id, 1)
        if created_at > now - SECOND:
            _add(last_second, account_id, user_id, 1)
    return working, last_second, last_minute


def _add(counts: Counter, account_id: int, user_id: int | None, n: int) -> None:
    counts[DESK] += n
    counts[account_scope(account_id)] += n
    if user_id is not None:
        counts[trader_scope(user_id)] += n
