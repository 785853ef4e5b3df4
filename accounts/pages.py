"""What the account pages show (the overview's figures, the balances), built from a user and the
page's parameters rather than a request: the views render it, and the stream (stream.pages)
renders the very same partials when it pushes a change to an open page."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import Prefetch
from django.utils import timezone

from orders.selectors import open_order_count
from positions.pages import positions_context
from positions.selectors import unrealized_usd

from .models import Balance
from .selectors import accounts_visible


def _accounts_with_balances(*, user) -> list:
    return list(
        accounts_visible(user=user).prefetch_related(
            Prefetch("balances", queryset=Balance.objects.order_by("asset_id_exchange"))
        )
    )


def _usd(rows) -> Decimal | None:
    values = [row.balance * row.rate_usd for row in rows if row.rate_usd is not None]
    return sum(values, Decimal(0)) if values else None


def overview_context(*, user) -> dict:
    """The overview's live figures: total value, each account's value and connection, the
    holdings per asset, the open order count, the positions (the chart is the page's own).
    An account's value is its balances' plus its positions' unrealized PnL, in USD."""
    accounts = _accounts_with_balances(user=user)
    per_asset = defaultdict(lambda: {"balance": Decimal(0), "usd": Decimal(0)})
    now = timezone.now()
    unrealized = unrealized_usd(account_ids={account.pk for account in accounts})
    for account in accounts:
        account.usd = _usd(account.balances.all())
        account.unrealized_usd = unrealized.get(account.pk)
        if account.unrealized_usd is not None:
            account.usd = (account.usd or 0) + account.unrealized_usd
        account.data_age = (
            (now - account.last_sync_at).total_seconds() if account.last_sync_at else None
        )
        for row in account.balances.all():
            per_asset[row.asset_id_exchange]["balance"] += row.balance
            if row.rate_usd is not None:
                per_asset[row.asset_id_exchange]["usd"] += row.balance * row.rate_usd
    return {
        "accounts": accounts,
        "total_usd": sum((account.usd or 0 for account in accounts), Decimal(0)),
        "unrealized_usd": sum(unrealized.values(), Decimal(0)),
        "per_asset": sorted(per_asset.items(), key=lambda item: -item[1]["usd"]),
        "open_orders": open_order_count(accounts=accounts),
        **positions_context(accounts=accounts),
    }


def balances_context(*, user, refresh_requested: str | None = None) -> dict:
    """Every visible account's balances and their totals per asset. `refresh_requested` (an ISO
    time) is when the user asked the venues for fresh balances: until every enabled account has
    synced since, the page says it is syncing (`refreshing`)."""
    accounts = _accounts_with_balances(user=user)
    per_asset = defaultdict(
        lambda: {
            "balance": Decimal(0),
            "available": Decimal(0),
            "locked": Decimal(0),
            "usd": Decimal(0),
        }
    )
    for account in accounts:
        for row in account.balances.all():
            row.usd = row.balance * row.rate_usd if row.rate_usd is not None else None
            totals = per_asset[row.asset_id_exchange]
            totals["balance"] += row.balance
            totals["available"] += row.available
            totals["locked"] += row.locked
            totals["usd"] += row.usd or 0
    refreshing = refresh_requested is not None and not all(
        account.last_sync_at and account.last_sync_at.isoformat() >= refresh_requested
        for account in accounts
        if account.enabled
    )
    return {
        "accounts": accounts,
        "per_asset": sorted(per_asset.items()),
        "refreshing": refreshing,
        "refresh_requested": refresh_requested if refreshing else None,
    }
