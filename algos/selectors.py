"""Reads about parents: their children, what is done, where it went."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Exists, OuterRef, QuerySet

from accounts.selectors import accounts_tradable, accounts_visible
from orders.models import Fill, Order
from orders.statuses import WORKING_STATUSES
from risk.models import ScopeState

from .models import CHILD_PREFIX, ParentOrder, ParentStatus


def children(parent: ParentOrder) -> QuerySet[Order]:
    """The parent's child orders, by the client order ids derived from it."""
    return Order.objects.filter(client_order_id__startswith=f"{CHILD_PREFIX}{parent.pk}-")


@dataclass(frozen=True)
class Progress:
    filled: Decimal
    working: Decimal  # open on children not finished yet
    notional: Decimal
    by_account: dict[str, Decimal] = field(default_factory=dict)

    @property
    def done(self) -> Decimal:
        """Filled, or on its way to filling: what the next slice must not ask for again."""
        return self.filled + self.working

    @property
    def avg_price(self) -> Decimal | None:
        return self.notional / self.filled if self.filled else None


def parent_progress(parent: ParentOrder) -> Progress:
    filled = working = notional = Decimal(0)
    by_account: dict[str, Decimal] = {}
    rows = children(parent).values_list(
        "status", "amount_filled", "amount_open", "avg_px", "account__exchange_id"
    )
    for status, amount_filled, amount_open, avg_px, exchange_id in rows:
        filled += amount_filled
        notional += amount_filled * avg_px
        if status in WORKING_STATUSES:
            working += amount_open
        if amount_filled:
            by_account[exchange_id] = by_account.get(exchange_id, Decimal(0)) + amount_filled
    return Progress(filled, working, notional, by_account)


def working_children(parent: ParentOrder) -> QuerySet[Order]:
    return children(parent).filter(status__in=WORKING_STATUSES)


def parent_fills(parent: ParentOrder) -> QuerySet[Fill]:
    """Every fill of every child, oldest first, with the account each went to."""
    return (
        Fill.objects.filter(order__client_order_id__startswith=f"{CHILD_PREFIX}{parent.pk}-")
        .select_related("order__account")
        .order_by("time", "id")
    )


def parents_visible(*, user) -> QuerySet[ParentOrder]:
    """The parents a user may see: those on accounts the user may see."""
    return ParentOrder.objects.filter(accounts__in=accounts_visible(user=user)).distinct()


def parent_tradable_by(parent: ParentOrder, *, user, api_key=None) -> bool:
    """Whether the user (through the key, if any) may trade every account of the parent: who
    may pause, resume, cancel or change it, from any door."""
    tradable = set(accounts_tradable(user=user, api_key=api_key).values_list("pk", flat=True))
    return {account.pk for account in parent.accounts.all()} <= tradable


def parents_hit_by_stops() -> QuerySet[ParentOrder]:
    """Running or paused parents that a stop numbered after their start (risk.stops) hit, on
    the desk or on one of their accounts."""
    newer = ScopeState.objects.filter(stop_number__gt=OuterRef("stop_mark"))
    on_desk = newer.filter(account__isnull=True)
    on_account = newer.filter(account__parent_orders=OuterRef("pk"))
    live = (ParentStatus.RUNNING, ParentStatus.PAUSED)
    return ParentOrder.objects.filter(status__in=live).filter(Exists(on_desk) | Exists(on_account))
