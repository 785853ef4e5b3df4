"""The schedule's driver: one step of one parent, at `now`.

A step claims the parent's next slice with a guarded update of its cursor (`version`) in the
transaction that records the slice and places its child through orders.services.order_submit,
so a slice is placed exactly once: a second worker, a replayed task or a restarted one finds the
cursor moved and does nothing. The child's client order id is derived from the parent and the
slice number besides, which order_submit's idempotency refuses twice. Venues (the books the
routing reads) are called before that transaction, never inside it.

A slice whose time passed by more than its tolerance is recorded MISSED and never sent later;
the cumulative plan (algos.schedule) moves its amount to the next number.

The same transaction checks, with its rows share-locked, that no halt, kill switch or cancel-all
hit the parent's accounts since it started (risk.stops): a stop committed before the claim
stops the parent instead, and one that comes after waits for the claim to commit, so its
cancel-all finds the child. Beat's tick (algos.tick) stops the parents that are not due.
"""

from __future__ import annotations

import contextlib
import hashlib
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from orders.models import RejectReason
from orders.money import plain, round_amount, round_price
from orders.services import OrderInvalid, OrderTicket, order_cancel, order_submit
from orders.services.cancel import OrderNotCancelable
from risk.stops import stop_since
from venues.base import OrdSide, OrdStatus, TimeInForce

from . import notify
from .models import (
    Algorithm,
    ChildStyle,
    EndPolicy,
    ParentOrder,
    ParentSlice,
    ParentStatus,
    SliceState,
    child_client_order_id,
)
from .routing import Candidate, NoRoute, candidates, choose
from .schedule import scheduled_at, slot_time, target, tolerance
from .selectors import parent_fills, parent_progress, working_children
from .services import (
    ParentNotChangeable,
    parent_complete,
    parent_pause,
    parent_stop,
    parent_stop_reason,
)
from .tasks import step_at

P = ParentStatus
# A child the venue or emsweb's route refused pauses the parent. One that never reached the venue
# (unreachable, or lost in a crash and not found there) does not: its amount is simply not done,
# and the next slice asks for it.
REFUSALS = (RejectReason.VENUE, RejectReason.LOCAL)


def parent_step(*, parent_id: int, now: datetime | None = None) -> None:
    """Do what is due on the parent at `now`: pause it, place or record its slice, or finish
    it; stop it, when the desk's controls stopped one of its accounts. Safe to run twice, or on
    two workers at once."""
    now = now or timezone.now()
    parent = ParentOrder.objects.filter(pk=parent_id).prefetch_related("accounts").first()
    if parent is None:
        return
    fills_tell(parent)
    if parent.status != P.RUNNING:
        return
    if reason := child_rejected(parent):
        _pause(parent, reason, now)
        return
    if parent.next_due_at > now:
        return
    if parent.algorithm == Algorithm.ICEBERG:
        _iceberg_step(parent, now)
    else:
        _scheduled_step(parent, now)


def _pause(parent: ParentOrder, reason: str, now: datetime) -> None:
    """Paused by what the step found (stopped, if what it found is the desk's controls: a halt
    refuses every account); a parent paused, canceled or stopped meanwhile stays so."""
    if stopped := parent_stop_reason(parent):
        parent_stop(parent=parent, reason=stopped, now=now)
        return
    with contextlib.suppress(ParentNotChangeable):
        parent_pause(parent=parent, reason=reason, now=now)


def child_rejected(parent: ParentOrder) -> str:
    """The reason of a child the venue (or emsweb's route) refused, once: its slice is marked
    REJECTED by the step that wins the guarded update. "" when none."""
    rejected = ParentSlice.objects.filter(
        parent=parent,
        state=SliceState.SENT,
        order__status=OrdStatus.REJECTED,
        order__reject_reason__in=REFUSALS,
    ).select_related("order")
    for row in rejected:
        if ParentSlice.objects.filter(pk=row.pk, state=SliceState.SENT).update(
            state=SliceState.REJECTED
        ):
            return f"Child {row.order.client_order_id} rejected: {row.order.error_message}"
    return ""


def _scheduled_step(parent: ParentOrder, now: datetime) -> None:
    total = parent.slice_count
    late = settings.EMSWEB_ALGO_SLICE_TOLERANCE
    while parent.next_slice < total:
        number = parent.next_slice
        due = scheduled_at(parent, number, slot_time(parent, number))
        if due > now:
            return
        if now - due > tolerance(parent, late):
            note = f"Due {due.isoformat()}, the step came {(now - due).total_seconds():.1f} s late."
            if not _claim(parent, number, due, now, state=SliceState.MISSED, note=note):
                return
            parent.refresh_from_db()
            continue
        _send_slice(parent, number, due, now, last=number == total - 1)
        return
    _finish(parent, now)


def _next_due(parent: ParentOrder, number: int, now: datetime) -> datetime:
    """When the step after slice `number` is due: the next slice's time; after the last, the
    end (where the parent finishes); an iceberg polls."""
    if parent.algorithm == Algorithm.ICEBERG or number + 1 >= parent.slice_count:
        return now + timedelta(seconds=settings.EMSWEB_ALGO_POLL_SECONDS)
    return scheduled_at(parent, number + 1, slot_time(parent, number + 1))


def _claim(
    parent: ParentOrder,
    number: int,
    due: datetime,
    now: datetime,
    *,
    state: str,
    note: str = "",
    wanted: Decimal = Decimal(0),
    child: tuple | None = None,
) -> bool:
    """Record slice `number` and move the cursor past it, in one transaction, if the cursor is
    still where this step read it and no stop (risk.stops) hit the parent's accounts since it
    started; with `child` (candidate, ticket) its order placed in the same transaction. False
    when another step had it, or a stop had (the parent stopped then): nothing written."""
    next_due = _next_due(parent, number, now)
    account_ids = [account.pk for account in parent.accounts.all()]
    try:
        with transaction.atomic():
            moved = ParentOrder.objects.filter(
                pk=parent.pk, version=parent.version, status=P.RUNNING, next_slice=number
            ).update(next_slice=number + 1, next_due_at=next_due, version=F("version") + 1)
            if not moved:
                return False
            if reason := stop_since(account_ids=account_ids, mark=parent.stop_mark, lock=True):
                raise StoppedMeanwhile(reason)  # undoes the move
            step_at(parent.pk, next_due)
            row = ParentSlice.objects.create(
                parent=parent,
                number=number,
                state=state,
                scheduled_at=due,
                target=wanted,
                note=note,
            )
            if child is not None:
                _place(parent, row, *child, now=now)
    except StoppedMeanwhile as stopped:
        parent_stop(parent=parent, reason=str(stopped), now=now)
        return False
    return True


class StoppedMeanwhile(Exception):
    """A stop hit the parent's accounts before its slice was claimed: the reason."""


def _place(parent, row: ParentSlice, candidate: Candidate, ticket: OrderTicket, *, now) -> None:
    try:
        order = order_submit(
            account=candidate.account,
            ticket=ticket,
            user=parent.created_by,
            api_key=parent.created_with_key,
            request_hash=hashlib.sha256(ticket.client_order_id.encode()).hexdigest(),
        )
    except OrderInvalid as refused:
        reason = "; ".join(f"{k}: {' '.join(v)}" for k, v in refused.errors.items())
        row.state, row.note = SliceState.REFUSED, reason
        row.save(update_fields=["state", "note"])
        _pause(parent, f"Child refused: {reason}", now)
        return
    row.state, row.order, row.account = SliceState.SENT, order, candidate.account
    row.amount, row.price, row.sent_at = order.amount_order, order.price, now
    row.save(update_fields=["state", "order", "account", "amount", "price", "sent_at"])
    notify.trade_request(parent, order)


def child_price(parent: ParentOrder, candidate: Candidate, *, crossing: bool) -> tuple | None:
    """(price, time in force) of a child on `candidate`'s book, rounded to its tick on the
    side that never crosses the limit; None when there is no price to trade at."""
    side, instrument = parent.side, candidate.instrument
    if parent.algorithm == Algorithm.ICEBERG:
        price, tif = parent.limit_price, TimeInForce.GOOD_TILL_CANCEL
    elif parent.child_style == ChildStyle.PASSIVE and not crossing:
        price, tif = candidate.near_touch(side), TimeInForce.GOOD_TILL_CANCEL
    else:
        price, tif = candidate.far_touch(side), TimeInForce.IMMEDIATE_OR_CANCEL
        if price is not None and (parent.child_style == ChildStyle.IOC or crossing):
            cap = 1 + parent.slippage if side == OrdSide.BUY else 1 - parent.slippage
            price = price * cap
    if price is None:
        price = parent.limit_price
    if price is None:
        return None
    if parent.limit_price is not None:
        within = min if side == OrdSide.BUY else max
        price = within(price, parent.limit_price)
    return round_price(price, tick=instrument.tick_size, side=side), tif


def _send_slice(parent: ParentOrder, number: int, due, now, *, last: bool, crossing=False):
    progress = parent_progress(parent)
    wanted = parent.amount if crossing else target(parent, number)
    missing = wanted - progress.done
    if parent.algorithm == Algorithm.VWAP and parent.participation is not None:
        missing = min(missing, _participation_cap(parent, number))
    if parent.child_style == ChildStyle.PASSIVE:
        _cancel_working(parent)
    if missing <= 0:
        _claim(parent, number, due, now, state=SliceState.NOTHING, wanted=wanted)
        return
    found, reasons = candidates(parent)

    def price_of(candidate):
        priced = child_price(parent, candidate, crossing=crossing)
        return priced[0] if priced else None

    try:
        choice = choose(parent, found, missing, price_of, parent.created_by)
    except NoRoute as none:
        reason = "; ".join([*reasons, str(none)])
        _pause(parent, f"No account can take slice {number}: {reason}", now)
        return
    candidate = choice.candidate
    price, tif = child_price(parent, candidate, crossing=crossing)
    instrument = candidate.instrument
    amount = round_amount(choice.amount, lot=instrument.lot_size)
    if amount < max(instrument.min_amount, instrument.lot_size) or (
        amount * price < instrument.min_notional
    ):
        state = SliceState.UNFILLED if last else SliceState.MERGED
        note = f"{plain(amount)} is below {instrument.venue}'s minimum"
        _claim(parent, number, due, now, state=state, note=note, wanted=wanted)
        return
    ticket = OrderTicket(
        client_order_id=child_client_order_id(parent.pk, number),
        symbol=instrument.symbol_id_exchange,
        side=parent.side,
        amount=amount,
        price=price,
        time_in_force=tif,
    )
    _claim(
        parent, number, due, now, state=SliceState.SENT, wanted=wanted, child=(candidate, ticket)
    )


def _participation_cap(parent: ParentOrder, number: int) -> Decimal:
    """VWAP: at most `participation` of the volume the profile expects in the slice's minute,
    scaled to the interval."""
    if not parent.profile:
        return parent.amount
    minute = slot_time(parent, number).minute % len(parent.profile)
    volume = Decimal(str(parent.profile[minute])) * parent.interval_seconds / 60
    return parent.participation * volume


def _cancel_working(parent: ParentOrder) -> None:
    for child in working_children(parent):
        try:
            order_cancel(order=child, user=None)
        except OrderNotCancelable:
            continue


def _finish(parent: ParentOrder, now: datetime) -> None:
    """After the last slice: wait for the working children, cross the remainder once if the
    end policy says so, then complete with what was filled."""
    if working_children(parent).exists():
        if parent.child_style == ChildStyle.PASSIVE:
            _cancel_working(parent)  # resting children end with the schedule
        _poll_later(parent, now)
        return
    total = parent.slice_count
    left = parent.amount - parent_progress(parent).filled
    if parent.end_policy == EndPolicy.CROSS and parent.next_slice == total and left > 0:
        _send_slice(parent, total, now, now, last=True, crossing=True)
        return
    parent_complete(parent=parent, now=now)


def _poll_later(parent: ParentOrder, now: datetime) -> None:
    """Look again in a moment (children still working)."""
    poll = now + timedelta(seconds=settings.EMSWEB_ALGO_POLL_SECONDS)
    with transaction.atomic():
        if ParentOrder.objects.filter(pk=parent.pk, version=parent.version).update(
            next_due_at=poll
        ):
            step_at(parent.pk, poll)


def _iceberg_step(parent: ParentOrder, now: datetime) -> None:
    """Refill: when no child is working, place the next visible part at the price."""
    if working_children(parent).exists():
        _poll_later(parent, now)
        return
    left = parent.amount - parent_progress(parent).filled
    if left <= 0:
        parent_complete(parent=parent, now=now)
        return
    visible = min(parent.display_amount or left, left)
    number = parent.next_slice
    found, _ = candidates(parent)
    try:
        choice = choose(parent, found, visible, lambda c: parent.limit_price, parent.created_by)
    except NoRoute as none:
        _pause(parent, f"No account for the refill: {none}", now)
        return
    instrument = choice.candidate.instrument
    amount = round_amount(choice.amount, lot=instrument.lot_size)
    if amount < max(instrument.min_amount, instrument.lot_size):
        _claim(parent, number, now, now, state=SliceState.UNFILLED, wanted=visible)
        parent_complete(parent=parent, now=now)
        return
    ticket = OrderTicket(
        client_order_id=child_client_order_id(parent.pk, number),
        symbol=instrument.symbol_id_exchange,
        side=parent.side,
        amount=amount,
        price=round_price(parent.limit_price, tick=instrument.tick_size, side=parent.side),
        time_in_force=TimeInForce.GOOD_TILL_CANCEL,
    )
    _claim(
        parent,
        number,
        now,
        now,
        state=SliceState.SENT,
        wanted=visible,
        child=(choice.candidate, ticket),
    )


def fills_tell(parent: ParentOrder) -> None:
    """TradeFill on the stream for each child fill not told yet (a guarded move of the mark)."""
    fresh = list(parent_fills(parent).filter(pk__gt=parent.fill_mark).order_by("pk"))
    if not fresh:
        return
    with transaction.atomic():
        if ParentOrder.objects.filter(pk=parent.pk, fill_mark=parent.fill_mark).update(
            fill_mark=fresh[-1].pk
        ):
            for fill in fresh:
                notify.trade_fill(parent, fill)
    parent.fill_mark = fresh[-1].pk
