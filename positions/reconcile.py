"""Positions reconciled against the desk's own fills.

For each contract, the gap = the venue's position less the net of the account's fills recorded
here. A gap that is not zero is normal (a position opened before the account was linked); a gap
that moves is not: a liquidation, a trade placed outside emsweb and not adopted, a fill missed
or counted twice. A moved gap raises the account's POSITION alert once it is read twice in a
row: a trade that executes between the sync's fills read and its positions read moves the gap
for one read only, until its fill is recorded.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from decimal import Decimal

from django.db.models import Sum

from accounts.models import AlertKind, ExchangeAccount
from accounts.services import account_alert_raise
from orders.models import Fill
from venues.base import InstrumentKind, OrdSide, VenuePosition

from .models import Position

logger = logging.getLogger(__name__)
ZERO = Decimal(0)


def desk_fills_net(*, account: ExchangeAccount) -> dict[str, Decimal]:
    """The signed net of the account's fills on each derivative, by the venue's symbol."""
    totals = (
        Fill.objects.filter(order__account=account)
        .exclude(order__instrument__kind=InstrumentKind.SPOT)
        .values_list("order__instrument__symbol_id_exchange", "order__side")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    net: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for symbol, side, total in totals:
        net[symbol] += total if side == OrdSide.BUY else -total
    return dict(net)


def positions_reconcile(*, account: ExchangeAccount, positions: list[VenuePosition]) -> list[str]:
    """Compare the venue's positions with the desk's fills; raise the account's alert for each
    contract whose gap moved (read twice). Returns those contracts' symbols."""
    reported = {item.symbol_id_exchange: item.size for item in positions}
    net = desk_fills_net(account=account)
    rows = {row.symbol_id_exchange: row for row in Position.objects.filter(account=account)}
    moved = []
    for symbol in sorted(set(reported) | set(net) | set(rows)):
        row = rows.get(symbol)
        if row is None:
            continue  # recorded by positions_record first: its baseline is set next read
        gap = reported.get(symbol, ZERO) - net.get(symbol, ZERO)
        baseline, pending = row.fills_gap, row.fills_gap_pending
        if baseline is None or gap == baseline:
            values = {"fills_gap": gap, "fills_gap_pending": None}
        elif gap != pending:
            values = {"fills_gap_pending": gap}  # moved once: wait for the next read
        else:
            moved.append(symbol)
            values = {"fills_gap": gap, "fills_gap_pending": None}  # one alert per move
            _alert(account, row, baseline, gap)
        if any(getattr(row, name) != value for name, value in values.items()):
            Position.objects.filter(pk=row.pk).update(**values)
    return moved


def _alert(account: ExchangeAccount, row: Position, baseline: Decimal, gap: Decimal) -> None:
    name = row.symbol_id_coinapi or row.symbol_id_exchange
    account_alert_raise(
        exchange_id=account.exchange_id,
        venue=account.venue,
        kind=AlertKind.POSITION,
        message=(
            f"{account.venue} reports {name} at {row.size.normalize():f}, "
            f"{(gap - baseline).normalize():+f} from what the desk's fills explain."
        ),
    )
