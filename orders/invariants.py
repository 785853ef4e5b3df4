"""The invariant checker: the database against the paper venue's own record of the same account.

Run after a fault scenario has settled (and, later, from a management command). Each function
returns a list of violations, plain sentences naming the order; an empty list means:

- the venue holds at most one order per client_order_id, and received at most one create each;
- every venue order is known to the database;
- each order's status and filled amount are the venue's (venue statuses mapped to ours);
- each fill is recorded once, and the recorded fills are the venue's trades;
- no over-fill report is waiting for a person;
- no order sits in RECEIVED or ROUTING past its deadline without a reconciliation in progress;
- where the record has positions (a derivatives venue): each is the one emsweb recorded, and the
  desk's fills explain it (less the gap agreed when it was first read, positions.reconcile).

The paper venue keeps a record emsweb can read. Another venue is checked against a record
source registered for it (`record_source_set`: a test's fake exchange, or an export of the
exchange's own history); without one, checking its account is an error, never a silent pass.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from accounts.models import ExchangeAccount
from positions.models import Position
from positions.reconcile import desk_fills_net
from venues.base import OrdStatus
from venues.paper.models import PaperAccount, PaperOrder, PaperRequest, PaperTrade

from .gate import sync_running
from .models import Fill, Order
from .money import plain
from .statuses import EVER_AT_VENUE

S = OrdStatus
# Our statuses that agree with each venue status. PENDING_CANCEL: our cancel is on its way.
AGREES_WITH_VENUE = {
    "NEW": {S.NEW, S.PENDING_CANCEL},
    "PARTIALLY_FILLED": {S.PARTIALLY_FILLED, S.PENDING_CANCEL},
    "FILLED": {S.FILLED},
    "CANCELED": {S.CANCELED},
}


@dataclass(frozen=True)
class RecordedOrder:
    """One order as the venue itself records it. `status`: NEW, PARTIALLY_FILLED, FILLED or
    CANCELED; `trades`: the venue's trade ids of this order and their amounts."""

    client_order_id: str
    exchange_order_id: str
    status: str
    filled: Decimal
    trades: Mapping[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class VenueRecord:
    """What the venue holds for one account, and the create requests it received per client
    order id (as sent: the venue's own format of it)."""

    orders: list[RecordedOrder]
    creates: Counter[str] = field(default_factory=Counter)
    # A derivatives venue's positions, signed, by its own symbol; None: not checked.
    positions: Mapping[str, Decimal] | None = None


RecordSource = Callable[[ExchangeAccount], VenueRecord]
_record_sources: dict[str, RecordSource] = {}


def record_source_set(venue: str, source: RecordSource | None) -> None:
    """Check accounts at `venue` against `source`'s record (None: forget it)."""
    if source is None:
        _record_sources.pop(venue, None)
    else:
        _record_sources[venue] = source


def invariants_check(*, now: datetime | None = None) -> list[str]:
    """Every paper account's violations."""
    violations = []
    for account in ExchangeAccount.objects.filter(venue="PAPER"):
        violations += account_invariants_check(account=account, now=now)
    return violations


def account_invariants_check(*, account: ExchangeAccount, now: datetime | None = None) -> list[str]:
    """One account's violations: its orders in the database against the venue's record."""
    now = now or timezone.now()
    record = venue_record(account)
    orders = list(Order.objects.filter(account=account))
    violations = _one_per_client_order_id(record)
    matched: dict[int, RecordedOrder] = {}
    for venue_order in record.orders:
        order = _order_for(orders, venue_order)
        if order is None:
            violations.append(f"venue order {venue_order.exchange_order_id} is unknown to emsweb")
        else:
            matched[order.pk] = venue_order
    for order in orders:
        venue_order = matched.get(order.pk)
        if venue_order is None:
            violations += _absent_at_venue(order)
        else:
            violations += _agrees(order, venue_order)
        violations += _not_stuck(order, account, now)
        if order.overfill_reported is not None:
            violations.append(
                f"{order}: the venue reported {order.overfill_reported} filled of "
                f"{order.amount_order} (over-fill, recorded, needs a person)"
            )
    if record.positions is not None:
        violations += _positions_agree(account, record.positions)
    return violations


def _positions_agree(account: ExchangeAccount, positions: Mapping[str, Decimal]) -> list[str]:
    rows = {row.symbol_id_exchange: row for row in Position.objects.filter(account=account)}
    net = desk_fills_net(account=account)
    held = {symbol for symbol, row in rows.items() if row.size}
    violations = []
    for symbol in sorted(set(positions) | held):
        venue_size = positions.get(symbol, Decimal(0))
        row = rows.get(symbol)
        recorded = row.size if row is not None else Decimal(0)
        if recorded != venue_size:
            violations.append(
                f"position {symbol}: {plain(recorded)} in emsweb, {plain(venue_size)} at the venue"
            )
        gap = row.fills_gap if row is not None and row.fills_gap is not None else Decimal(0)
        explained = net.get(symbol, Decimal(0)) + gap
        if explained != venue_size:
            violations.append(
                f"position {symbol}: the desk's fills explain {plain(explained)}, the venue "
                f"holds {plain(venue_size)}"
            )
    return violations


def venue_record(account: ExchangeAccount) -> VenueRecord:
    """The venue's own record of the account: the paper venue's tables, or a registered source."""
    if account.venue != "PAPER":
        source = _record_sources.get(account.venue)
        if source is None:
            raise LookupError(f"No record of {account.venue} to check {account} against.")
        return source(account)
    paper = PaperAccount.objects.filter(account_key=account.exchange_id).first()
    if paper is None:
        return VenueRecord(orders=[])
    trades: dict[int, dict[str, Decimal]] = {}
    for order_id, pk, amount in PaperTrade.objects.filter(order__account=paper).values_list(
        "order_id", "pk", "amount"
    ):
        trades.setdefault(order_id, {})[str(pk)] = amount
    orders = [
        RecordedOrder(
            client_order_id=order.client_order_id,
            exchange_order_id=order.exchange_order_id,
            status=order.status,
            filled=order.filled,
            trades=trades.get(order.pk, {}),
        )
        for order in PaperOrder.objects.filter(account=paper)
    ]
    creates = Counter(
        PaperRequest.objects.filter(account=paper, kind=PaperRequest.Kind.SUBMIT)
        .exclude(client_order_id="")
        .values_list("client_order_id", flat=True)
    )
    return VenueRecord(orders=orders, creates=creates)


def _one_per_client_order_id(record: VenueRecord) -> list[str]:
    violations = []
    ids = Counter(order.client_order_id for order in record.orders if order.client_order_id)
    for client_order_id, count in ids.items():
        if count > 1:
            violations.append(f"{client_order_id}: {count} orders at the venue")
    for client_order_id, count in record.creates.items():
        if count > 1:
            violations.append(f"{client_order_id}: {count} create requests sent")
    return violations


def _order_for(orders: list[Order], venue_order: RecordedOrder) -> Order | None:
    for order in orders:
        if venue_order.client_order_id and venue_order.client_order_id in (
            order.client_order_id,
            order.client_order_id_format_exchange,
        ):
            return order
        if order.exchange_order_id and order.exchange_order_id == venue_order.exchange_order_id:
            return order
    return None


def _absent_at_venue(order: Order) -> list[str]:
    if order.status in EVER_AT_VENUE:
        return [f"{order}: {order.status} in emsweb, but the venue has no such order"]
    if order.fills.exists():
        return [f"{order}: fills recorded, but the venue has no such order"]
    return []


def _agrees(order: Order, venue_order: RecordedOrder) -> list[str]:
    violations = []
    if order.status not in AGREES_WITH_VENUE[venue_order.status]:
        violations.append(f"{order}: {order.status} in emsweb, {venue_order.status} at the venue")
    if order.amount_filled != venue_order.filled:
        violations.append(
            f"{order}: {plain(order.amount_filled)} filled in emsweb, "
            f"{plain(venue_order.filled)} at the venue"
        )
    if order.exchange_order_id and order.exchange_order_id != venue_order.exchange_order_id:
        violations.append(
            f"{order}: exchange_order_id {order.exchange_order_id}, "
            f"the venue's is {venue_order.exchange_order_id}"
        )
    violations += _fills_counted_once(order, venue_order)
    return violations


def _fills_counted_once(order: Order, venue_order: RecordedOrder) -> list[str]:
    recorded = Counter(Fill.objects.filter(order=order).values_list("trade_id", flat=True))
    trades = venue_order.trades
    violations = [f"{order}: trade {t} recorded {n} times" for t, n in recorded.items() if n > 1]
    if unknown := sorted(set(recorded) - set(trades)):
        violations.append(f"{order}: fills {unknown} are not the venue's trades of this order")
    if missing := sorted(set(trades) - set(recorded)):
        violations.append(f"{order}: the venue's trades {missing} are not recorded")
    total = sum(Fill.objects.filter(order=order).values_list("amount", flat=True), Decimal(0))
    if total != order.amount_filled:
        violations.append(f"{order}: fills add up to {total}, not {order.amount_filled}")
    return violations


def _not_stuck(order: Order, account: ExchangeAccount, now: datetime) -> list[str]:
    """RECEIVED past the sweeper's reach, or ROUTING past never-placed, with nothing at work."""
    if order.status == S.RECEIVED:
        deadline = order.created_at + _seconds(
            settings.EMSWEB_SWEEP_RECEIVED_AFTER
            + settings.EMSWEB_SWEEP_INTERVAL
            + settings.EMSWEB_UNRECONCILED_REJECT_AFTER
        )
    elif order.status == S.ROUTING:
        deadline = (order.routing_started_at or order.created_at) + _seconds(
            settings.EMSWEB_NEVER_PLACED_AFTER
            + settings.EMSWEB_NOT_FOUND_LOOKUPS * settings.EMSWEB_SYNC_INTERVAL
        )
    else:
        return []
    if now <= deadline or sync_running(account_id=account.pk):
        return []
    return [f"{order}: {order.status} past its deadline {deadline:%H:%M:%S}, not reconciling"]


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)
