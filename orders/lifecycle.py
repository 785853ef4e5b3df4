"""The order lifecycle: the only code that changes an order's status, amounts and fills.

The contract's transition table (plus ROUTING -> REJECTED, which the hosted EMS shows) decides
which status may follow which. Terminal statuses never change; a late or out-of-order venue
report never moves an order backwards; filled amounts only grow. Every write is a guarded
UPDATE (on the status, and for venue reports on the row's version too), so two workers can never
both apply conflicting changes: the loser re-reads and plans again.
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from stream.models import EventKind
from stream.outbox import event_record
from venues.base import OrdStatus, VenueFill, VenueOrder

from .changes import changes_bump
from .models import EventCause, Fill, Order
from .statuses import CANCELABLE, NOT_YET_ACCEPTED, TERMINAL_STATUSES, TRANSITIONS
from .tasks import cancel_order, delay_after_commit
from .writes import Guard, Written, order_write

logger = logging.getLogger(__name__)

S = OrdStatus
PRICE_PLACES = Decimal(10) ** -18


def sources_of(target: str) -> frozenset[str]:
    return frozenset(source for source, targets in TRANSITIONS.items() if target in targets)


def path_to(current: str, target: str) -> tuple[str, ...] | None:
    """The shortest chain of allowed transitions from `current` to `target`, or None."""
    if current == target:
        return ()
    queue = deque([(current, ())])
    seen = {current}
    while queue:
        status, path = queue.popleft()
        for following in sorted(TRANSITIONS[status]):
            if following in seen:
                continue
            if following == target:
                return (*path, following)
            seen.add(following)
            queue.append((following, (*path, following)))
    return None


class Overfill(Exception):
    """The venue reports more filled than was ordered: recorded loudly, never clamped."""


@dataclass(frozen=True)
class OrderState:
    status: str
    amount_order: Decimal
    amount_filled: Decimal


@dataclass(frozen=True)
class Plan:
    path: tuple[str, ...]  # statuses to enter, in order; empty when the status stays
    amount_filled: Decimal

    @property
    def status_after(self) -> str | None:
        return self.path[-1] if self.path else None


def plan_report(state: OrderState, venue_status: str, venue_filled: Decimal) -> Plan | None:
    """What a venue report means for an order in `state`; None when it changes nothing.

    Pure, so that property tests can drive it with any sequence of reports.
    """
    if state.status in TERMINAL_STATUSES:
        return None
    filled = max(state.amount_filled, venue_filled)
    if filled > state.amount_order:
        raise Overfill(f"venue reports {venue_filled} filled of {state.amount_order}")
    if venue_status == S.FILLED:
        filled = state.amount_order

    target = _target_status(state, venue_status, filled)
    if target is None:
        path = ()
    elif target == S.CANCELED and filled > 0 and state.status in NOT_YET_ACCEPTED:
        # It traded before it was canceled (an IOC, say): show that it was partially filled.
        path = (*path_to(state.status, S.PARTIALLY_FILLED), S.CANCELED)
    else:
        path = path_to(state.status, target) or ()

    if not path and filled == state.amount_filled:
        return None
    return Plan(path=path, amount_filled=filled)


def _target_status(state: OrderState, venue_status: str, filled: Decimal) -> str | None:
    if venue_status == S.REJECTED:
        return S.REJECTED if state.status in NOT_YET_ACCEPTED else None
    if venue_status == S.CANCELED and filled == state.amount_order:
        # Nothing was left to cancel. Where a venue's report cannot tell (Kraken Futures' order
        # found only by its fills, which do not carry its quantity) the order's amount does.
        return S.FILLED
    if venue_status in (S.FILLED, S.CANCELED):
        return venue_status
    # Still open at the venue.
    if filled == state.amount_order:
        return S.FILLED
    if state.status == S.PENDING_CANCEL and filled == state.amount_filled:
        return None  # our cancel is still on its way; "open" is not news
    return S.PARTIALLY_FILLED if filled > 0 else S.NEW


def apply_report(
    order_id: int,
    report: VenueOrder,
    *,
    cause: str,
    note: str = "",
    attempts: int = 5,
    order: Order | None = None,
) -> bool:
    """Apply a venue's report of an order (and the fills it carries). True if anything changed.

    `order`: the order as the caller holds it (the router, after its claim), so that the first
    attempt need not read it again; on return it is the order as this call last wrote or read
    it, a cancel asked for meanwhile included. A copy that is not current costs a retry, never
    a wrong write: the update is guarded by the version it was planned from, and a copy on
    which the report is old news is read again before the report is dropped.
    """
    if order is None:
        order = Order.objects.get(pk=order_id)
    elif not report_changes(order, report):
        order.refresh_from_db()
    for _ in range(attempts):
        applied = _apply_to(order, report, cause=cause, note=note)
        if applied is not None:
            return applied
        order.refresh_from_db()  # another worker changed it first: read again and re-plan
    logger.warning("order %s: gave up applying a report after %s conflicts", order_id, attempts)
    return False


def _apply_to(order: Order, report: VenueOrder, *, cause: str, note: str) -> bool | None:
    """apply_report's one attempt on the order as read; None if the guarded update lost."""
    state = OrderState(order.status, order.amount_order, order.amount_filled)
    try:
        plan = plan_report(state, report.status, report.amount_filled)
    except Overfill as overfill:
        _record_overfill(order, report, overfill)
        return False
    identifiers = _new_identifiers(order, report)
    if plan is None and not identifiers:
        _log_ignored(order, report)
        # The amounts already include these trades (an earlier report raised them), but the
        # trades themselves may be news: keep them, once each. Not for a canceled or rejected
        # order: a trade the amounts do not include is an anomaly, not a detail.
        if order.status not in (S.CANCELED, S.REJECTED):
            _record_trades_only(order, report.fills)
        return False
    plan = plan or Plan(path=(), amount_filled=order.amount_filled)
    fields = {**identifiers, **_fill_fields(order, plan.amount_filled, report)}
    if plan.status_after == S.REJECTED:
        fields.update(error_message=report.message or "Rejected by the venue.")
    now = timezone.now()
    events = [(status, now, cause, note or report.message) for status in plan.path]
    # The fills are written with the order or not at all; without any, one statement suffices.
    with transaction.atomic() if report.fills else contextlib.nullcontext():
        written = _guarded_write(order, plan.status_after, fields, events, now)
        if written is None:
            return None
        _record_fills(order, report.fills)
    _keep(order, plan.status_after or order.status, written, fields, now)
    changes_bump()
    return True


def _keep(order: Order, status: str, written: Written, fields: dict, now) -> None:
    """Leave `order` as the write left the row, so that its holder need not read it again."""
    order.status, order.updated_at = status, now
    order.version, order.cancel_requested_at, order.canceled_by_id = written
    for name, value in fields.items():
        setattr(order, name, value)


def report_changes(order: Order, report: VenueOrder) -> bool:
    """Whether apply_report would change `order`, as read, on this report: the test it makes
    inside its transaction, for a caller that read many orders at once (a sync)."""
    state = OrderState(order.status, order.amount_order, order.amount_filled)
    try:
        plan = plan_report(state, report.status, report.amount_filled)
    except Overfill:
        return True  # apply_report records it
    return plan is not None or bool(_new_identifiers(order, report))


def apply_fills(order_id: int, fills: Iterable[VenueFill], *, cause: str) -> bool:
    """Apply fills learned on their own (a venue's trade feed). Replayed fills count once."""
    fills = _unique_trades(fills)
    with transaction.atomic():
        order = Order.objects.get(pk=order_id)
        known = set(order.fills.values_list("trade_id", flat=True))
        new = [fill for fill in fills if fill.trade_id not in known]
        if not new:
            return False
        recorded = sum(
            (amount for amount in order.fills.values_list("amount", flat=True)), Decimal(0)
        )
        filled = recorded + sum((fill.amount for fill in new), Decimal(0))
        status = S.FILLED if filled >= order.amount_order else S.PARTIALLY_FILLED
        report = VenueOrder(
            client_order_id=order.client_order_id,
            exchange_order_id=new[0].exchange_order_id,
            symbol_id_exchange="",
            status=status,
            side=order.side,
            amount=order.amount_order,
            price=order.price,
            amount_filled=filled,
            fills=tuple(new),
        )
    return apply_report(order_id, report, cause=cause)


def _unique_trades(fills: Iterable[VenueFill]) -> tuple[VenueFill, ...]:
    """Each trade once: a venue (or a replay) may report the same trade twice in one batch."""
    return tuple({fill.trade_id: fill for fill in fills}.values())


def transition(
    order_id: int,
    *,
    to: str,
    cause: str,
    note: str = "",
    allowed_from: Iterable[str] | None = None,
    **fields,
) -> bool:
    """Move an order to `to` for an internal reason (a claim, a local rejection, a cancel)."""
    return _transition(order_id, to, cause, note, allowed_from, fields) is not None


def claim(order: Order, *, to: str, cause: str, allowed_from: Iterable[str], **fields) -> bool:
    """transition() for the worker that holds `order` as read: if it wins, `order` is left as
    the claim wrote it (status, version, fields), ready to be passed to apply_report."""
    now = timezone.now()
    written = _transition(order.pk, to, cause, "", allowed_from, fields, now)
    if written is None:
        return False
    _keep(order, to, written, fields, now)
    return True


def _transition(order_id, to, cause, note, allowed_from, fields, now=None) -> Written | None:
    sources = frozenset(allowed_from) if allowed_from is not None else sources_of(to)
    assert all(to in TRANSITIONS[source] for source in sources), (sources, to)
    now = now or timezone.now()
    written = order_write(
        Guard(order_id, sources),
        {"status": to, "updated_at": now, **fields},
        [(to, now, cause, note)],
    )
    if written is not None:
        changes_bump()
    return written


def cancel_refused(order_id: int, *, note: str) -> bool:
    """The venue refused our cancel and the order is still working: back to where it was."""
    with transaction.atomic():
        order = Order.objects.get(pk=order_id)
        if order.status != S.PENDING_CANCEL:
            return False
        back = S.PARTIALLY_FILLED if order.amount_filled > 0 else S.NEW
        return transition(
            order_id, to=back, cause=EventCause.CANCEL, note=note, allowed_from={S.PENDING_CANCEL}
        )


def cancel_request(order_id: int, *, user, cause: str, note: str = "") -> bool:
    """PENDING_CANCEL, and the cancel queued for a worker to send once that is committed."""
    with transaction.atomic():
        moved = transition(
            order_id,
            to=S.PENDING_CANCEL,
            cause=cause,
            note=note,
            allowed_from=CANCELABLE,
            canceled_by=user,
        )
        if moved:
            delay_after_commit(cancel_order, order_id)
    return moved


def cancel_if_requested(order: Order) -> None:
    """A cancel asked for while the order was being routed goes out once the venue has it."""
    if order.cancel_requested_at and order.status in CANCELABLE:
        cancel_request(order.pk, user=order.canceled_by, cause=EventCause.CANCEL)


def _record_overfill(order: Order, report: VenueOrder, overfill: Overfill) -> None:
    """Keep an over-fill report on the order and alert; the order's amounts stay as they were.

    Recorded on the order, where the order page and orders.invariants look, with an ERROR log
    line for the alerting that watches the logs. Only a larger report writes again, so a venue
    repeating the same one on every sync does not flood.
    """
    larger = Q(overfill_reported__isnull=True) | Q(overfill_reported__lt=report.amount_filled)
    if Order.objects.filter(larger, pk=order.pk).update(overfill_reported=report.amount_filled):
        logger.error(
            "OVERFILL order=%s %s (exchange_order_id=%s); recorded, amounts left unchanged",
            order.client_order_id,
            overfill,
            report.exchange_order_id,
        )


def _guarded_write(order: Order, status: str | None, fields: dict, events, now) -> Written | None:
    return order_write(
        Guard(order.pk, {order.status}, order.version),
        {"status": status or order.status, "updated_at": now, **fields},
        events,
    )


def _new_identifiers(order: Order, report: VenueOrder) -> dict:
    fields = {}
    if report.exchange_order_id and not order.exchange_order_id:
        fields["exchange_order_id"] = report.exchange_order_id
    if report.client_order_id_format_exchange and not order.client_order_id_format_exchange:
        fields["client_order_id_format_exchange"] = report.client_order_id_format_exchange
    return fields


def _fill_fields(order: Order, filled: Decimal, report: VenueOrder) -> dict:
    if filled == order.amount_filled:
        return {}
    fills = list(order.fills.values_list("trade_id", "price", "amount"))
    known = {trade_id for trade_id, _, _ in fills}
    fills += [
        (f.trade_id, f.price, f.amount)
        for f in _unique_trades(report.fills)
        if f.trade_id not in known
    ]
    quantity = sum((amount for _, _, amount in fills), Decimal(0))
    if quantity == filled:
        avg_px = sum((price * amount for _, price, amount in fills), Decimal(0)) / quantity
    else:
        avg_px = report.avg_px or order.avg_px
    return {
        "amount_filled": filled,
        "amount_open": order.amount_order - filled,
        "avg_px": avg_px.quantize(PRICE_PLACES).normalize(),
    }


def _record_fills(order: Order, fills: Iterable[VenueFill]) -> None:
    Fill.objects.bulk_create(
        [
            Fill(
                order=order,
                trade_id=fill.trade_id,
                time=fill.time,
                price=fill.price,
                amount=fill.amount,
                fee=fill.fee,
                fee_asset=fill.fee_asset,
                liquidity=fill.liquidity,
            )
            for fill in fills
        ],
        ignore_conflicts=True,
    )


def _record_trades_only(order: Order, fills: Iterable[VenueFill]) -> None:
    """Keep the trades not known yet of an order whose amounts already include them: its
    report's fills change, so the stream hears of it (the event with the trades, or neither)."""
    fills = _unique_trades(fills)
    if not fills:
        return
    known = set(
        order.fills.filter(trade_id__in=[fill.trade_id for fill in fills]).values_list(
            "trade_id", flat=True
        )
    )
    new = [fill for fill in fills if fill.trade_id not in known]
    if not new:
        return
    with transaction.atomic():
        _record_fills(order, new)
        event_record(kind=EventKind.ORDER, account_id=order.account_id, ref_id=order.pk)
    changes_bump()


def _log_ignored(order: Order, report: VenueOrder) -> None:
    if order.status in TERMINAL_STATUSES and report.status != order.status:
        logger.warning(
            "order %s is %s; ignored a late venue report of %s (filled %s)",
            order.client_order_id,
            order.status,
            report.status,
            report.amount_filled,
        )
