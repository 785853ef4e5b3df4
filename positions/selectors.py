"""What the order path and the sync read of positions."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Q

from accounts.models import ExchangeAccount
from orders.models import Order
from venues.base import InstrumentKind

from .models import Position


def position_held(*, account_id: int, symbol_id_exchange: str) -> tuple[Decimal, Decimal]:
    """The signed size and the leverage the venue last reported (0 and 1 when none)."""
    row = (
        Position.objects.filter(account_id=account_id, symbol_id_exchange=symbol_id_exchange)
        .values_list("size", "leverage")
        .first()
    )
    return row or (Decimal(0), Decimal(1))


def positions_due(*, account: ExchangeAccount) -> bool:
    """Whether a sync should read the account's positions: it held one at its last read (marks
    move it), a difference from the desk's fills awaits a second read (positions.reconcile), or
    an order of it on a derivative changed since the last sync."""
    rows = Position.objects.filter(account=account)
    if rows.filter(Q(size__lt=0) | Q(size__gt=0) | Q(fills_gap_pending__isnull=False)).exists():
        return True
    orders = Order.objects.filter(account=account).exclude(instrument__kind=InstrumentKind.SPOT)
    if account.last_sync_at is not None:
        orders = orders.filter(updated_at__gte=account.last_sync_at)
    return orders.exists()


def position_settings(*, account_id: int, symbol_id_exchange: str) -> tuple[Decimal, bool]:
    """The leverage and margin mode (cross or not) last set or reported (1, isolated when
    none)."""
    row = (
        Position.objects.filter(account_id=account_id, symbol_id_exchange=symbol_id_exchange)
        .values_list("leverage", "cross")
        .first()
    )
    return row or (Decimal(1), False)
